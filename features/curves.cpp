// Curve-shape features. Definitions (all per trace, epoch curves as recorded, x = epoch):
//   <curve>_final             last recorded value (NaN/Inf kept: a blown-up run ends so)
//   <curve>_min, _max         over finite values
//   <curve>_slope_last_third  least-squares slope over the last max(2, ceil(n/3)) epochs
//   train_loss_drop_norm      (first - last) / max(|first|, 1e-12) of epoch/train_loss
//   final_metric_gap          last train_metric - last val_metric
//   epochs_run                number of recorded epochs (NaN when none was recorded)
//   step_loss_nonfinite_share share of non-finite train/loss step values
//   step_loss_cv_last_third   std / |mean| (ddof = 1) of finite step losses in the last third
//   outcome_*                 one-hot run outcome: completed, nan_loss, diverged, other
//                             (exception, timeout, crashed); NaN when the outcome is unknown;
//                             all 0 for a run still training at a horizon's cut.
//                             These restate the outcome column: useful for fault typing,
//                             trivially predictive for instability.
// Label inputs (label_inputs.h; dropped by the evaluation for the tasks whose rule reads them):
//   outcome_*, epochs_run (an early stop is the outcome)        outcome
//   step_loss_nonfinite_share                                    loss_nonfinite
//   train_loss_final (NaN kept), val_loss_final (NaN kept)       loss_nonfinite (+ loss_trend)
//   train_loss_max, val_loss_max                                 loss_magnitude
//   train_loss_min, train_loss_drop_norm (first vs last)         loss_trend
//   train_metric_final, val_metric_final, final_metric_gap       final train/val metric (mismatch);
//                                                                val_metric_final also final_metric
#include "features/curves.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "features/horizon.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Curve {
  const char* name;
  const char* key;
};
constexpr Curve kCurves[] = {{"train_loss", keys::kTrainLoss},
                             {"val_loss", keys::kValLoss},
                             {"train_metric", keys::kTrainMetric},
                             {"val_metric", keys::kValMetric}};

double last_or_nan(const std::vector<double>& v) { return v.empty() ? kNaN : v.back(); }

size_t last_third_start(size_t n) {
  const size_t k = std::max<size_t>(2, (n + 2) / 3);
  return n > k ? n - k : 0;
}

}  // namespace

const std::vector<LabelInputs>& curves_label_inputs() {
  static const std::vector<LabelInputs> kInputs = [] {
    const std::map<std::string, LabelInputs> restates = {
        {"train_loss_final", kInputLossNonfinite | kInputLossTrend},
        {"train_loss_min", kInputLossTrend},
        {"train_loss_max", kInputLossMagnitude},
        {"val_loss_final", kInputLossNonfinite},
        {"val_loss_max", kInputLossMagnitude},
        {"train_metric_final", kInputFinalTrainMetric},
        {"val_metric_final", kInputFinalValMetric | kInputFinalMetric},
        {"train_loss_drop_norm", kInputLossTrend},
        {"final_metric_gap", kInputFinalTrainMetric | kInputFinalValMetric},
        {"epochs_run", kInputOutcome},
        {"step_loss_nonfinite_share", kInputLossNonfinite},
        {"outcome_completed", kInputOutcome},
        {"outcome_nan_loss", kInputOutcome},
        {"outcome_diverged", kInputOutcome},
        {"outcome_other", kInputOutcome}};
    std::vector<LabelInputs> out;
    for (const auto& name : curves_feature_names()) {
      auto it = restates.find(name);
      out.push_back(it == restates.end() ? kInputNone : it->second);
    }
    return out;
  }();
  return kInputs;
}

const std::vector<std::string>& curves_feature_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& c : kCurves)
      for (const char* s : {"_final", "_min", "_max", "_slope_last_third"})
        names.push_back(std::string(c.name) + s);
    for (const char* n :
         {"train_loss_drop_norm", "final_metric_gap", "epochs_run", "step_loss_nonfinite_share",
          "step_loss_cv_last_third", "outcome_completed", "outcome_nan_loss", "outcome_diverged",
          "outcome_other"})
      names.push_back(n);
    return names;
  }();
  return kNames;
}

