// DEFault's runtime features (Jahan et al., ICSE 2025), recomputed from a stored trace.
//
// Source: `SigmaJahan/DEFault-DNN-Debugging`, `c_Feature_Extraction/Dynamic/CustomCallback.py`
// (prior-work section 3.3): one row per epoch, thresholds from that callback, and the released
// CSVs average every column over the epochs (epoch = 24.5 in >= 95 % of rows). Here every column
// is computed per recorded epoch and averaged over the epochs where it is defined (a NaN epoch is
// skipped; a column never defined is NaN). Columns, per epoch:
//   train_loss, train_acc, val_loss, val_acc   epoch curves (metric = accuracy, R^2 for
//                                              regression; DEFault uses 1 - MAPE/100 there)
//   large_weight_count     weight tensors whose max |w| > 10 (DEFault counts single weights; the
//                          trace keeps per-tensor max |w|, so this counts tensors; falls back to
//                          the global weight/max_abs > 10 as 0/1)
//   acc_gap_too_big        |train_acc - val_acc| > 0.1
//   loss_oscillation       |loss_t - loss_{t-1}| > 0.01 (epoch train loss; from the 2nd epoch)
//   decrease_acc, increase_loss   train metric fell / train loss rose vs the previous epoch
//   cons_mean_weight, cons_std_weight   weight/mean, weight/std exactly equal to the previous
//                          epoch's (DEFault compares the mean / std of all weights)
//   nan_weight, nan_gradient   weight/nonfinite > 0, grad/nonfinite > 0
//   gradient_vanish        mean over tensors of mean |g| < 1e-4 (DEFault: mean |g| of the first
//                          batch; here the runner's last batch of the epoch)
//   gradient_explode       max over tensors of max |g| > 70
//   grad_norm_{mean,std,max,min,median}   over the per-tensor L2 norms grad/<p>/norm (std with
//                          ddof = 0, numpy's default as DEFault uses it)
//   mean_grad              mean over tensors of mean |g| (DEFault: of the signed mean; the trace
//                          records mean |g|)
//   dying_relu             act/dead_frac_max > 0.7 (DEFault-tool: max over ReLU layers)
//   saturated_activation   act/sat_frac_max > 0.5 with pre-activations beyond +-5 (prior-work 3.3:
//                          sigmoid/tanh outputs never reach 5, so pre-activations are measured)
//   mean_activation, std_activation   mean over activation layers of act/<l>/mean, act/<l>/std
// Label inputs (label_inputs.h; dropped by the evaluation for the tasks whose rule reads them):
//   def_increase_loss      loss_rises (share of epochs whose train loss rose)
//   def_acc_gap_too_big    final train and validation metric (the mismatch rule at every epoch)
// Left out on purpose: `adjusted_lr` (DEFault's callback multiplied the LR by 0.9 each epoch, so
// the column encodes the seeded LR; prior-work section 7, defect #4), cpu/memory/gpu counters
// (they fingerprint batch and model size; defect #5), and `std_grad` (a per-tensor gradient
// standard deviation that the trace contract does not record).
#include <algorithm>
#include <cmath>
#include <limits>

#include "features/probe_sets.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double flag(bool defined, bool value) { return defined ? (value ? 1.0 : 0.0) : kNaN; }

// numpy-style population statistics of the finite entries.
struct Spread {
  double mean = kNaN, std = kNaN, max = kNaN, min = kNaN, median = kNaN;
};
Spread spread(const std::vector<double>& values) {
  std::vector<double> v;
  for (double x : values)
    if (std::isfinite(x)) v.push_back(x);
  Spread s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / n;
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(ss / n);
  s.min = v.front();
  s.max = v.back();
  const size_t m = v.size();
  s.median = m % 2 == 1 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
  return s;
}

constexpr int kColumns = 25;

