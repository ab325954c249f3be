#pragma once
/// What each label rule reads, and which features restate it.
///
/// A label task is a rule over a few quantities of a run (the outcome, the loss series, the final
/// metrics, the injected fault). A feature that *is* one of those quantities, or the rule's own
/// test, restates the label: a diagnoser fed it is scored against a near-oracle, and any signal
/// added to the set competes with the label itself. So each task declares the inputs its rule
/// reads (task_label_inputs), each feature set declares which of its columns are such inputs
/// (FeatureSet::label_inputs), and the evaluation drops, per task, the columns whose inputs meet
/// the task's (unless asked to keep them) and says which.
///
/// What counts as a restatement: a quantity the rule compares (a final value, an extreme value of
/// the series the rule bounds, the outcome, the epochs run, which an early stop sets) or a test
/// that is the rule or one of its counts (DeepFD's `unstable_loss` is AUTOTRAINER's oscillation
/// rule; `test_not_well` is the mismatch rule at every check). Other statistics of the same
/// series (means, medians, late slopes, spreads) are kept: they describe the run, not the rule.
#include <cstdint>
#include <string>
#include <vector>

namespace dynfault::features {

/// One quantity a label rule reads; a bit of LabelInputs.
enum LabelInput : uint32_t {
  kInputNone = 0,
  kInputOutcome = 1u << 0,           ///< how training ended (completed, nan_loss, diverged, ...)
  kInputLossNonfinite = 1u << 1,     ///< a NaN/Inf in the step loss or the epoch train/val loss
  kInputLossMagnitude = 1u << 2,     ///< the largest |loss| (the huge-loss rule)
  kInputLossTrend = 1u << 3,         ///< final epoch train loss against its first and its minimum
  kInputLossRises = 1u << 4,         ///< epoch-to-epoch rises of the train loss
  kInputAccOscillation = 1u << 5,    ///< AUTOTRAINER's max/min pairs of the train metric
  kInputFinalTrainMetric = 1u << 6,  ///< train metric at the end of training
  kInputFinalValMetric = 1u << 7,    ///< validation metric at the end of training
  kInputFinalMetric = 1u << 8,       ///< the run's final metric (test, else last validation)
  kInputInjectedFault = 1u << 9,     ///< the injected fault itself (faults_json)
};

/// A set of LabelInput bits.
using LabelInputs = uint32_t;

/// Stable names of the bits of `inputs`, in bit order ("outcome", "loss_nonfinite",
/// "loss_magnitude", "loss_trend", "loss_rises", "accuracy_oscillation", "final_train_metric",
/// "final_val_metric", "final_metric", "injected_fault").
std::vector<std::string> label_input_names(LabelInputs inputs);

/// What the rule of `task` reads: fault_type/<taxonomy> and detection read the injected fault;
/// instability reads the outcome, the loss series (non-finite values, magnitude, trend, rises)
/// and the train metric's oscillation; mismatch the final train and validation metrics;
/// effective (the killing test) the final metric and the outcome (a diverged run counts at
/// chance). Any other task: kInputNone (nothing is known to restate it).
LabelInputs task_label_inputs(const std::string& task);

}  // namespace dynfault::features