std::vector<double> curves_features(const db::Trace& trace) {
  std::vector<double> out;
  out.reserve(curves_feature_names().size());
  for (const auto& c : kCurves) {
    const db::Series* s = trace.find(c.key);
    if (!s || s->values.empty()) {
      out.insert(out.end(), 4, kNaN);
      continue;
    }
    const std::vector<double>& v = s->values;
    out.push_back(v.back());
    out.push_back(finite_min(v));
    out.push_back(finite_max(v));
    const size_t start = last_third_start(v.size());
    std::vector<double> x, y;
    for (size_t i = start; i < v.size() && i < s->steps.size(); ++i) {
      x.push_back(static_cast<double>(s->steps[i]));
      y.push_back(v[i]);
    }
    out.push_back(ls_slope(x, y));
  }

  const auto& loss = series_values(trace, keys::kTrainLoss);
  out.push_back(loss.empty()
                    ? kNaN
                    : (loss.front() - loss.back()) / std::max(std::fabs(loss.front()), 1e-12));
  out.push_back(last_or_nan(series_values(trace, keys::kTrainMetric)) -
                last_or_nan(series_values(trace, keys::kValMetric)));
  const size_t epochs = epoch_steps(trace).size();
  out.push_back(epochs > 0 ? static_cast<double>(epochs) : kNaN);

  const auto& step_loss = series_values(trace, keys::kStepLoss);
  if (step_loss.empty()) {
    out.push_back(kNaN);
    out.push_back(kNaN);
  } else {
    size_t bad = 0;
    for (double x : step_loss) bad += std::isfinite(x) ? 0 : 1;
    out.push_back(static_cast<double>(bad) / static_cast<double>(step_loss.size()));
    std::vector<double> tail;
    for (size_t i = last_third_start(step_loss.size()); i < step_loss.size(); ++i)
      if (std::isfinite(step_loss[i])) tail.push_back(step_loss[i]);
    const ColumnStats st = column_stats(tail);
    out.push_back(std::fabs(st.mean) > 0 ? st.std / std::fabs(st.mean) : kNaN);
  }

  const std::string& o = trace.outcome;
  if (o.empty()) {  // not known (a trace from elsewhere without one): missing, not "other"
    out.insert(out.end(), 4, kNaN);
    return out;
  }
  const bool completed = o == "completed", nan_loss = o == "nan_loss", diverged = o == "diverged";
  // Still training at a horizon's cut (horizon.h): it has no outcome yet, all four are 0.
  const bool running = o == kOutcomeRunning;
  out.push_back(completed ? 1 : 0);
  out.push_back(nan_loss ? 1 : 0);
  out.push_back(diverged ? 1 : 0);
  out.push_back(!completed && !nan_loss && !diverged && !running ? 1 : 0);
  return out;
}

std::vector<ColumnInputs> curves_feature_inputs() {
  std::vector<ColumnInputs> in;
  for (const auto& c : kCurves) in.insert(in.end(), 4, ColumnInputs{{c.key}, {}});
  in.push_back({{keys::kTrainLoss}, {}});                      // train_loss_drop_norm
  in.push_back({{keys::kTrainMetric, keys::kValMetric}, {}});  // final_metric_gap
  in.push_back({{"epoch/train_loss|epoch/train_metric|epoch/val_loss|epoch/val_metric"}, {}});
  in.insert(in.end(), 2, ColumnInputs{{keys::kStepLoss}, {}});  // step_loss_*
  in.insert(in.end(), 4, ColumnInputs{});                       // outcome_*: a run fact
  return in;
}

FeatureSet make_curves_feature_set() {
  FeatureSet set("curves",
                 "Loss and metric curve shape: final/min/max, late slope, loss drop, "
                 "epochs run, step-loss noise, outcome",
                 curves_feature_names(), &curves_features, curves_label_inputs());
  set.declare_inputs(curves_feature_inputs());
  return set;
}

DYNFAULT_REGISTER(feature_set_registry(), "curves", make_curves_feature_set);

}  // namespace dynfault::features