/// The columns, without their "def_" prefix.
const char* const kNames[kColumns] = {"train_loss",
                                      "train_acc",
                                      "val_loss",
                                      "val_acc",
                                      "large_weight_count",
                                      "acc_gap_too_big",
                                      "loss_oscillation",
                                      "decrease_acc",
                                      "increase_loss",
                                      "cons_mean_weight",
                                      "cons_std_weight",
                                      "nan_weight",
                                      "nan_gradient",
                                      "gradient_vanish",
                                      "gradient_explode",
                                      "grad_norm_mean",
                                      "grad_norm_std",
                                      "grad_norm_max",
                                      "grad_norm_min",
                                      "grad_norm_median",
                                      "mean_grad",
                                      "dying_relu",
                                      "saturated_activation",
                                      "mean_activation",
                                      "std_activation"};

/// What each column reads: its epoch's keys, at every epoch of the four curves.
const std::vector<ColumnInputs>& column_inputs() {
  static const std::vector<ColumnInputs> kInputs = [] {
    const std::string checks =
        "epoch/train_loss|epoch/train_metric|epoch/val_loss|epoch/val_metric";
    const std::vector<std::vector<std::string>> needs = {{keys::kTrainLoss},
                                                         {keys::kTrainMetric},
                                                         {keys::kValLoss},
                                                         {keys::kValMetric},
                                                         {"weight/<p>/max_abs|weight/max_abs"},
                                                         {keys::kTrainMetric, keys::kValMetric},
                                                         {keys::kTrainLoss},
                                                         {keys::kTrainMetric},
                                                         {keys::kTrainLoss},
                                                         {"weight/mean"},
                                                         {"weight/std"},
                                                         {keys::kWeightNonfinite},
                                                         {keys::kGradNonfinite},
                                                         {"grad/<p>/mean_abs"},
                                                         {"grad/<p>/max_abs"},
                                                         {"grad/<p>/norm"},
                                                         {"grad/<p>/norm"},
                                                         {"grad/<p>/norm"},
                                                         {"grad/<p>/norm"},
                                                         {"grad/<p>/norm"},
                                                         {"grad/<p>/mean_abs"},
                                                         {"act/dead_frac_max"},
                                                         {"act/sat_frac_max"},
                                                         {"act/<layer>/mean"},
                                                         {"act/<layer>/std"}};
    std::vector<ColumnInputs> out;
    for (const auto& n : needs) {
      ColumnInputs in;
      in.needs = n;
      in.needs.push_back(checks);
      in.reads = {keys::kTrainLoss, keys::kTrainMetric, keys::kValLoss, keys::kValMetric};
      out.push_back(std::move(in));
    }
    return out;
  }();
  static_assert(kColumns == 25, "one input declaration per column");
  return kInputs;
}

/// The per-parameter and per-layer statistics of every epoch, as across_params() reads them.
struct EpochStats {
  EpochStats(const db::Trace& trace, const std::vector<int64_t>& steps)
      : max_abs(across_params(trace, "weight", "max_abs", steps)),
        g_mean_abs(across_params(trace, "grad", "mean_abs", steps)),
        g_max_abs(across_params(trace, "grad", "max_abs", steps)),
        g_norm(across_params(trace, "grad", "norm", steps)),
        a_mean(across_params(trace, "act", "mean", steps)),
        a_std(across_params(trace, "act", "std", steps)) {}
  std::vector<std::vector<double>> max_abs, g_mean_abs, g_max_abs, g_norm, a_mean, a_std;
};

