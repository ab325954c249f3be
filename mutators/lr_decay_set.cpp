// Learning-rate fault: a schedule that decays the learning rate too fast. A dynfault addition
// (no DeepCrime, DeepFD or DEFault operator changes the schedule); LibTorch 1.13 has StepLR only,
// so the trainer applies the factor itself (prior-work 2.5).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the learning-rate schedule: `exponential` multiplies the rate by `gamma` every epoch,
/// `step` every `step_size` epochs. Applies to: every program whose schedule differs. Symptom:
/// the recorded learning rate falls by orders of magnitude, the loss plateaus early and update
/// norms vanish in later epochs (underfitting with a training curve that stops improving).
class LrDecaySet final : public EditMutator {
 public:
  std::string id() const override { return "lr_decay_set"; }
  std::string category() const override { return "learning_rate"; }
  std::string description() const override {
    return "Makes the learning rate decay by `gamma` every epoch (or every `step_size` epochs).";
  }
  std::string symptom() const override {
    return "learning rate falls by orders of magnitude, early loss plateau, vanishing updates";
  }
  std::vector<ParamSpec> params() const override {
    return {choice_param("schedule", "exponential", {"exponential", "step"},
                         "exponential: every epoch; step: every `step_size` epochs"),
            number_param("gamma", 0.1, 1e-6, 1.0, "factor applied at each decay"),
            integer_param("step_size", 1, 1, 1000, "epochs between decays (schedule step)")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const auto schedule = p.at("schedule").get<std::string>();
    std::vector<std::string> parts = {
        set_field("schedule.name", r.schedule.name, schedule),
        set_field("schedule.gamma", r.schedule.gamma, p.at("gamma").get<double>())};
    // An exponential schedule ignores step_size, so changing it would record a non-change.
    if (schedule == "step")
      parts.push_back(
          set_field("schedule.step_size", r.schedule.step_size, p.at("step_size").get<int64_t>()));
    return join_changes(parts);
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return "the schedule is already " + r.schedule.name + " with gamma " +
           describe(r.schedule.gamma);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "lr_decay_set", std::make_shared<LrDecaySet>());
}  // namespace dynfault::mutators
