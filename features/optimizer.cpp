// Optimizer-state features (`opt/...`, `weight/update_ratio` keys, db/trace.h): the dynamic
// state of the optimizer, never its configuration. The configured learning rate, its schedule
// and the optimizer's kind and constants are the `config` set (config_set.cpp); until
// 2026-12-05 this set also held opt_lr_log10_{first,final,change}, opt_lr_change_share and
// opt_has_{adam_state,momentum,accumulator}, which restate the injected value of a
// hyperparameter fault. The state columns still tell optimizer families apart by which of them
// are NaN (SGD has no Adam moments): that is the state's own shape, not a configured value.
//
// Sources: prior-work section 1.3 (optimizer reconstruction: statistics of Adam exp_avg /
// exp_avg_sq, effective step lr / (sqrt(v_hat) + eps), update-to-weight ratio;
// DEFault++'s update_ratio = ||W_t - W_{t-1}|| / ||W_{t-1}||) and section 4.4 (TheDeepChecker
// flags a log10 update/weight ratio outside [-4, -1]). Levels are log10 because these quantities
// span orders of magnitude across programs. Columns:
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
//                                 accumulator norms (NaN when the optimizer has no such state)
#include <cmath>
#include <limits>

#include "features/probe_sets.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

std::vector<double> log10_of(const std::vector<double>& v) {
  std::vector<double> out;
  out.reserve(v.size());
  for (double x : v) out.push_back(safe_log10(x));
  return out;
}

}  // namespace

void optimizer_features(const db::Trace& trace, FeatureRow& row) {
  const std::vector<double> upd = log10_of(series_values(trace, "weight/update_ratio"));
  const ColumnStats us = column_stats([&] {
    std::vector<double> finite;
    for (double v : upd)
      if (std::isfinite(v)) finite.push_back(v);
    return finite;
  }());
  row.reads_from({"weight/update_ratio"});
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
  row.reads_from({"weight/update_ratio", "weight/<p>/update_ratio"});
  row.add("opt_update_param_spread", finite_mean(spread));

  const std::vector<double> m1 = log10_of(series_values(trace, "opt/exp_avg_norm"));
  const std::vector<double> m2 = log10_of(series_values(trace, "opt/exp_avg_sq_norm"));
  const std::vector<double> step = log10_of(series_values(trace, "opt/eff_step_mean"));
  row.reads_from({"opt/exp_avg_norm"});
  row.add("opt_exp_avg_log10_mean", finite_mean(m1));
  row.add("opt_exp_avg_log10_final", finite_last(m1));
  row.reads_from({"opt/exp_avg_sq_norm"});
  row.add("opt_exp_avg_sq_log10_mean", finite_mean(m2));
  row.add("opt_exp_avg_sq_log10_final", finite_last(m2));
  row.reads_from({"opt/eff_step_mean"});
  row.add("opt_eff_step_log10_mean", finite_mean(step));
  row.add("opt_eff_step_log10_final", finite_last(step));
  std::vector<double> step_over_lr;
  if (const db::Series* s = trace.find("opt/eff_step_mean"))
    for (size_t i = 0; i < s->steps.size() && i < s->values.size(); ++i)
      step_over_lr.push_back(
          safe_log10(safe_ratio(s->values[i], value_at(trace, keys::kLr, s->steps[i]))));
  row.reads_from({"opt/eff_step_mean", "epoch/lr"});
  row.add("opt_eff_step_over_lr_log10_mean", finite_mean(step_over_lr));
  row.reads_from({"opt/momentum_norm"});
  row.add("opt_momentum_log10_mean",
          finite_mean(log10_of(series_values(trace, "opt/momentum_norm"))));
  row.reads_from({"opt/accum_norm"});
  row.add("opt_accum_log10_mean", finite_mean(log10_of(series_values(trace, "opt/accum_norm"))));
}

FeatureSet make_optimizer_feature_set() {
  return make_row_feature_set("optimizer",
                              "Optimizer state: moment norms, effective step, log10 update-to-"
                              "weight ratio statistics (configured values are the config set)",
                              &optimizer_features);
}

DYNFAULT_REGISTER(feature_set_registry(), "optimizer", make_optimizer_feature_set);

}  // namespace dynfault::features