/// The kColumns values of epoch `e` (of `steps`), in the order of kNames.
std::vector<double> epoch_row(const db::Trace& trace, const std::vector<int64_t>& steps, size_t e,
                              const EpochStats& stats) {
  const int64_t s = steps[e];
  const int64_t prev = e > 0 ? steps[e - 1] : -1;
  auto at = [&](const char* key) { return value_at(trace, key, s); };
  auto before = [&](const char* key) { return e > 0 ? value_at(trace, key, prev) : kNaN; };
  const double loss = at(keys::kTrainLoss), acc = at(keys::kTrainMetric);
  const double loss0 = before(keys::kTrainLoss), acc0 = before(keys::kTrainMetric);
  const double val_acc = at(keys::kValMetric);
  std::vector<double> r(kColumns, kNaN);
  r[0] = loss;
  r[1] = acc;
  r[2] = at(keys::kValLoss);
  r[3] = val_acc;
  const std::vector<double>& max_abs = stats.max_abs[e];
  if (!max_abs.empty()) {
    r[4] = static_cast<double>(
        std::count_if(max_abs.begin(), max_abs.end(), [](double v) { return v > 10; }));
  } else if (!std::isnan(at(keys::kWeightMaxAbs))) {
    r[4] = at(keys::kWeightMaxAbs) > 10 ? 1 : 0;
  }
  r[5] = flag(std::isfinite(acc) && std::isfinite(val_acc), std::fabs(acc - val_acc) > 0.1);
  r[6] = flag(std::isfinite(loss) && std::isfinite(loss0), std::fabs(loss - loss0) > 0.01);
  r[7] = flag(std::isfinite(acc) && std::isfinite(acc0), acc < acc0);
  r[8] = flag(std::isfinite(loss) && std::isfinite(loss0), loss > loss0);
  const double wm = at("weight/mean"), wm0 = before("weight/mean");
  const double ws = at("weight/std"), ws0 = before("weight/std");
  r[9] = flag(!std::isnan(wm) && !std::isnan(wm0), wm == wm0);
  r[10] = flag(!std::isnan(ws) && !std::isnan(ws0), ws == ws0);
  const double wnf = at(keys::kWeightNonfinite), gnf = at(keys::kGradNonfinite);
  r[11] = flag(!std::isnan(wnf), wnf > 0);
  r[12] = flag(!std::isnan(gnf), gnf > 0);
  const double mean_g = finite_mean(stats.g_mean_abs[e]);
  const double max_g = finite_max(stats.g_max_abs[e]);
  const bool any_inf_g = any_nonfinite(stats.g_max_abs[e]);
  r[13] = flag(!std::isnan(mean_g), mean_g < 1e-4);
  r[14] = flag(!std::isnan(max_g) || any_inf_g, any_inf_g || max_g > 70);
  const Spread gn = spread(stats.g_norm[e]);
  r[15] = gn.mean;
  r[16] = gn.std;
  r[17] = gn.max;
  r[18] = gn.min;
  r[19] = gn.median;
  r[20] = mean_g;
  const double dead = at("act/dead_frac_max"), sat = at("act/sat_frac_max");
  r[21] = flag(!std::isnan(dead), dead > 0.7);
  r[22] = flag(!std::isnan(sat), sat > 0.5);
  r[23] = finite_mean(stats.a_mean[e]);
  r[24] = finite_mean(stats.a_std[e]);
  return r;
}

}  // namespace

void default_features(const db::Trace& trace, FeatureRow& row) {
  const std::vector<int64_t> steps = epoch_steps(trace);
  const EpochStats stats(trace, steps);
  std::vector<std::vector<double>> cols(kColumns);
  for (size_t e = 0; e < steps.size(); ++e) {
    const std::vector<double> r = epoch_row(trace, steps, e, stats);
    for (int c = 0; c < kColumns; ++c)
      cols[static_cast<size_t>(c)].push_back(r[static_cast<size_t>(c)]);
  }
  // Epoch average as DEFault's released CSVs; the loss/metric columns of a run that blew up are
  // averaged over their finite epochs (the NaN/Inf itself is in nan_weight / nan_gradient).
  const std::vector<ColumnInputs>& inputs = column_inputs();
  for (int c = 0; c < kColumns; ++c) {
    const std::string name = kNames[c];
    const LabelInputs restates = name == "increase_loss" ? kInputLossRises
                                 : name == "acc_gap_too_big"
                                     ? kInputFinalTrainMetric | kInputFinalValMetric
                                     : kInputNone;
    row.reads_from(inputs[static_cast<size_t>(c)]);
    row.add("def_" + name, finite_mean(cols[static_cast<size_t>(c)]), restates);
  }
}

FeatureSet make_default_feature_set() {
  return make_row_feature_set("default",
                              "DEFault's per-epoch runtime features averaged over epochs, without "
                              "adjusted_lr and hardware counters",
                              &default_features);
}

DYNFAULT_REGISTER(feature_set_registry(), "default", make_default_feature_set);

}  // namespace dynfault::features
