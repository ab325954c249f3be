// Regularisation fault: DeepCrime's RCW (change_weights_regularisation, {l1, l2, l1_l2}).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Replaces a program's L1/L2 penalty by `kind` at `strength` (the other kind is turned off).
/// Applies to: programs with an L1/L2 penalty that differs from the new one. Symptom: a larger
/// penalty underfits (shrinking weight norms, high training loss); a smaller one lets the
/// program overfit (train/validation gap grows).
class RegChange final : public EditMutator {
 public:
  std::string id() const override { return "reg_change"; }
  std::string category() const override { return "regularisation"; }
  std::string description() const override {
    return "Changes the weight penalty to `kind` at `strength`.";
  }
  std::string symptom() const override {
    return "stronger: underfitting, shrinking weights; weaker: growing train/validation gap";
  }
  std::vector<ParamSpec> params() const override { return weight_penalty_params(); }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    if (!(r.l1 > 0 || r.l2 > 0)) return "the program has no weight penalty; reg_add adds one";
    return "";
  }
  std::string edit(Recipe& r, const Json& p) const override { return set_weight_penalty(r, p); }
  std::string no_op(const Recipe& r, const Json&) const override {
    return "the weight penalty is already " + describe_weight_penalty(r);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "reg_change", std::make_shared<RegChange>());
}  // namespace dynfault::mutators
