// Curvature features from the probe-batch Hessian readings (`curv/...` keys, db/trace.h).
//
// Sources: prior-work section 1.3 (curvature reconstruction: the top Hessian eigenvalue, the
// Hutchinson trace, the dimensionless sharpness against the stability limit of the update, and
// the slope of the top eigenvalue over training) and section 7, defect #9 (no prior tool
// recorded curvature). The stability features read curv/stability_ratio, the sharpness the
// optimizer's update responds to over that update's own limit (db/trace.h: 2/lr for plain
// gradient descent, (2 + 2 beta)/lr with heavy-ball momentum, the preconditioned sharpness
// against (2 + 2 beta1)/(1 - beta1) for Adam, ...), so "above 1" means beyond the edge of
// stability whatever the optimizer; they replace the former lr x lambda_max > 2 share, which
// held for plain gradient descent only.
//
// Signs are kept: a level is log10 |x| (|x| floored at 1e-30, so an exact zero is a very small
// level rather than a missing one) next to the share of readings with x < 0. Every column can be
// NaN (no reading: curvature off, an older trace, an optimizer before its first update) and
// has a `<name>_missing` indicator (1 when the value is NaN), so that a learner which imputes
// NaN still tells "no reading" from "a typical reading". Columns (prefix curv_):
//   lambda_max_log10abs_mean, _first, _final   level of lambda_max (largest Hessian eigenvalue)
//                             over the readings where it is finite
//   lambda_max_log10abs_slope   least-squares slope of that level against training progress
//                             (reading index / last index, in [0, 1]) so runs of any length
//                             compare
//   lambda_max_log10abs_change  final - first (growth or collapse of sharpness)
//   lambda_max_negative_share   share of finite readings with lambda_max < 0 (a concave objective
//                             on the probe batch: a flipped loss, say)
//   lambda_min_ratio_mean, _final   lambda_min / |lambda_max|: how strongly non-convex (below -1:
//                             the most negative curvature outweighs the most positive)
//   nonfinite_share           share of readings whose lambda_max is NaN/Inf (a non-finite loss)
//   stability_log10abs_mean, _first, _final, _max   level of curv/stability_ratio
//   stability_above1_share    share of finite readings with a ratio above 1
//   stability_negative_share  share of finite readings with a negative ratio
//   trace_log10abs_mean, _final   level of the Hutchinson trace
//   trace_negative_share      share of finite readings with a negative trace
//   lambda_trace_ratio_mean, _final   lambda_max / trace (signed): the share of the curvature in
//                             the top direction
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "features/probe_sets.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// log10 |x| with |x| floored at 1e-30; NaN for a non-finite x.
double log10abs(double x) {
  return std::isfinite(x) ? std::log10(std::max(std::fabs(x), 1e-30)) : kNaN;
}

std::vector<double> log10abs_all(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) out.push_back(log10abs(x));
  return out;
}

double first_finite(const std::vector<double>& v) {
  for (double x : v)
    if (std::isfinite(x)) return x;
  return kNaN;
}

/// The values of `key` at the given indices (NaN where absent).
std::vector<double> aligned(const db::Trace& trace, const std::string& key,
                            const std::vector<int64_t>& steps) {
  std::vector<double> out;
  for (int64_t s : steps) out.push_back(value_at(trace, key, s));
  return out;
}

double negative_share(const std::vector<double>& v) {
  return finite_share(v, [](double x) { return x < 0; });
}

}  // namespace

