#pragma once
/// Read helpers over a stored trace (`db/trace.h` documents the metric keys). NaN-safe: a
/// missing series reads as empty, a missing point as NaN.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "db/trace.h"

namespace dynfault::db {
class Store;
}  // namespace dynfault::db

namespace dynfault::features {

/// Metric keys of the trace contract (`db/trace.h`) used by labels and feature sets.
namespace keys {
inline constexpr const char* kStepLoss = "train/loss";
inline constexpr const char* kTrainLoss = "epoch/train_loss";
inline constexpr const char* kTrainMetric = "epoch/train_metric";
inline constexpr const char* kValLoss = "epoch/val_loss";
inline constexpr const char* kValMetric = "epoch/val_metric";
inline constexpr const char* kLr = "epoch/lr";
inline constexpr const char* kGradNonfinite = "grad/nonfinite";
inline constexpr const char* kGradFirstLastRatio = "grad/first_last_ratio";
inline constexpr const char* kGradGlobalNorm = "grad/global_norm";
/// Optional (not yet in the contract): element-weighted zero share over all gradient entries
/// and the L2 norm of the first layer's kernel gradient. Used when present.
inline constexpr const char* kGradZeroFrac = "grad/zero_frac";
inline constexpr const char* kGradFirstNorm = "grad/first_norm";
inline constexpr const char* kWeightNonfinite = "weight/nonfinite";
inline constexpr const char* kWeightMaxAbs = "weight/max_abs";
}  // namespace keys

/// The values of series `key`, empty when the trace has no such series.
const std::vector<double>& series_values(const db::Trace& trace, const std::string& key);

/// True when the trace has a series whose key starts with `prefix` (e.g. "opt/").
bool has_key_prefix(const db::Trace& trace, const std::string& prefix);

/// The value of series `key` at `step`; NaN when the series or the point is absent.
double value_at(const db::Trace& trace, const std::string& key, int64_t step);

/// The epochs ("checks") of a trace: the sorted union of the steps of the four epoch curves
/// (`epoch/train_loss`, `epoch/train_metric`, `epoch/val_loss`, `epoch/val_metric`).
std::vector<int64_t> epoch_steps(const db::Trace& trace);

/// Names p of every key `<prefix>/<p>/<stat>` (e.g. prefix "grad", stat "zero_frac"), sorted.
std::vector<std::string> param_names(const db::Trace& trace, const std::string& prefix,
                                     const std::string& stat);

/// Names p of every key `<prefix>/<p>/<stat>` in natural order (numeric runs compared as numbers,
/// so layers.2 comes before layers.10): the order of layers in a module path.
std::vector<std::string> param_names_natural(const db::Trace& trace, const std::string& prefix,
                                             const std::string& stat);

/// For every step of `steps`, the values of `<prefix>/<p>/<stat>` over every p that has a point
/// at that step (NaN and +-Inf included; a p without a point is skipped).
std::vector<std::vector<double>> across_params(const db::Trace& trace, const std::string& prefix,
                                               const std::string& stat,
                                               const std::vector<int64_t>& steps);

/// The steps of series `key` (empty when absent).
std::vector<int64_t> series_steps(const db::Trace& trace, const std::string& key);

/// Planned number of epochs from the trace's recipe JSON (`epochs`); 0 when unknown.
int64_t planned_epochs(const db::Trace& trace);

/// True for a clean (fault-free) run: `faults_json` is empty or "[]" and no fault ids.
bool is_clean(const db::Trace& trace);

/// Calls `fn` with the FINISHED traces of `campaign` ("" = all), ordered by run_uuid, in chunks
/// of at most `chunk_size` so that a large corpus never sits in memory at once.
void for_each_trace_chunk(db::Store& store, const std::string& campaign, int64_t chunk_size,
                          const std::function<void(std::vector<db::Trace>&)>& fn);

}  // namespace dynfault::features
