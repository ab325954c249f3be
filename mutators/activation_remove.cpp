// Activation fault: DeepCrime's ARM (remove_activation_function), per layer or all at once.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Removes hidden activation layers (the `index`-th, or all for -1), leaving a residual block's
/// own post-sum activation in place. Removing all of them makes a plain MLP a linear model.
/// Applies to: layer-list programs with a hidden activation. Symptom: underfitting; the loss
/// plateaus at what a linear model reaches, activations are never dead or saturated, and without
/// the nonlinearity consecutive layers collapse to one linear map.
class ActivationRemove final : public LayerMutator {
 public:
  ActivationRemove() : LayerMutator(hidden_act_layers()) {}
  std::string id() const override { return "activation_remove"; }
  std::string category() const override { return "activation"; }
  std::string description() const override {
    return "Removes hidden activation layers, turning their layers into linear maps.";
  }
  std::string symptom() const override {
    return "underfitting: loss plateaus at a linear model's level, no dead or saturated units";
  }
  std::vector<ParamSpec> params() const override { return {index_param(kind().what)}; }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return remove_layers(r.layers, sites(r, p));
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program has no hidden activation layer";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "activation_remove", std::make_shared<ActivationRemove>());
}  // namespace dynfault::mutators
