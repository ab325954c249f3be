// DeepFD's runtime features, recomputed from a stored trace.
//
// Sources (read in the public repositories; prior-work sections 3.1, 3.2, 4.1):
//   * DeepFD `CodeBook/Callbacks/Monitor.py` (`gradient_issue`, `weights_issue`, `loss_issue`,
//     `ol_judge`, `max_delta_acc`, `IssueMonitor.feature`): the flags and their update order;
//   * DeepFD `CodeBook/Config.py` `params`: beta_1 = 1e-3, beta_2 = 1e-4, beta_3 = 70,
//     gamma = 0.7, zeta = 0.03, eta = 0.2, delta = 0.01, Theta = 0.6; `OPERATORS`: the 8 stats;
//   * DeepFD `CodeBook/Utils/analysis_utils.py` `extract_feature`: `df.agg(OPERATORS)` into
//     `ft_<column>_<stat>`; `cal_stats.py` `summary`: `ft_<log.csv column>` of the last epoch;
//   * AUTOTRAINER `AutoTrainer/utils/monitor.py`: the same rules (DeepFD copied them), defaults
//     in `reproduce.py`; large weight > 5 from `weights_issue(threshold_large=5)`.
//
// Semantics kept from DeepFD (its monitor state persists across checks, and each check writes a
// row of the current state):
//   * sticky booleans (once true, true): not_converge, unstable_loss, sc_accuracy, nan_gradient,
//     nan_weight;
//   * counters (+1 per check where the condition holds): nan_loss, nan_acc, test_not_well,
//     died_relu, vanish_gradient, explode_gradient, large_weight, decrease_acc, increase_loss,
//     cons_mean_weight and cons_std_weight (+ the number of tensors whose mean / std equals the
//     previous check's);
//   * test_turn_bad is overwritten each check: DeepFD's `try/except/else: ...; break` makes it 1
//     when, at the latest epoch, train loss fell by more than epsilon = 10e-3 and validation loss
//     rose by more than epsilon, else 0;
//   * early returns: a non-finite gradient skips the other gradient flags of that check, a
//     non-finite weight the other weight flags, a NaN loss (or val loss >= 1e5) the other loss
//     flags, a NaN accuracy the remaining ones; trend checks start once the epochs run reach
//     30 % of the planned epochs (`judgment_point = 0.3`).
// Deliberate differences, each because the stored trace differs from a Keras callback's view:
//   * one check per recorded epoch (DeepFD checks every 256 batches);
//   * gradients are the runner's last-batch-of-epoch statistics, not a fresh first-batch pass;
//   * the zero-gradient share uses `grad/zero_frac` when recorded, else the unweighted mean of
//     the per-tensor `grad/<p>/zero_frac` (tensor sizes are not in the trace);
//   * the first-kernel gradient norm (vanishing rule) uses `grad/first_norm` when recorded,
//     else the smallest `grad/<p>/norm` over tensors named `*weight`;
//   * an absent validation series is "not recorded" (DeepFD's None), never a NaN;
//   * `unstable_loss` needs at least one accuracy value (DeepFD's `ol_judge` returns true for
//     an empty history because 0 >= 0.2 x 0);
//   * for regression the metric is R^2, compared with the same accuracy thresholds.
// Label inputs (label_inputs.h; dropped by the evaluation for the tasks whose rule reads them):
//   ft_nan_loss_*          loss_nonfinite, loss_magnitude (DeepFD's NaN-or-val-loss >= 1e5 rule)
//   ft_unstable_loss_*     accuracy_oscillation (AUTOTRAINER's rule, the one instability uses)
//   ft_increase_loss_*     loss_rises (the count of epochs whose loss rose)
//   ft_test_not_well_*     final train and validation metric (the mismatch rule at each check)
//   ft_loss_max, ft_val_loss_max   loss_magnitude; ft_loss_min   loss_trend
//   ft_loss, ft_val_loss   last-epoch losses: loss_nonfinite (ft_loss also loss_trend)
//   ft_accuracy, ft_val_accuracy   final train / validation metric (ft_val_accuracy also the
//                          killing test's final metric)
#include "features/deepfd.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>

