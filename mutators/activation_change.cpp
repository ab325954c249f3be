// Activation fault: DeepCrime's ACH (hidden layers) and DeepFD's `act` seeder (last layer only).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Changes activation functions. `where: hidden` replaces every hidden activation layer (before
/// the output layer, or inside a residual body) by `to`; `where: last` sets the output activation
/// (replacing a final activation layer, or appending one after the output layer, as DeepFD swaps
/// the last Keras activation). Applies to: layer-list programs with a hidden activation other
/// than `to` (hidden), or whose output activation differs (last). Symptom: dead units (relu),
/// saturation and vanishing gradients (sigmoid/tanh), an output that cannot reach the targets
/// (last layer). Source: DeepCrime ACH (11 Keras activations), DeepFD `act`.
class ActivationChange final : public EditMutator {
 public:
  std::string id() const override { return "activation_change"; }
  std::string category() const override { return "activation"; }
  std::string description() const override {
    return "Replaces the hidden activations, or the output activation, by `to`.";
  }
  std::string symptom() const override {
    return "dead units, saturation, vanishing gradients, outputs that cannot fit the targets";
  }
  std::vector<ParamSpec> params() const override {
    return {choice_param("to", "sigmoid", activation_names(), "the new activation"),
            choice_param("where", "hidden", {"hidden", "last"},
                         "hidden activation layers, or the output activation")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    return layer_list_reason(r);
  }
  std::string edit(Recipe& r, const Json& p) const override {
    const auto to = p.at("to").get<std::string>();
    if (p.at("where") == "hidden")
      return edit_layers(r.layers, find_layers(r.layers, is_hidden_act),
                         [&](Layer& l) { return set_field("act", l.act, to); });
    if (!r.layers.empty() && r.layers.back().type == "act")
      return set_field("output activation", r.layers.back().act, to);
    r.layers.push_back(programs::Act(to));
    return "output activation: none -> " + to;
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    const auto to = p.at("to").get<std::string>();
    if (p.at("where") == "hidden") return "the program has no hidden activation other than " + to;
    return "the output activation is already " + to;
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "activation_change", std::make_shared<ActivationChange>());
}  // namespace dynfault::mutators
