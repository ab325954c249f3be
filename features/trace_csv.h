#pragma once
/// A run recorded elsewhere, as a per-epoch CSV (docs/diagnose.md): one row per epoch, one column
/// per metric, read into a db::Trace so that the feature sets compute on it exactly as on a
/// stored trace. `dynfault diagnose --trace FILE` reads it; `dynfault trace-csv` writes a stored
/// run in the same shape.
///
/// Format:
///   # outcome: completed            optional metadata lines before the header ('# key: value';
///   # planned_epochs: 100           keys outcome, planned_epochs, family, program, task; other
///   # family: mlp                   '#' lines are comments)
///   epoch,train_loss,train_metric,val_loss,val_metric[,lr][,<metric key>...]
///   0,2.30,0.11,2.29,0.12
///   ...
/// Required columns: epoch (integer, 0-based, strictly increasing), train_loss, train_metric,
/// val_loss, val_metric (-> epoch/train_loss, epoch/train_metric, epoch/val_loss,
/// epoch/val_metric). Optional: lr (-> epoch/lr) and any metric key of db/trace.h recorded at
/// epoch steps, written as the key itself (grad/global_norm, weight/<param>/norm, act/...,
/// opt/..., curv/..., final/test_metric, ...). A cell may be empty (no point at that epoch) or
/// nan, inf, -inf. Any other column name, a missing required column, a duplicate column, a row
/// with the wrong number of cells or a bad number is an error naming the file, line and column.
#include <string>

#include "db/trace.h"

namespace dynfault::features {

/// Reads a per-epoch CSV. Throws dynfault::ConfigError naming `name` (the file), the line and
/// the column. `run_uuid` of the result is "csv:<name>".
db::Trace parse_trace_csv(const std::string& text, const std::string& name);
/// Same, from a file (error if it cannot be read).
db::Trace read_trace_csv(const std::string& path);

/// Writes `trace` as a per-epoch CSV: the metadata lines, the five required columns, lr, then
/// every other series whose steps all are epochs of the trace (sorted by key). Step-level series
/// (train/loss, time/*) and series recorded at other steps are left out; their keys are
/// appended to `left_out` when given.
std::string write_trace_csv(const db::Trace& trace, std::vector<std::string>* left_out = nullptr);

}  // namespace dynfault::features