#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// DeepFD CodeBook/Config.py `params` and Monitor.py defaults.
constexpr double kBeta1 = 1e-3;         // vanishing: first/last kernel gradient-norm ratio
constexpr double kBeta2 = 1e-4;         // vanishing: first kernel gradient norm
constexpr double kBeta3 = 70.0;         // exploding: first/last ratio
constexpr double kGamma = 0.7;          // dying ReLU: share of zero gradient entries
constexpr double kZeta = 0.03;          // oscillation amplitude
constexpr double kEta = 0.2;            // oscillation share of epochs
constexpr double kDelta = 0.01;         // slow convergence: largest per-epoch accuracy gain
constexpr double kTheta = 0.6;          // not converged: best accuracy
constexpr double kJudgmentPoint = 0.3;  // trend checks start at 30 % of planned epochs
constexpr double kEpsilon = 10e-3;      // test_turn_bad loss movement (Python 10e-3 = 0.01)
constexpr double kNanLossVal = 1e5;     // val loss at or above this counts as nan_loss
constexpr double kLargeWeight = 5.0;    // weights_issue threshold_large
constexpr double kGapLowAcc = 0.1;      // test_not_well gap when train acc <= 0.9
constexpr double kGapHighAcc = 0.07;    // test_not_well gap when train acc > 0.9
constexpr double kHighAcc = 0.9;

enum Column {
  kNotConverge,
  kUnstableLoss,
  kNanLoss,
  kTestNotWell,
  kTestTurnBad,
  kScAccuracy,
  kDiedRelu,
  kVanishGradient,
  kExplodeGradient,
  kNanGradient,
  kNanWeight,
  kNanAcc,
  kLargeWeightCol,
  kDecreaseAcc,
  kIncreaseLoss,
  kConsMeanWeight,
  kConsStdWeight,
  kLoss,
  kAcc,
  kValLoss,
  kValAcc,
  kColumnCount
};

// One epoch curve as DeepFD's monitor sees it at a check: its history up to that epoch, kept as
// the summaries the rules read, updated one value at a time. (Rebuilding and rescanning the
// whole history at every check made a trace of n epochs cost O(n^2): 40,000 epochs took 30 s.)
class CurveHistory {
 public:
  CurveHistory(const db::Trace& trace, const char* key) : series_(trace.find(key)) {}

  /// Takes in the values recorded at steps <= `step` (series are sorted by step).
  void advance_to(int64_t step) {
    if (series_ == nullptr) return;
    const size_t n = std::min(series_->steps.size(), series_->values.size());
    for (; next_ < n && series_->steps[next_] <= step; ++next_) add(series_->values[next_]);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  double last() const { return last_; }
  double before_last() const { return before_last_; }
  /// stats.h any_nonfinite of the history.
  bool any_nonfinite() const { return nonfinite_; }
  /// The largest value, NaN skipped as std::max skips it (-inf when there is none).
  double max() const { return max_; }
  /// Monitor.py `max_delta_acc`: the largest single-step gain, 0 when there is none.
  double max_delta() const { return max_delta_; }
  /// Monitor.py `ol_judge`: oscillation pairs >= rate x history length.
  bool ol_judge(double rate) const {
    return static_cast<double>(oscillation_.count()) >= rate * static_cast<double>(size_);
  }

 private:
  void add(double v) {
    if (size_ > 0 && v - last_ > max_delta_) max_delta_ = v - last_;
    max_ = std::max(max_, v);
    nonfinite_ = nonfinite_ || !std::isfinite(v);
    oscillation_.add(v);
    before_last_ = last_;
    last_ = v;
    ++size_;
  }

  const db::Series* series_;
  size_t next_ = 0;
  size_t size_ = 0;
  double last_ = kNaN, before_last_ = kNaN;
  double max_ = -std::numeric_limits<double>::infinity();
  double max_delta_ = 0;
  bool nonfinite_ = false;
  OscillationPairs oscillation_{kZeta};
};

bool present(double x) { return !std::isnan(x); }

/// DeepFD's Monitor.py over one trace: check() runs its three issue checks at one epoch and
/// updates the persistent state (`self.feature`) they count into.
class Monitor {
 public:
  explicit Monitor(const db::Trace& trace)
      : trace_(trace),
        grad_params_(param_names(trace, "grad", "zero_frac")),
        grad_norm_params_(param_names(trace, "grad", "norm")),
        weight_params_(param_names(trace, "weight", "mean")),
        weight_std_params_(param_names(trace, "weight", "std")),
        loss_(trace, keys::kTrainLoss),
        acc_(trace, keys::kTrainMetric),
        val_loss_(trace, keys::kValLoss),
        val_acc_(trace, keys::kValMetric) {}

