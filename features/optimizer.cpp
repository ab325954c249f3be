// Optimizer-state features (`opt/...`, `weight/update_ratio`, `epoch/lr` keys, db/trace.h).
//
// Sources: prior-work section 1.3 (optimizer reconstruction: statistics of Adam exp_avg /
// exp_avg_sq, effective step lr / (sqrt(v_hat) + eps), update-to-weight ratio, LR in effect;
// DEFault++'s update_ratio = ||W_t - W_{t-1}|| / ||W_{t-1}||) and section 4.4 (TheDeepChecker
// flags a log10 update/weight ratio outside [-4, -1]). Levels are log10 because these quantities
// span orders of magnitude across programs. Columns:
//   opt_lr_log10_first, _final    log10 of the LR in effect at the first / last epoch
//   opt_lr_log10_change           final - first (the schedule's total decay)
//   opt_lr_change_share           share of epoch transitions where the LR changed
//   opt_update_log10_{mean,std,min,max,final}   log10 weight/update_ratio over epochs (std with
//                                 ddof = 1, NaN for fewer than 2 epochs)
//   opt_update_outside_share      share of epochs with log10 ratio outside [-4, -1]
//   opt_update_param_spread       mean over epochs of max - min over tensors of log10
//                                 weight/<p>/update_ratio (uneven layer-wise learning)
//   opt_exp_avg_log10_{mean,final}, opt_exp_avg_sq_log10_{mean,final}   Adam moment norms
//   opt_eff_step_log10_{mean,final}   Adam's mean effective step
//   opt_eff_step_over_lr_log10_mean   log10(eff_step / lr): Adam's per-coordinate scaling,
//                                 dimensionless
//   opt_momentum_log10_mean, opt_accum_log10_mean   SGD momentum buffer, Adagrad/RMSprop
//                                 accumulator norms
//   opt_has_adam_state, opt_has_momentum, opt_has_accumulator   1 when the state was recorded,
//                             0 when not, NaN when the trace has no optimizer series at all
//                                 at some epoch, else 0 (the probe writes a key only when the
//                                 optimizer has that state, so absence is information)
#include <cmath>
#include <limits>

#include "features/probe_sets.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> log10_of(const std::vector<double>& v) {
  std::vector<double> out;
  out.reserve(v.size());
  for (double x : v) out.push_back(safe_log10(x));
  return out;
}

double first_finite(const std::vector<double>& v) {
  for (double x : v)
    if (std::isfinite(x)) return x;
  return kNaN;
}

}  // namespace

void optimizer_features(const db::Trace& trace, FeatureRow& row) {
  const std::vector<double> lr = log10_of(series_values(trace, keys::kLr));
  const double lr_first = first_finite(lr), lr_final = finite_last(lr);
  row.add("opt_lr_log10_first", lr_first);
  row.add("opt_lr_log10_final", lr_final);
  row.add("opt_lr_log10_change", lr_final - lr_first);
  const auto& raw_lr = series_values(trace, keys::kLr);
  double changes = kNaN;
  if (raw_lr.size() >= 2) {
    size_t n = 0;
    for (size_t i = 1; i < raw_lr.size(); ++i) n += raw_lr[i] != raw_lr[i - 1] ? 1 : 0;
    changes = static_cast<double>(n) / static_cast<double>(raw_lr.size() - 1);
  }
  row.add("opt_lr_change_share", changes);

  const std::vector<double> upd = log10_of(series_values(trace, "weight/update_ratio"));
  const ColumnStats us = column_stats([&] {
    std::vector<double> finite;
    for (double v : upd)
      if (std::isfinite(v)) finite.push_back(v);
    return finite;
  }());
  row.add("opt_update_log10_mean", us.mean);
  row.add("opt_update_log10_std", us.std);
  row.add("opt_update_log10_min", us.min);
  row.add("opt_update_log10_max", us.max);
  row.add("opt_update_log10_final", finite_last(upd));
  row.add("opt_update_outside_share",
          finite_share(upd, [](double v) { return v < -4.0 || v > -1.0; }));
  std::vector<double> spread;
  const auto per_param =
      across_params(trace, "weight", "update_ratio", series_steps(trace, "weight/update_ratio"));
  for (const auto& cell : per_param) {
    const std::vector<double> logs = log10_of(cell);
    spread.push_back(finite_max(logs) - finite_min(logs));
  }
  row.add("opt_update_param_spread", finite_mean(spread));

  const std::vector<double> m1 = log10_of(series_values(trace, "opt/exp_avg_norm"));
  const std::vector<double> m2 = log10_of(series_values(trace, "opt/exp_avg_sq_norm"));
  const std::vector<double> step = log10_of(series_values(trace, "opt/eff_step_mean"));
  row.add("opt_exp_avg_log10_mean", finite_mean(m1));
  row.add("opt_exp_avg_log10_final", finite_last(m1));
  row.add("opt_exp_avg_sq_log10_mean", finite_mean(m2));
  row.add("opt_exp_avg_sq_log10_final", finite_last(m2));
  row.add("opt_eff_step_log10_mean", finite_mean(step));
  row.add("opt_eff_step_log10_final", finite_last(step));
  std::vector<double> step_over_lr;
  if (const db::Series* s = trace.find("opt/eff_step_mean"))
    for (size_t i = 0; i < s->steps.size() && i < s->values.size(); ++i)
      step_over_lr.push_back(
          safe_log10(safe_ratio(s->values[i], value_at(trace, keys::kLr, s->steps[i]))));
  row.add("opt_eff_step_over_lr_log10_mean", finite_mean(step_over_lr));
  row.add("opt_momentum_log10_mean",
          finite_mean(log10_of(series_values(trace, "opt/momentum_norm"))));
  row.add("opt_accum_log10_mean", finite_mean(log10_of(series_values(trace, "opt/accum_norm"))));
  // Without any optimizer series the probe was off (or the trace comes from elsewhere): which
  // state the optimizer keeps is then unknown, not absent.
  const bool probed = has_key_prefix(trace, "opt/");
  auto has = [&](const char* key) {
    return !probed ? kNaN : trace.find(key) != nullptr ? 1.0 : 0.0;
  };
  row.add("opt_has_adam_state", has("opt/exp_avg_sq_norm"));
  row.add("opt_has_momentum", has("opt/momentum_norm"));
  row.add("opt_has_accumulator", has("opt/accum_norm"));
}

FeatureSet make_optimizer_feature_set() {
  return make_row_feature_set("optimizer",
                              "Optimizer state: moment norms, effective step, log10 update-to-"
                              "weight ratio statistics, learning rate in effect",
                              &optimizer_features);
}

DYNFAULT_REGISTER(feature_set_registry(), "optimizer", make_optimizer_feature_set);

}  // namespace dynfault::features
