// Regularisation fault: DeepCrime's RRW (remove_weights_regularisation); TheDeepChecker's
// "missing regularisation" bug.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Removes the L1/L2 weight penalty. Applies to: programs with one. Symptom: overfitting; the
/// train/validation gap grows over the epochs and weight norms grow.
class RegRemove final : public EditMutator {
 public:
  std::string id() const override { return "reg_remove"; }
  std::string category() const override { return "regularisation"; }
  std::string description() const override { return "Removes the L1/L2 weight penalty."; }
  std::string symptom() const override {
    return "overfitting: growing train/validation gap and weight norms";
  }

 protected:
  std::string edit(Recipe& r, const Json&) const override {
    return join_changes({set_field("l1", r.l1, 0.0), set_field("l2", r.l2, 0.0)});
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program has no weight penalty";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "reg_remove", std::make_shared<RegRemove>());
}  // namespace dynfault::mutators