  /// The state after the checks at epoch `step`, given the planned epoch count.
  const std::vector<double>& check(int64_t step, double total_epoch) {
    gradient_issue(step);
    weights_issue(step);
    loss_issue(step, total_epoch);
    return state_;
  }

 private:
  double at(const std::string& key, int64_t step) const { return value_at(trace_, key, step); }

  /// Non-finite gradient entries: the global count, else the sum over tensors.
  double grad_nonfinite(int64_t step) const {
    double nonfinite = at(keys::kGradNonfinite, step);
    if (present(nonfinite)) return nonfinite;
    for (const auto& p : grad_params_) {
      const double v = at("grad/" + p + "/nonfinite", step);
      if (present(v)) nonfinite = (present(nonfinite) ? nonfinite : 0.0) + v;
    }
    return nonfinite;
  }

  /// The share of zero gradient entries: the global one, else the mean over tensors.
  double grad_zero_share(int64_t step) const {
    double zero_share = at(keys::kGradZeroFrac, step);
    if (present(zero_share)) return zero_share;
    double sum = 0;
    int n = 0;
    for (const auto& p : grad_params_) {
      const double v = at("grad/" + p + "/zero_frac", step);
      if (std::isfinite(v)) {
        sum += v;
        ++n;
      }
    }
    if (n > 0) zero_share = sum / n;
    return zero_share;
  }

  /// The first kernel's gradient norm: the recorded one, else the least norm of a weight tensor.
  double grad_first_norm(int64_t step) const {
    double first_norm = at(keys::kGradFirstNorm, step);
    if (present(first_norm)) return first_norm;
    for (const auto& p : grad_norm_params_) {
      if (p.size() < 6 || p.compare(p.size() - 6, 6, "weight") != 0) continue;
      const double v = at("grad/" + p + "/norm", step);
      if (present(v) && (!present(first_norm) || v < first_norm)) first_norm = v;
    }
    return first_norm;
  }

  /// Monitor.py gradient_issue: NaN gradients, else vanishing, exploding, dying ReLU.
  void gradient_issue(int64_t step) {
    const double nonfinite = grad_nonfinite(step);
    const double ratio = at(keys::kGradFirstLastRatio, step);
    const double zero_share = grad_zero_share(step);
    const double first_norm = grad_first_norm(step);
    const bool has_grad = present(nonfinite) || present(ratio) || present(zero_share);
    if (!has_grad) return;
    if (present(nonfinite) && nonfinite > 0) {
      state_[kNanGradient] = 1;
      return;
    }
    if (ratio < kBeta1 && first_norm < kBeta2) state_[kVanishGradient] += 1;
    if (ratio > kBeta3) state_[kExplodeGradient] += 1;
    if (zero_share >= kGamma) state_[kDiedRelu] += 1;
  }

