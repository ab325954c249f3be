// Weights fault: DeepCrime's WAB (add_bias), per layer or all at once.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Gives linear and convolution layers a bias (the `index`-th such layer, or all for -1).
/// Applies to: layer-list programs where a selected layer has no bias, e.g. a convolution that
/// batch norm follows. Symptom: usually mild; before batch norm the bias is redundant (its
/// gradient is ~0), elsewhere it adds free offsets that can slow convergence.
class BiasAdd final : public LayerMutator {
 public:
  BiasAdd() : LayerMutator(linear_or_conv_layers()) {}
  std::string id() const override { return "bias_add"; }
  std::string category() const override { return "weights"; }
  std::string description() const override {
    return "Adds a bias to linear and convolution layers that have none.";
  }
  std::string symptom() const override {
    return "mild: redundant biases with near-zero gradients before batch norm";
  }
  std::vector<ParamSpec> params() const override { return {index_param(kind().what)}; }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return edit_sites(r, p, [](Layer& l) { return set_field("bias", l.bias, true); });
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the selected linear/conv layers already have a bias";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "bias_add", std::make_shared<BiasAdd>());
}  // namespace dynfault::mutators
