#pragma once
/// Internals shared by trace_csv.cpp and trace_log.cpp (not part of the features API).
#include <string>

#include "features/csv_table.h"
#include "features/trace_csv.h"

namespace dynfault::features::detail {

/// What a column (or tag) name of another tool stands for: a metric key, a step-level series to
/// leave out, or nothing known (both empty/false).
struct Recognised {
  std::string key;
  bool step_level = false;
};

/// Recognises loss, accuracy/R^2 and learning-rate names of Keras, Lightning and TensorBoard
/// ("val_accuracy", "train_loss_epoch", "lr-Adam", "epoch_loss" in run "validation"). Validation
/// words: val, valid, validation, test, eval; an accuracy or R^2 is the metric.
Recognised recognise_name(const std::string& name, const std::string& run);

/// The format of a table whose format is "auto" (trace_csv.h lists the rules).
std::string detect_format(const CsvTable& table, bool has_index_column);

/// Reads the long TensorBoard table into `out.trace` (one series per recognised tag).
void read_tensorboard_long(const CsvTable& table, const std::string& name,
                           const TraceLogOptions& options, TraceLog& out);

/// The explicit target of `column` in options.columns ("" when none), validated: a target must be
/// epoch, a short name or a metric key of db/trace.h.
std::string explicit_target(const TraceLogOptions& options, const std::string& column);

/// The metric key of a short name (train_loss -> epoch/train_loss, lr -> epoch/lr), or "".
std::string short_name_key(const std::string& name);

}  // namespace dynfault::features::detail