  /// Monitor.py weights_issue: NaN weights, else large weights and per-tensor mean / std equal
  /// to the previous weight check's.
  void weights_issue(int64_t step) {
    const double w_nonfinite = at(keys::kWeightNonfinite, step);
    const double w_max_abs = at(keys::kWeightMaxAbs, step);
    bool has_weights = present(w_nonfinite) || present(w_max_abs);
    for (const auto& p : weight_params_)
      has_weights = has_weights || present(at("weight/" + p + "/mean", step));
    if (!has_weights) return;
    if ((present(w_nonfinite) && w_nonfinite > 0) ||
        (present(w_max_abs) && !std::isfinite(w_max_abs))) {
      state_[kNanWeight] = 1;
    } else {
      if (w_max_abs > kLargeWeight) state_[kLargeWeightCol] += 1;
      if (has_prev_weights_) {
        state_[kConsMeanWeight] += unchanged(weight_params_, "/mean", step);
        state_[kConsStdWeight] += unchanged(weight_std_params_, "/std", step);
      }
    }
    prev_weight_step_ = step;
    has_prev_weights_ = true;
  }

  /// How many of `params` have weight/<p><stat> equal at `step` and at the previous weight check.
  double unchanged(const std::vector<std::string>& params, const char* stat, int64_t step) const {
    double count = 0;
    for (const auto& p : params) {
      const double cur = at("weight/" + p + stat, step);
      const double last = at("weight/" + p + stat, prev_weight_step_);
      if (present(cur) && present(last) && cur == last) count += 1;
    }
    return count;
  }

  /// Monitor.py loss_issue: the curves' values, then NaN loss or accuracy, and from the judgment
  /// point on the trend checks.
  void loss_issue(int64_t step, double total_epoch) {
    state_[kLoss] = at(keys::kTrainLoss, step);
    state_[kAcc] = at(keys::kTrainMetric, step);
    state_[kValLoss] = at(keys::kValLoss, step);
    state_[kValAcc] = at(keys::kValMetric, step);
    for (CurveHistory* h : {&loss_, &acc_, &val_loss_, &val_acc_}) h->advance_to(step);
    if (loss_.empty()) return;
    if (loss_.any_nonfinite() || val_loss_.any_nonfinite() ||
        (!val_loss_.empty() && val_loss_.last() >= kNanLossVal)) {
      state_[kNanLoss] += 1;
      return;
    }
    if (acc_.any_nonfinite() || val_acc_.any_nonfinite()) {
      state_[kNanAcc] += 1;
      return;
    }
    if (static_cast<double>(loss_.size()) < kJudgmentPoint * total_epoch) return;
    trend_checks();
  }

  void trend_checks() {
    if (!acc_.empty() && !val_acc_.empty()) {
      const double a = acc_.last(), gap = acc_.last() - val_acc_.last();
      if ((a <= kHighAcc && gap >= kGapLowAcc) || (a > kHighAcc && gap >= kGapHighAcc))
        state_[kTestNotWell] += 1;
    }
    if (loss_.size() >= 2 && val_loss_.size() >= 2) {
      const double dl = loss_.last() - loss_.before_last();
      const double dv = val_loss_.last() - val_loss_.before_last();
      state_[kTestTurnBad] = (dl < -kEpsilon && dv > kEpsilon) ? 1 : 0;
    }
    if (!acc_.empty() && acc_.ol_judge(kEta)) state_[kUnstableLoss] = 1;
    if (!acc_.empty() && !val_acc_.empty()) {
      if (val_acc_.max() < kTheta || acc_.max() < kTheta) state_[kNotConverge] = 1;
      if (val_acc_.max_delta() < kDelta && acc_.max_delta() < kDelta) state_[kScAccuracy] = 1;
    }
    if (loss_.size() > 1 && loss_.last() > loss_.before_last()) state_[kIncreaseLoss] += 1;
    if (acc_.size() > 1 && acc_.last() < acc_.before_last()) state_[kDecreaseAcc] += 1;
  }

  const db::Trace& trace_;
  const std::vector<std::string> grad_params_, grad_norm_params_, weight_params_,
      weight_std_params_;
  std::vector<double> state_ = std::vector<double>(kColumnCount, 0.0);  // `self.feature`
  CurveHistory loss_, acc_, val_loss_, val_acc_;
  int64_t prev_weight_step_ = -1;  // DeepFD's `self.last_weight`
  bool has_prev_weights_ = false;
};

}  // namespace

