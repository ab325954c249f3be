// Optimizer fault: DeepCrime's OCG (change_gradient_clip), clipnorm variant.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Clips the global gradient norm at `max_norm` (adding clipping when the program has none).
/// Applies to: every program whose clip norm differs. Symptom: a tiny threshold caps every
/// update, so gradient norms before clipping stay large while the loss decreases very slowly;
/// a loose threshold lets exploding gradients through.
class GradClipNormSet final : public EditMutator {
 public:
  std::string id() const override { return "grad_clip_norm_set"; }
  std::string category() const override { return "optimizer"; }
  std::string description() const override { return "Clips the gradient norm at `max_norm`."; }
  std::string symptom() const override {
    return "tiny threshold: capped updates, slowly falling loss despite large gradients";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("max_norm", 1e-3, 1e-12, 1e6, "the new clip norm")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("clip_norm", r.clip_norm, p.at("max_norm").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the gradient clip norm", r.clip_norm);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "grad_clip_norm_set", std::make_shared<GradClipNormSet>());
}  // namespace dynfault::mutators
