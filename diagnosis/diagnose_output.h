#pragma once
/// What `dynfault diagnose` prints for one trace, in each output format (docs/diagnose.md): the
/// library side of the command, so that the CLI only reads flags and files. A batch of traces is
/// printed one trace at a time (a line of JSON or a CSV row each), so that the output of a long
/// batch streams and an error in one trace leaves the others' results intact.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "diagnosis/saved_model.h"

namespace dynfault::diagnosis {

/// One model as the command loaded it.
struct LoadedModel {
  std::string path;
  SavedModel model;
};

/// One diagnosed input: where the trace came from, and each model's diagnosis, or the error that
/// stopped it (then `diagnoses` is empty).
struct TraceDiagnoses {
  /// Facts about the input, as ordered (key, value) strings: "trace" or "db"/"run", then "program",
  /// "faults", "epochs", "outcome", "format" where known.
  std::vector<std::pair<std::string, std::string>> input;
  std::vector<Diagnosis> diagnoses;  ///< one per model, in the models' order
  std::string error;                 ///< "" when diagnosed
};

/// The human-readable report of one input (the text format), `top` features per model.
std::string diagnosis_text(const std::vector<LoadedModel>& models, const TraceDiagnoses& d,
                           int top);

/// The JSON document of one input: {"input": {...}, "diagnoses": [...]} (or "error"); `indent` < 0
/// gives one line (jsonl).
std::string diagnosis_json(const std::vector<LoadedModel>& models, const TraceDiagnoses& d,
                           int indent);

/// The CSV header of the batch format: the input's columns (`input_keys`), then per model i
/// `m<i>_predicted`, `m<i>_p_<class>` for each class, `m<i>_missing`, `m<i>_imputed_share`,
/// `m<i>_out_of_distribution` (1 or 0), and
/// last `error`.
std::string diagnosis_csv_header(const std::vector<LoadedModel>& models,
                                 const std::vector<std::string>& input_keys);
/// One CSV row in diagnosis_csv_header's columns (cells quoted as RFC 4180 when needed).
std::string diagnosis_csv_row(const std::vector<LoadedModel>& models, const TraceDiagnoses& d,
                              const std::vector<std::string>& input_keys);

/// "ft_died_relu_mean ... ft_died_relu_kurt" -> "ft_died_relu_*"; else the first few names.
std::string summarise_columns(const std::vector<std::string>& columns);

}  // namespace dynfault::diagnosis