const std::vector<std::string>& deepfd_columns() {
  static const std::vector<std::string> kColumns = {
      "not_converge",     "unstable_loss", "nan_loss",      "test_not_well",
      "test_turn_bad",    "sc_accuracy",   "died_relu",     "vanish_gradient",
      "explode_gradient", "nan_gradient",  "nan_weight",    "nan_acc",
      "large_weight",     "decrease_acc",  "increase_loss", "cons_mean_weight",
      "cons_std_weight",  "loss",          "acc",           "val_loss",
      "val_acc"};
  return kColumns;
}

CheckTable deepfd_checks(const db::Trace& trace) {
  CheckTable table;
  table.columns = deepfd_columns();
  const std::vector<int64_t> steps = epoch_steps(trace);
  const int64_t planned = planned_epochs(trace);
  const double total_epoch =
      static_cast<double>(planned > 0 ? planned : static_cast<int64_t>(steps.size()));
  Monitor monitor(trace);
  for (int64_t step : steps) {
    table.epochs.push_back(step);
    table.rows.push_back(monitor.check(step, total_epoch));
  }
  return table;
}

const std::vector<std::string>& deepfd_feature_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& c : deepfd_columns())
      for (const char* s : kDeepfdStats) names.push_back("ft_" + c + "_" + s);
    // DeepFD cal_stats.py: `ft_<head>` for the last line of log.csv
    // (val_loss, val_accuracy, loss, accuracy).
    for (const char* n : {"ft_val_loss", "ft_val_accuracy", "ft_loss", "ft_accuracy"})
      names.push_back(n);
    return names;
  }();
  return kNames;
}

const std::vector<LabelInputs>& deepfd_label_inputs() {
  static const std::vector<LabelInputs> kInputs = [] {
    const std::map<std::string, LabelInputs> by_column = {
        {"nan_loss", kInputLossNonfinite | kInputLossMagnitude},
        {"unstable_loss", kInputAccOscillation},
        {"increase_loss", kInputLossRises},
        {"test_not_well", kInputFinalTrainMetric | kInputFinalValMetric}};
    const std::map<std::string, LabelInputs> by_name = {
        {"ft_loss_max", kInputLossMagnitude},
        {"ft_val_loss_max", kInputLossMagnitude},
        {"ft_loss_min", kInputLossTrend},
        {"ft_loss", kInputLossNonfinite | kInputLossTrend},
        {"ft_val_loss", kInputLossNonfinite},
        {"ft_accuracy", kInputFinalTrainMetric},
        {"ft_val_accuracy", kInputFinalValMetric | kInputFinalMetric}};
    std::vector<LabelInputs> out;
    for (const auto& c : deepfd_columns())
      for (const char* s : kDeepfdStats) {
        const auto col = by_column.find(c);
        const auto name = by_name.find("ft_" + c + "_" + s);
        out.push_back((col == by_column.end() ? kInputNone : col->second) |
                      (name == by_name.end() ? kInputNone : name->second));
      }
    for (const char* n : {"ft_val_loss", "ft_val_accuracy", "ft_loss", "ft_accuracy"})
      out.push_back(by_name.at(n));
    DYNFAULT_ASSERT(out.size() == deepfd_feature_names().size());
    return out;
  }();
  return kInputs;
}

std::vector<double> deepfd_features(const db::Trace& trace) {
  const CheckTable table = deepfd_checks(trace);
  std::vector<double> out;
  out.reserve(deepfd_feature_names().size());
  std::vector<double> column(table.rows.size());
  for (size_t c = 0; c < table.columns.size(); ++c) {
    for (size_t r = 0; r < table.rows.size(); ++r) column[r] = table.rows[r][c];
    for (double v : column_stats(column).as_array()) out.push_back(v);
  }
  if (table.rows.empty()) {
    out.insert(out.end(), 4, kNaN);
  } else {
    const std::vector<double>& last = table.rows.back();
    for (int c : {kValLoss, kValAcc, kLoss, kAcc}) out.push_back(last[static_cast<size_t>(c)]);
  }
  return out;
}

