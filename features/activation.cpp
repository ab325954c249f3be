// Activation features from the probe batch (`act/...` keys, db/trace.h).
//
// Sources: prior-work section 1.3 (activation reconstruction: dead-ReLU share, sigmoid/tanh
// saturation share, per-layer mean and std), section 3.3 (DEFault's dying_relu > 0.7 and
// saturated_activation > 0.5 on pre-activations beyond +-5) and section 4.5 (the same
// thresholds in DeepDiagnosis). A "cell" is one (layer, epoch) pair. Columns:
//   act_dead_max_mean, act_dead_max_final   act/dead_frac_max (else the max over layers of
//                             act/<l>/dead_frac) averaged over epochs / at the last epoch
//   act_sat_max_mean, act_sat_max_final     the same for sat_frac
//   act_dead_cell_mean, act_sat_cell_mean   mean of act/<l>/dead_frac, sat_frac over cells
//   act_dead_cell_share       share of cells with dead_frac > 0.7 (DEFault / DeepDiagnosis)
//   act_sat_cell_share        share of cells with sat_frac > 0.5
//   act_mean_cell_mean, act_mean_cell_std   mean and std (ddof = 1) over cells of act/<l>/mean
//   act_std_cell_mean, act_std_cell_std     the same for act/<l>/std
//   act_std_log10_last_over_first   log10(std of the last layer / std of the first layer) at the
//                             last epoch: signal growth or decay through depth, dimensionless
//   act_std_log10_change      log10(mean layer std at the last epoch / at the first epoch)
//   act_mean_abs_max_mean, act_mean_abs_max_final   act/mean_abs_max (AUTOTRAINER's abnormal
//                             data rule flags >= 10 in a hidden layer)
// The number of activation layers is left out: it identifies the architecture (the program),
// not a symptom.
#include <algorithm>
#include <cmath>
#include <limits>

#include "features/probe_sets.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The union of the steps of every `act/...` series: the probe's epochs.
std::vector<int64_t> act_steps(const db::Trace& trace) {
  std::vector<int64_t> steps;
  for (auto it = trace.series.lower_bound("act/"); it != trace.series.end(); ++it) {
    if (it->first.compare(0, 4, "act/") != 0) break;
    steps.insert(steps.end(), it->second.steps.begin(), it->second.steps.end());
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

std::vector<double> flatten(const std::vector<std::vector<double>>& cells) {
  std::vector<double> out;
  for (const auto& c : cells) out.insert(out.end(), c.begin(), c.end());
  return out;
}

// The global `act/<stat>_max` series per step, else the max over layers at that step.
std::vector<double> layer_max(const db::Trace& trace, const std::string& stat,
                              const std::vector<int64_t>& steps,
                              const std::vector<std::vector<double>>& cells) {
  std::vector<double> out(steps.size(), kNaN);
  for (size_t e = 0; e < steps.size(); ++e) {
    out[e] = value_at(trace, "act/" + stat + "_max", steps[e]);
    if (std::isnan(out[e])) out[e] = finite_max(cells[e]);
  }
  return out;
}

double finite_std(const std::vector<double>& v) {
  std::vector<double> f;
  for (double x : v)
    if (std::isfinite(x)) f.push_back(x);
  return column_stats(f).std;
}

}  // namespace

void activation_features(const db::Trace& trace, FeatureRow& row) {
  const std::vector<int64_t> steps = act_steps(trace);
  const auto dead = across_params(trace, "act", "dead_frac", steps);
  const auto sat = across_params(trace, "act", "sat_frac", steps);
  const auto mean = across_params(trace, "act", "mean", steps);
  const auto std_cells = across_params(trace, "act", "std", steps);

  const std::vector<double> dead_max = layer_max(trace, "dead_frac", steps, dead);
  const std::vector<double> sat_max = layer_max(trace, "sat_frac", steps, sat);
  // Every column is read at the union of the act/ series' steps.
  row.reads_from(
      {"act/dead_frac_max|act/<layer>/dead_frac"},
      {"act/dead_frac_max", "act/<layer>/dead_frac", "act/<layer>/mean", "act/<layer>/std",
       "act/<layer>/sat_frac", "act/sat_frac_max", "act/mean_abs_max", "act/std_mean"});
  row.add("act_dead_max_mean", finite_mean(dead_max));
  row.add("act_dead_max_final", finite_last(dead_max));
  row.reads_from(
      {"act/sat_frac_max|act/<layer>/sat_frac"},
      {"act/dead_frac_max", "act/<layer>/dead_frac", "act/<layer>/mean", "act/<layer>/std",
       "act/<layer>/sat_frac", "act/sat_frac_max", "act/mean_abs_max", "act/std_mean"});
  row.add("act_sat_max_mean", finite_mean(sat_max));
  row.add("act_sat_max_final", finite_last(sat_max));
  const std::vector<double> dead_all = flatten(dead), sat_all = flatten(sat);
  row.reads_from({"act/<layer>/dead_frac"});
  row.add("act_dead_cell_mean", finite_mean(dead_all));
  row.reads_from({"act/<layer>/sat_frac"});
  row.add("act_sat_cell_mean", finite_mean(sat_all));
  row.reads_from({"act/<layer>/dead_frac"});
  row.add("act_dead_cell_share", finite_share(dead_all, [](double v) { return v > 0.7; }));
  row.reads_from({"act/<layer>/sat_frac"});
  row.add("act_sat_cell_share", finite_share(sat_all, [](double v) { return v > 0.5; }));
  const std::vector<double> mean_all = flatten(mean), std_all = flatten(std_cells);
  row.reads_from({"act/<layer>/mean"});
  row.add("act_mean_cell_mean", finite_mean(mean_all));
  row.add("act_mean_cell_std", finite_std(mean_all));
  row.reads_from({"act/<layer>/std"});
  row.add("act_std_cell_mean", finite_mean(std_all));
  row.add("act_std_cell_std", finite_std(std_all));

  // across_params keeps layers in natural (depth) order, so front/back are first/last layer.
  double depth_ratio = kNaN, change = kNaN;
  if (!std_cells.empty()) {
    const auto& last = std_cells.back();
    if (last.size() >= 2) depth_ratio = safe_log10(safe_ratio(last.back(), last.front()));
    change = safe_log10(safe_ratio(finite_mean(last), finite_mean(std_cells.front())));
  }
  // First and last epoch of the act/ series, whichever recorded them.
  row.reads_from({"act/<layer>/std"},
                 {"act/dead_frac_max", "act/<layer>/dead_frac", "act/<layer>/mean",
                  "act/<layer>/sat_frac", "act/sat_frac_max", "act/mean_abs_max", "act/std_mean"});
  row.add("act_std_log10_last_over_first", depth_ratio);
  row.add("act_std_log10_change", change);
  const auto& mean_abs = series_values(trace, "act/mean_abs_max");
  row.reads_from({"act/mean_abs_max"});
  row.add("act_mean_abs_max_mean", finite_mean(mean_abs));
  row.add("act_mean_abs_max_final", finite_last(mean_abs));
}

FeatureSet make_activation_feature_set() {
  return make_row_feature_set("activation",
                              "Probe-batch activations: dead and saturated shares, per-layer mean "
                              "and std over layers and epochs",
                              &activation_features);
}

DYNFAULT_REGISTER(feature_set_registry(), "activation", make_activation_feature_set);

}  // namespace dynfault::features
