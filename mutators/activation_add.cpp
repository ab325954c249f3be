// Activation fault: DeepCrime's AAL (add_activation_function to a layer with a linear one).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// True for a hidden linear or convolution layer that no activation follows (batch norm and
/// dropout may sit in between: conv-BN-ReLU has its activation).
bool lacks_activation(const std::vector<Layer>& list, size_t i, bool top) {
  if (!(is_hidden_linear(list, i, top) || is_hidden_conv(list, i, top))) return false;
  size_t j = i + 1;
  while (j < list.size() && (list[j].type == "batchnorm" || list[j].type == "dropout")) ++j;
  return j >= list.size() || list[j].type != "act";
}

/// Inserts activation `act` right after hidden linear/conv layers that have none (the
/// `index`-th of them, or all for -1). Applies to: layer-list programs with such a layer, e.g.
/// after activation_remove or in a residual body's last convolution. Symptom: with relu, dead
/// units and a lost negative range; with sigmoid/tanh, saturation and vanishing gradients;
/// with softmax, hidden features squeezed onto a simplex (slow, poor training).
class ActivationAdd final : public LayerMutator {
 public:
  ActivationAdd()
      : LayerMutator({"hidden linear/conv layer without an activation", lacks_activation}) {}
  std::string id() const override { return "activation_add"; }
  std::string category() const override { return "activation"; }
  std::string description() const override {
    return "Adds activation `act` after hidden linear/conv layers that have none.";
  }
  std::string symptom() const override {
    return "dead units (relu), saturation and vanishing gradients (sigmoid/tanh)";
  }
  std::vector<ParamSpec> params() const override {
    return {choice_param("act", "relu", activation_names(), "the activation to add"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return insert_after(r.layers, sites(r, p), programs::Act(p.at("act").get<std::string>()));
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "every hidden linear/conv layer already has an activation";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "activation_add", std::make_shared<ActivationAdd>());
}  // namespace dynfault::mutators
