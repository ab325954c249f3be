#pragma once
/// Runs recorded elsewhere, read into a db::Trace so that the feature sets compute on them
/// exactly as on a stored trace (docs/diagnose.md). `dynfault diagnose --trace` reads them;
/// `dynfault trace-csv` writes a stored run in the dynfault format.
///
/// Formats (TraceLogOptions::format; "auto" detects them from the header):
///   dynfault         one row per epoch, one column per metric (the format below)
///   keras            Keras' CSVLogger: epoch,accuracy,loss,lr,val_accuracy,val_loss (any
///                    metric that is an accuracy or R^2 maps to train_metric / val_metric)
///   lightning        PyTorch Lightning's CSVLogger metrics.csv: epoch and step columns, one
///                    row per logging call, sparse; `*_step` columns are step-level and left
///                    out, several values of a column within one epoch are averaged
///   tensorboard-csv  TensorBoard scalars in long form (`run,tag,step,value`, e.g.
///                    `experiment.get_scalars()` or `tensorboard dev export`), step = epoch;
///                    Keras' TensorBoard runs `train` and `validation` with tags epoch_loss,
///                    epoch_accuracy, epoch_learning_rate are understood
/// In every format: a leading pandas index column (empty header or `Unnamed: 0`) is dropped
/// (and is the epoch when there is no epoch column); a column that is a metric key of
/// db/trace.h (`epoch/train_loss`, `grad/global_norm`, ...) is that key; `--column
/// train_metric=f1` maps a column explicitly, `--ignore-columns` leaves columns out; any other
/// column is an error naming the closest known name.
///
/// The dynfault format:
///   # outcome: completed            optional metadata lines before the header ('# key: value';
///   # planned_epochs: 100           keys outcome, planned_epochs, family, program, task; other
///   # family: mlp                   '#' lines are comments; allowed in every format)
///   epoch,train_loss,train_metric,val_loss,val_metric[,lr][,<metric key>...]
///   0,2.30,0.11,2.29,0.12
/// Required columns: epoch (integer, 0-based, strictly increasing), train_loss, train_metric,
/// val_loss, val_metric (-> epoch/train_loss, ...; also accepted under their full keys).
/// Optional: lr (-> epoch/lr) and any metric key of db/trace.h recorded at epoch steps
/// (db::metric_key_patterns(); step-level keys train/loss and time/* are refused). A cell may be
/// empty (no point at that epoch) or nan, inf, -inf. Every error names the file, the line and
/// the column; bytes that are not printable are escaped as \xNN in messages.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "db/trace.h"

namespace dynfault::features {

/// The formats parse_trace_log reads, in detection order's reverse: dynfault, keras, lightning,
/// tensorboard-csv.
const std::vector<std::string>& trace_formats();

/// How to read a log (see the formats above).
struct TraceLogOptions {
  std::string format = "auto";  ///< auto or one of trace_formats()
  /// Explicit mappings (target, column): target is epoch, train_loss, train_metric, val_loss,
  /// val_metric, lr or a metric key of db/trace.h; column the file's header (the tag in
  /// tensorboard-csv). They take precedence over recognition.
  std::vector<std::pair<std::string, std::string>> columns;
  std::vector<std::string> ignore_columns;  ///< headers (tags) left out
};

/// A log as read: the trace and what was made of each column.
struct TraceLog {
  db::Trace trace;
  std::string format;                                       ///< the format read ("auto" resolved)
  std::vector<std::pair<std::string, std::string>> mapped;  ///< (column, metric key)
  std::vector<std::string> left_out;  ///< columns ignored or step-level, with the reason
};

/// Parses a log. Throws dynfault::ConfigError naming `name` (the file), the line and the column.
/// `run_uuid` of the trace is "csv:<name>"; its outcome is the '# outcome:' line, else "completed".
TraceLog parse_trace_log(const std::string& text, const std::string& name,
                         const TraceLogOptions& options = {});
/// Same, from a file: a regular file of at most files::kMaxTraceCsvBytes (common/input_file.h),
/// else an error naming it.
TraceLog read_trace_log(const std::string& path, const TraceLogOptions& options = {});

/// parse_trace_log in the dynfault format (kept for the callers that want the trace only).
db::Trace parse_trace_csv(const std::string& text, const std::string& name);
/// read_trace_log in the dynfault format.
db::Trace read_trace_csv(const std::string& path);

/// The files behind `--trace` arguments and a `--traces-from` list (one path a line, '#' comments
/// and blank lines skipped; "" = none): a file as given, a directory as every regular `*.csv` file
/// below it (recursively, sorted). The list is read through files::read_input_file (a regular
/// file of at most kMaxPathListBytes). Throws dynfault::Error naming a path that does not exist or
/// a directory without CSV files, with "LIST:LINE: " in front for a path of the list; a list that
/// is not text (a NUL byte) is a ConfigError naming its line.
std::vector<std::string> expand_trace_paths(const std::vector<std::string>& paths,
                                            const std::string& list_file);

/// Writes `trace` as a per-epoch CSV: the metadata lines, the five required columns, lr, then every
/// other series whose steps all are epochs of the trace (sorted by key). Step-level series
/// (train/loss, time/*) and series recorded at other steps are left out; their keys are appended to
/// `left_out` when given.
std::string write_trace_csv(const db::Trace& trace, std::vector<std::string>* left_out = nullptr);

}  // namespace dynfault::features
