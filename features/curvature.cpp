// Curvature features from the probe-batch Hessian estimates (`curv/...` keys, db/trace.h).
//
// Sources: prior-work section 1.3 (curvature reconstruction: lambda_max by power iteration on
// Hessian-vector products, Hutchinson trace, dimensionless lr * lambda_max against 2 -- gradient
// descent on a quadratic diverges when lr * lambda_max > 2 -- and the slope of lambda_max over
// epochs) and section 7, defect #9 (no prior tool recorded curvature). Columns:
//   curv_lambda_log10_mean, _first, _final   log10 lambda_max over the epochs where it is finite
//                                            and positive (level; a non-positive estimate is
//                                            NaN: the power iteration found no positive top)
//   curv_lambda_log10_slope   least-squares slope of log10 lambda_max against training progress
//                             (epoch / last epoch, in [0, 1]) so runs of different length compare
//   curv_lambda_log10_change  final - first (growth or collapse of sharpness)
//   curv_lambda_nonfinite_share   share of recorded lambda_max values that are NaN/Inf
//   curv_lr_lambda_final, _max, _log10_mean   lr * lambda_max (curv/lr_lambda; else epoch/lr x
//                             curv/lambda_max at the same epoch)
//   curv_lr_lambda_above2_share   share of epochs with lr * lambda_max > 2 (edge of stability)
//   curv_trace_slog_mean, _final  Hutchinson trace as sign(t) log10(1 + |t|) (it can be negative)
//   curv_lambda_trace_ratio_mean, _final   lambda_max / trace where trace > 0: the share of the
//                             curvature in the top direction (dimensionless)
#include <algorithm>
#include <cmath>
#include <limits>

#include "features/probe_sets.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double signed_log(double x) {
  return std::isfinite(x) ? std::copysign(std::log10(1.0 + std::fabs(x)), x) : kNaN;
}

}  // namespace

void curvature_features(const db::Trace& trace, FeatureRow& row) {
  const std::vector<int64_t> steps = series_steps(trace, "curv/lambda_max");
  const std::vector<double>& lambda = series_values(trace, "curv/lambda_max");
  const double last_step = steps.empty() ? 0.0 : static_cast<double>(steps.back());
  std::vector<double> log_lambda, progress, lr_lambda, slog_trace, ratio;
  for (size_t i = 0; i < steps.size() && i < lambda.size(); ++i) {
    const double l = lambda[i];
    log_lambda.push_back(safe_log10(l));
    progress.push_back(last_step > 0 ? static_cast<double>(steps[i]) / last_step : 0.0);
    double lrl = value_at(trace, "curv/lr_lambda", steps[i]);
    if (std::isnan(lrl)) lrl = value_at(trace, keys::kLr, steps[i]) * l;
    lr_lambda.push_back(lrl);
    const double tr = value_at(trace, "curv/trace", steps[i]);
    slog_trace.push_back(signed_log(tr));
    ratio.push_back(std::isfinite(tr) && tr > 0 ? safe_ratio(l, tr) : kNaN);
  }
  // Epochs with a trace estimate but no lambda_max still carry a trace level.
  if (steps.empty())
    for (double tr : series_values(trace, "curv/trace")) slog_trace.push_back(signed_log(tr));

  const double first = [&] {
    for (double v : log_lambda)
      if (std::isfinite(v)) return v;
    return kNaN;
  }();
  const double final_log = finite_last(log_lambda);
  row.reads_from({"curv/lambda_max"});
  row.add("curv_lambda_log10_mean", finite_mean(log_lambda));
  row.add("curv_lambda_log10_first", first);
  row.add("curv_lambda_log10_final", final_log);
  row.add("curv_lambda_log10_slope", ls_slope(progress, log_lambda));
  row.add("curv_lambda_log10_change", final_log - first);
  row.add("curv_lambda_nonfinite_share",
          lambda.empty()
              ? kNaN
              : static_cast<double>(std::count_if(lambda.begin(), lambda.end(),
                                                  [](double v) { return !std::isfinite(v); })) /
                    static_cast<double>(lambda.size()));
  row.reads_from({"curv/lambda_max", "curv/lr_lambda|epoch/lr"}, {"curv/lr_lambda", "epoch/lr"});
  row.add("curv_lr_lambda_final", finite_last(lr_lambda));
  row.add("curv_lr_lambda_max", finite_max(lr_lambda));
  std::vector<double> log_lr_lambda;
  for (double v : lr_lambda) log_lr_lambda.push_back(safe_log10(v));
  row.add("curv_lr_lambda_log10_mean", finite_mean(log_lr_lambda));
  row.add("curv_lr_lambda_above2_share", finite_share(lr_lambda, [](double v) { return v > 2; }));
  // Read at the epochs of lambda_max when it was recorded, else at every trace estimate.
  row.reads_from({"curv/trace"}, {"curv/lambda_max"});
  row.add("curv_trace_slog_mean", finite_mean(slog_trace));
  row.add("curv_trace_slog_final", finite_last(slog_trace));
  row.reads_from({"curv/lambda_max", "curv/trace"});
  row.add("curv_lambda_trace_ratio_mean", finite_mean(ratio));
  row.add("curv_lambda_trace_ratio_final", finite_last(ratio));
}

FeatureSet make_curvature_feature_set() {
  return make_row_feature_set("curvature",
                              "Probe-batch curvature: lambda_max level/slope/final, lr*lambda_max "
                              "vs 2, Hutchinson trace, dimensionless ratios",
                              &curvature_features);
}

DYNFAULT_REGISTER(feature_set_registry(), "curvature", make_curvature_feature_set);

}  // namespace dynfault::features
