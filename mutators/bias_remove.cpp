// Weights fault: DeepCrime's WRB (remove_bias), per layer or all at once.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Removes the bias of linear and convolution layers (the `index`-th such layer, or all for -1).
/// Applies to: layer-list programs where a selected layer has a bias. Symptom: every unit's
/// decision boundary passes through the origin, so data that are not centred underfit; with
/// relu, more dead units. Usually a mild fault.
class BiasRemove final : public LayerMutator {
 public:
  BiasRemove() : LayerMutator(linear_or_conv_layers()) {}
  std::string id() const override { return "bias_remove"; }
  std::string category() const override { return "weights"; }
  std::string description() const override {
    return "Removes the bias of linear and convolution layers.";
  }
  std::string symptom() const override {
    return "boundaries through the origin: underfitting on uncentred data, more dead units";
  }
  std::vector<ParamSpec> params() const override { return {index_param(kind().what)}; }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return edit_sites(r, p, [](Layer& l) { return set_field("bias", l.bias, false); });
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the selected linear/conv layers have no bias";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "bias_remove", std::make_shared<BiasRemove>());
}  // namespace dynfault::mutators
