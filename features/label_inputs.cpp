#include "features/label_inputs.h"

#include "features/labels.h"

namespace dynfault::features {
namespace {

struct Named {
  LabelInput bit;
  const char* name;
};
constexpr Named kNames[] = {{kInputOutcome, "outcome"},
                            {kInputLossNonfinite, "loss_nonfinite"},
                            {kInputLossMagnitude, "loss_magnitude"},
                            {kInputLossTrend, "loss_trend"},
                            {kInputLossRises, "loss_rises"},
                            {kInputAccOscillation, "accuracy_oscillation"},
                            {kInputFinalTrainMetric, "final_train_metric"},
                            {kInputFinalValMetric, "final_val_metric"},
                            {kInputFinalMetric, "final_metric"},
                            {kInputInjectedFault, "injected_fault"}};

}  // namespace

std::vector<std::string> label_input_names(LabelInputs inputs) {
  std::vector<std::string> out;
  for (const auto& n : kNames)
    if (inputs & n.bit) out.emplace_back(n.name);
  return out;
}

LabelInputs task_label_inputs(const std::string& task) {
  // Each line mirrors the rule in labels.cpp: what instability_label, mismatch_label,
  // killing_input and fault_type_label / detection_label read.
  // A task at a horizon reads what its task reads; instability_ahead is instability's rule
  // applied to the run and to its prefix.
  if (const size_t at = task.find('@'); at != std::string::npos)
    return task_label_inputs(task.substr(0, at));
  if (task == kTaskInstability || task == kTaskInstabilityAhead)
    return kInputOutcome | kInputLossNonfinite | kInputLossMagnitude | kInputLossTrend |
           kInputLossRises | kInputAccOscillation;
  if (task == kTaskMismatch) return kInputFinalTrainMetric | kInputFinalValMetric;
  if (task == kTaskEffective) return kInputFinalMetric | kInputOutcome;
  if (task == kTaskDetection || task.rfind(fault_type_task(""), 0) == 0) return kInputInjectedFault;
  return kInputNone;
}

}  // namespace dynfault::features
