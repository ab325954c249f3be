// Training-loop fault: TheDeepChecker's "flipped sign" optimisation bug.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Flips the sign of the loss the optimizer minimises, so it ascends the true loss. Applies to:
/// every program that does not already flip it. Symptom: the recorded loss rises from the first
/// steps, accuracy falls below chance, and weight norms and logits grow until the run diverges.
class LossSignFlip final : public EditMutator {
 public:
  std::string id() const override { return "loss_sign_flip"; }
  std::string category() const override { return "training_loop"; }
  std::string description() const override {
    return "Makes the optimizer ascend the loss instead of descending it.";
  }
  std::string symptom() const override {
    return "loss rising from the first steps, accuracy below chance, divergence";
  }

 protected:
  std::string edit(Recipe& r, const Json&) const override {
    return set_field("loop.loss_sign_flip", r.loop.loss_sign_flip, true);
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program already ascends its loss";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "loss_sign_flip", std::make_shared<LossSignFlip>());
}  // namespace dynfault::mutators