void curvature_features(const db::Trace& trace, FeatureRow& row) {
  const std::vector<int64_t> steps = series_steps(trace, "curv/lambda_max");
  const std::vector<double>& lambda = series_values(trace, "curv/lambda_max");
  const double last_step = steps.empty() ? 0.0 : static_cast<double>(steps.back());
  std::vector<double> progress, min_ratio, ratio;
  for (int64_t s : steps)
    progress.push_back(last_step > 0 ? static_cast<double>(s) / last_step : 0);
  const std::vector<double> lambda_min = aligned(trace, "curv/lambda_min", steps);
  const std::vector<double> trace_est = aligned(trace, "curv/trace", steps);
  for (size_t i = 0; i < lambda.size(); ++i) {
    min_ratio.push_back(safe_ratio(lambda_min[i], std::fabs(lambda[i])));
    ratio.push_back(safe_ratio(lambda[i], trace_est[i]));
  }
  const std::vector<double>& stability = series_values(trace, "curv/stability_ratio");
  const std::vector<double> level = log10abs_all(lambda);
  const std::vector<double> stability_level = log10abs_all(stability);
  const std::vector<double> trace_level = log10abs_all(trace_est);

  // Each column with the series it needs (FeatureRow::reads_from); its indicator needs nothing
  // and reads the same series, so that "no reading" stays 1 where the column is NaN.
  struct Column {
    std::string name;
    double value;
    ColumnInputs in;
  };
  std::vector<Column> f;
  const ColumnInputs lam{{"curv/lambda_max"}, {}};
  const ColumnInputs lam_min{{"curv/lambda_max", "curv/lambda_min"}, {}};
  const ColumnInputs stab{{"curv/stability_ratio"}, {}};
  const ColumnInputs tr{{"curv/lambda_max", "curv/trace"}, {}};
  const double first = first_finite(level), final_level = finite_last(level);
  f.push_back({"curv_lambda_max_log10abs_mean", finite_mean(level), lam});
  f.push_back({"curv_lambda_max_log10abs_first", first, lam});
  f.push_back({"curv_lambda_max_log10abs_final", final_level, lam});
  f.push_back({"curv_lambda_max_log10abs_slope", ls_slope(progress, level), lam});
  f.push_back({"curv_lambda_max_log10abs_change", final_level - first, lam});
  f.push_back({"curv_lambda_max_negative_share", negative_share(lambda), lam});
  f.push_back({"curv_lambda_min_ratio_mean", finite_mean(min_ratio), lam_min});
  f.push_back({"curv_lambda_min_ratio_final", finite_last(min_ratio), lam_min});
  f.push_back({"curv_nonfinite_share",
               lambda.empty() ? kNaN
                              : static_cast<double>(
                                    std::count_if(lambda.begin(), lambda.end(),
                                                  [](double v) { return !std::isfinite(v); })) /
                                    static_cast<double>(lambda.size()),
               lam});
  f.push_back({"curv_stability_log10abs_mean", finite_mean(stability_level), stab});
  f.push_back({"curv_stability_log10abs_first", first_finite(stability_level), stab});
  f.push_back({"curv_stability_log10abs_final", finite_last(stability_level), stab});
  f.push_back({"curv_stability_log10abs_max", finite_max(stability_level), stab});
  f.push_back({"curv_stability_above1_share",
               finite_share(stability, [](double v) { return v > 1; }), stab});
  f.push_back({"curv_stability_negative_share", negative_share(stability), stab});
  f.push_back({"curv_trace_log10abs_mean", finite_mean(trace_level), tr});
  f.push_back({"curv_trace_log10abs_final", finite_last(trace_level), tr});
  f.push_back({"curv_trace_negative_share", negative_share(trace_est), tr});
  f.push_back({"curv_lambda_trace_ratio_mean", finite_mean(ratio), tr});
  f.push_back({"curv_lambda_trace_ratio_final", finite_last(ratio), tr});
  for (const Column& c : f) {
    row.reads_from(c.in);
    row.add(c.name, c.value);
  }
  for (const Column& c : f) {
    row.reads_from(ColumnInputs{{}, c.in.needs});
    row.add(c.name + "_missing", std::isnan(c.value) ? 1.0 : 0.0);
  }
}

FeatureSet make_curvature_feature_set() {
  return make_row_feature_set("curvature",
                              "Probe-batch curvature: lambda_max level/slope/sign, lambda_min "
                              "ratio, stability ratio vs the optimizer's limit, Hutchinson trace, "
                              "with missingness indicators",
                              &curvature_features);
}

DYNFAULT_REGISTER(feature_set_registry(), "curvature", make_curvature_feature_set);

}  // namespace dynfault::features