namespace {

// What each monitor column reads (feature_set.h ColumnInputs). Every check is an epoch of the
// four curves, so every column reads them; the rules' early returns make the gradient flags read
// the non-finite count, the weight flags the weight globals, the loss rules every curve.
ColumnInputs column_inputs(int column) {
  constexpr const char* kLossKey = "epoch/train_loss";
  constexpr const char* kAccKey = "epoch/train_metric";
  constexpr const char* kValLossKey = "epoch/val_loss";
  constexpr const char* kValAccKey = "epoch/val_metric";
  constexpr const char* kChecks =
      "epoch/train_loss|epoch/train_metric|epoch/val_loss|epoch/val_metric";
  constexpr const char* kGradNonfinite = "grad/nonfinite|grad/<p>/nonfinite";
  ColumnInputs in;
  in.reads = {kLossKey, kAccKey, kValLossKey, kValAccKey};
  switch (column) {
    case kNanGradient:
      in.needs = {kChecks, kGradNonfinite};
      break;
    case kVanishGradient:
      in.needs = {kChecks, "grad/first_last_ratio", "grad/first_norm|grad/<p>/norm"};
      in.reads.insert(in.reads.end(), {"grad/nonfinite", "grad/<p>/nonfinite"});
      break;
    case kExplodeGradient:
      in.needs = {kChecks, "grad/first_last_ratio"};
      in.reads.insert(in.reads.end(), {"grad/nonfinite", "grad/<p>/nonfinite"});
      break;
    case kDiedRelu:
      in.needs = {kChecks, "grad/zero_frac|grad/<p>/zero_frac"};
      in.reads.insert(in.reads.end(), {"grad/nonfinite", "grad/<p>/nonfinite"});
      break;
    case kNanWeight:
      in.needs = {kChecks, "weight/nonfinite|weight/max_abs"};
      break;
    case kLargeWeightCol:
      in.needs = {kChecks, "weight/max_abs"};
      in.reads.push_back("weight/nonfinite");
      break;
    case kConsMeanWeight:
    case kConsStdWeight:
      in.needs = {kChecks, column == kConsMeanWeight ? "weight/<p>/mean" : "weight/<p>/std"};
      in.reads.insert(in.reads.end(), {"weight/nonfinite", "weight/max_abs", "weight/<p>/mean"});
      break;
    case kNanLoss:
    case kIncreaseLoss:
      in.needs = {kLossKey};
      break;
    case kTestTurnBad:
      in.needs = {kLossKey, kValLossKey};
      break;
    case kUnstableLoss:
    case kDecreaseAcc:
      in.needs = {kLossKey, kAccKey};
      break;
    case kNanAcc:
      in.needs = {kLossKey, "epoch/train_metric|epoch/val_metric"};
      break;
    case kNotConverge:
    case kTestNotWell:
    case kScAccuracy:
      in.needs = {kLossKey, kAccKey, kValAccKey};
      break;
    case kLoss:
      in.needs = {kLossKey};
      break;
    case kAcc:
      in.needs = {kAccKey};
      break;
    case kValLoss:
      in.needs = {kValLossKey};
      break;
    case kValAcc:
      in.needs = {kValAccKey};
      break;
    default:
      break;
  }
  return in;
}

}  // namespace

std::vector<ColumnInputs> deepfd_feature_inputs() {
  std::vector<ColumnInputs> out;
  for (int c = 0; c < kColumnCount; ++c)
    for (size_t s = 0; s < std::size(kDeepfdStats); ++s) out.push_back(column_inputs(c));
  for (int c : {kValLoss, kValAcc, kLoss, kAcc}) out.push_back(column_inputs(c));
  return out;
}

FeatureSet make_deepfd_feature_set() {
  FeatureSet set("deepfd",
                 "DeepFD/AUTOTRAINER monitor flags per epoch with 8 statistics each, plus the "
                 "last epoch's loss and metric",
                 deepfd_feature_names(), &deepfd_features, deepfd_label_inputs());
  set.declare_inputs(deepfd_feature_inputs());
  return set;
}

DYNFAULT_REGISTER(feature_set_registry(), "deepfd", make_deepfd_feature_set);

}  // namespace dynfault::features
