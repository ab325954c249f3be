// Optimizer fault: DeepCrime's OCG (change_gradient_clip) with the clipping taken out.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Turns gradient clipping off (norm and value). Applies to: programs that clip gradients.
/// Symptom: exploding gradients, loss spikes and NaN, above all in recurrent programs that
/// clipped for that reason.
class GradClipRemove final : public EditMutator {
 public:
  std::string id() const override { return "grad_clip_remove"; }
  std::string category() const override { return "optimizer"; }
  std::string description() const override { return "Removes gradient clipping."; }
  std::string symptom() const override {
    return "exploding gradients, loss spikes, NaN loss (recurrent programs above all)";
  }

 protected:
  std::string edit(Recipe& r, const Json&) const override {
    return join_changes(
        {set_field("clip_norm", r.clip_norm, 0.0), set_field("clip_value", r.clip_value, 0.0)});
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program clips no gradients";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "grad_clip_remove", std::make_shared<GradClipRemove>());
}  // namespace dynfault::mutators
