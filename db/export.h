#pragma once
/// `dynfault export`: the database as plain files for tools that do not read SQLite.
///
///   csv     one RFC 4180 CSV file per table (campaigns, programs, runs, params, labels,
///           evaluations, one wide features_<set>.csv per feature set) and a tidy metrics.csv
///           (run_uuid,key,value,step,timestamp). NaN and +-Inf are written NaN, Inf, -Inf,
///           which Python's float(), pandas.read_csv, R's read.csv and strtod read back.
///   mlruns  MLflow's plain-text file store: <out>/mlruns/<experiment_id>/meta.yaml (one
///           experiment per campaign, ids 1, 2, ... in name order; 0 is MLflow's empty
///           "Default"), <out>/mlruns/<exp>/<run_uuid>/{meta.yaml, params/<key>, tags/<key>,
///           metrics/<key>} where a metric file has one "timestamp value step" line per point
///           and a key with '/' is a path of subdirectories, as MLflow writes them.
///
/// Everything is written into a temporary directory beside `out_dir` and renamed into place at
/// the end (common/output_file.h StagingDirectory), so an error, Ctrl-C or SIGTERM leaves nothing
/// behind, and the temporaries of an export killed outright are removed by the next export to
/// the same place; an existing non-empty `out_dir` is refused, an existing empty one is replaced
/// and keeps its permission bits. A full disk is reported as "disk full".
/// Reads the store inside one read transaction (a consistent snapshot); never writes it.
/// docs/export.md describes the layouts.
#include <cstdint>
#include <string>
#include <vector>

#include "db/store.h"

namespace dynfault::db {

struct ExportOptions {
  std::string format = "csv";  ///< csv or mlruns
  std::string out_dir;         ///< must not exist, or be an empty directory
  std::string campaign;        ///< only runs of this campaign ("" = all)
};

struct ExportSummary {
  int64_t runs = 0;
  int64_t metric_points = 0;
  int64_t files = 0;
  /// Temporary directories of earlier exports to the same place, interrupted by SIGKILL or a
  /// power cut, that were removed first (one line each).
  std::vector<std::string> removed_stale;
};

/// Exports `store` as described above. Throws dynfault::Error (nothing written) for an unknown
/// format, an unknown campaign, a non-empty or unwritable `out_dir`, or a write failure.
ExportSummary export_store(Store& store, const ExportOptions& options);

/// One CSV field as RFC 4180 wants it: quoted (with "" for ") when it holds a comma, a quote,
/// CR or LF, or leading/trailing space; as is otherwise.
std::string csv_field(const std::string& text);

/// A double as text that reads back to the same value: shortest round-trip digits, and NaN, Inf,
/// -Inf (`mlflow_style`: nan, inf, -inf, as Python's str(float) writes them).
std::string format_double(double value, bool mlflow_style = false);

}  // namespace dynfault::db
