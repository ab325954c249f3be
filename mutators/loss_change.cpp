// Loss fault: DeepCrime's LCH and DeepFD's `loss` seeder (swap within or across the
// probabilistic and regression families).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Replaces the loss function by `to`. Classification programs accept every loss (a regression
/// loss is applied to one-hot targets, DeepFD's cross-family swap); regression programs accept only
/// regression losses, since a classification loss needs class targets. Symptom: accuracy stalls
/// or falls, loss scale changes, gradients shrink (MSE on logits) or saturate. Source: DeepCrime
/// LCH (13 Keras losses), DeepFD `loss`.
class LossChange final : public EditMutator {
 public:
  std::string id() const override { return "loss_change"; }
  std::string category() const override { return "loss"; }
  std::string description() const override { return "Replaces the loss function by `to`."; }
  std::string symptom() const override {
    return "stalled or falling accuracy, changed loss scale, small or saturated gradients";
  }
  std::vector<ParamSpec> params() const override {
    return {choice_param(
        "to", "mse",
        {"bce", "bce_logits", "categorical_hinge", "cross_entropy", "hinge", "huber", "kld",
         "logcosh", "mae", "mape", "mse", "msle", "nll", "poisson", "smooth_l1", "squared_hinge"},
        "the new loss")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json& p) const override {
    const auto to = p.at("to").get<std::string>();
    if (r.task == "regression" && !programs::is_regression_loss(to))
      return "'" + to + "' needs class targets but '" + r.program + "' is a regression task";
    return "";
  }
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("loss", r.loss, p.at("to").get<std::string>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return "the program already uses " + r.loss;
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "loss_change", std::make_shared<LossChange>());
}  // namespace dynfault::mutators
