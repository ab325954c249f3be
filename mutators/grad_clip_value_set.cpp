// Optimizer fault: DeepCrime's OCG (change_gradient_clip), clipvalue variant.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Clips every gradient element to [-max_value, max_value] (adding clipping when the program has
/// none). Applies to: every program whose clip value differs. Symptom: a tiny bound turns each
/// update into a sign step of size lr * max_value (slow, noisy convergence; max |g| pinned at the
/// bound); a loose bound lets exploding gradients through.
class GradClipValueSet final : public EditMutator {
 public:
  std::string id() const override { return "grad_clip_value_set"; }
  std::string category() const override { return "optimizer"; }
  std::string description() const override {
    return "Clips every gradient element to [-`max_value`, `max_value`].";
  }
  std::string symptom() const override {
    return "tiny bound: sign-like updates, slow and noisy convergence";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("max_value", 1e-4, 1e-12, 1e6, "the new clip value")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("clip_value", r.clip_value, p.at("max_value").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the gradient clip value", r.clip_value);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "grad_clip_value_set", std::make_shared<GradClipValueSet>());
}  // namespace dynfault::mutators
