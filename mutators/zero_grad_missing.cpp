// Training-loop fault: a missing optimizer.zero_grad(), the PyTorch-specific loop bug.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Stops zeroing gradients between steps, so they accumulate over the whole training. Applies
/// to: every program that zeroes gradients. Symptom: gradient norms grow step after step, the
/// effective learning rate rises with them, and the loss oscillates and diverges (NaN).
class ZeroGradMissing final : public EditMutator {
 public:
  std::string id() const override { return "zero_grad_missing"; }
  std::string category() const override { return "training_loop"; }
  std::string description() const override {
    return "Never zeroes the gradients, so they accumulate across steps.";
  }
  std::string symptom() const override {
    return "steadily growing gradient norms, oscillating then diverging loss";
  }

 protected:
  std::string edit(Recipe& r, const Json&) const override {
    return set_field("loop.zero_grad", r.loop.zero_grad, false);
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program already never zeroes its gradients";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "zero_grad_missing", std::make_shared<ZeroGradMissing>());
}  // namespace dynfault::mutators
