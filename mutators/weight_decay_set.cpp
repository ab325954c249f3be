// Regularisation fault: TheDeepChecker's "excessive" and "missing" regularisation bugs, applied
// to the optimizer's weight decay (how PyTorch programs regularise).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the optimizer's weight decay to `decay` (0 removes it). Applies to: every program whose
/// weight decay differs. Symptom: a large decay pulls weights to zero every step (shrinking
/// weight norms, high training loss, underfitting); removing it can let the program overfit.
class WeightDecaySet final : public EditMutator {
 public:
  std::string id() const override { return "weight_decay_set"; }
  std::string category() const override { return "regularisation"; }
  std::string description() const override {
    return "Sets the optimizer's weight decay to `decay`.";
  }
  std::string symptom() const override {
    return "large: shrinking weight norms, high training loss; zero: overfitting";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("decay", 0.1, 0.0, 10.0, "the new weight decay (0 = none)")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("optimizer.weight_decay", r.optimizer.weight_decay,
                     p.at("decay").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the weight decay", r.optimizer.weight_decay);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "weight_decay_set", std::make_shared<WeightDecaySet>());
}  // namespace dynfault::mutators
