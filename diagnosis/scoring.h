#pragma once
/// Scores of pooled out-of-fold predictions with clustered bootstrap intervals, paired
/// differences on shared resamples, and verdicts against an equivalence margin.
///
/// Every score of one task is computed on the same resamples: groups (programs by default) are
/// drawn with replacement, each drawn group bringing all its traces with their predictions under
/// every rung, diagnoser and feature set. A difference of two scores (two rungs, two feature
/// sets) is then computed resample by resample, so its interval is that of the paired
/// difference, narrower than the two intervals would suggest when the scores move together.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "diagnosis/metrics.h"

namespace dynfault::diagnosis {

/// A point estimate with its percentile interval (NaN bounds when none was computed).
struct Interval {
  double value = std::numeric_limits<double>::quiet_NaN();
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
};

/// Resamples shared by every score of a task: the group index of every trace and, per
/// resample, how often each group was drawn.
struct BootstrapPlan {
  std::vector<size_t> group_of;  ///< per trace, index into the sorted distinct groups
  size_t groups = 0;
  std::vector<std::vector<int>> weights;  ///< resamples x groups
};

/// The plan for `groups` (one per trace): `resamples` draws of as many groups as there are,
/// with replacement; resample b is a pure function of (the distinct groups, seed, b), the same
/// draws as bootstrap_indices().
BootstrapPlan make_plan(const std::vector<std::string>& groups, uint64_t seed, int64_t resamples);

/// Sample indices of bootstrap resample `b`: groups drawn with replacement (as many draws as
/// groups), each draw contributing all of its samples. A pure function of (groups, seed, b).
std::vector<size_t> bootstrap_indices(const std::vector<std::string>& groups, uint64_t seed,
                                      int64_t b);

/// Percentile (linear interpolation, numpy's default) of the non-NaN values; NaN if none.
double percentile(std::vector<double> values, double q);

/// The scores of one diagnoser on one feature set under one rung.
struct RungScores {
  std::string rung;
  Interval balanced_accuracy;
  Interval macro_f1;
  std::map<std::string, double> recall;  ///< per class present in the labels, mean over seeds
  ConfusionMatrix confusion;             ///< summed over learner seeds
  int64_t n = 0;                         ///< predictions per learner seed
  int64_t folds = 0;
  int64_t learner_seeds = 1;  ///< predictions averaged (1 for a learner that draws nothing)
  /// SD (ddof 1) over learner seeds of the balanced accuracy; NaN for one seed.
  double learner_sd = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> draws;     ///< balanced accuracy per resample (not stored)
  std::vector<double> f1_draws;  ///< macro-F1 per resample (not stored)
};

/// Scores out-of-fold predictions made with one or more learner seeds (`preds[s][i]` for trace
/// i under seed s): every score is the mean over seeds of that score, on the whole set and on
/// each resample of `plan`; the interval is the percentile interval of the resampled means.
RungScores score_predictions(const Labels& y, const std::vector<Labels>& preds,
                             const BootstrapPlan& plan, double confidence);

/// A paired difference a - b on shared resamples.
struct PairedDifference {
  Interval difference;
  double share_positive = std::numeric_limits<double>::quiet_NaN();  ///< resamples with a > b
};

/// a_value - b_value with the percentile interval of a_draws[i] - b_draws[i]. Throws when the
/// draws come from different resamples (different counts).
PairedDifference paired_difference(double a_value, const std::vector<double>& a_draws,
                                   double b_value, const std::vector<double>& b_draws,
                                   double confidence);

/// What an interval of a difference says against a margin m > 0 fixed in advance:
///   equivalent    the whole interval lies within [-m, m]
///   positive      the interval lies above 0 and is not equivalent
///   negative      the interval lies below 0 and is not equivalent
///   inconclusive  anything else (it straddles 0 and reaches beyond the margin)
///   none          no interval was computed
/// A real but smaller-than-margin difference is "equivalent": the margin is the smallest
/// difference that matters.
enum class Verdict { positive, negative, equivalent, inconclusive, none };

Verdict judge(const Interval& difference, double margin);

/// "helps", "hurts", "equivalent", "inconclusive", "-": a paired comparison of feature set a
/// against b (positive = a scores higher).
std::string comparison_word(Verdict v);
/// "loses", "gains", "equivalent", "inconclusive", "-": a rung-to-rung loss (positive = the
/// lower rung scores higher, so the diagnoser loses going up).
std::string loss_word(Verdict v);

}  // namespace dynfault::diagnosis
