// Regularisation fault: DeepCrime's RAW (add_weights_regularisation, {l1, l2, l1_l2}).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Adds an L1, L2 or L1+L2 penalty of `strength` on every weight to a program that has none.
/// Applies to: programs without an L1/L2 penalty (optimizer weight decay is separate, see
/// weight_decay_set). Symptom: a strong penalty shrinks weight norms, training loss stays high
/// and accuracy low (underfitting); L1 drives many weights to exactly zero.
class RegAdd final : public EditMutator {
 public:
  std::string id() const override { return "reg_add"; }
  std::string category() const override { return "regularisation"; }
  std::string description() const override {
    return "Adds an L1, L2 or L1+L2 weight penalty of `strength`.";
  }
  std::string symptom() const override {
    return "shrinking weight norms, high training loss, underfitting; L1: many zero weights";
  }
  std::vector<ParamSpec> params() const override { return weight_penalty_params(); }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    if (r.l1 > 0 || r.l2 > 0)
      return "the program already has a weight penalty (" + describe_weight_penalty(r) +
             "); reg_change changes it";
    return "";
  }
  std::string edit(Recipe& r, const Json& p) const override { return set_weight_penalty(r, p); }
  std::string no_op(const Recipe&, const Json&) const override {
    return "a zero-strength penalty adds nothing";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "reg_add", std::make_shared<RegAdd>());
}  // namespace dynfault::mutators
