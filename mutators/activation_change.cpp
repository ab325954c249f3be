// Activation fault: DeepCrime's ACH (hidden layers) and DeepFD's `act` seeder (last layer only).
#include "mutators/mutator.h"

namespace dynfault::mutators {
namespace {

using programs::Layer;

/// Counts hidden activation layers that differ from `to` (replacing them when `apply`),
/// descending into residual bodies. Output softmax layers are not hidden activations.
int replace_hidden(std::vector<Layer>& layers, const std::string& to, bool apply) {
  int n = 0;
  for (auto& l : layers) {
    if (l.type == "act" && l.act != "softmax" && l.act != "log_softmax") {
      if (l.act != to) {
        ++n;
        if (apply) l.act = to;
      }
    } else if (l.type == "residual") {
      n += replace_hidden(l.body, to, apply);
    }
  }
  return n;
}

/// Changes activation functions. `where: hidden` replaces every hidden activation layer by `to`;
/// `where: last` sets the output activation (replacing a final activation layer, or appending one
/// after the output layer, as DeepFD swaps the last Keras activation). Applies to: programs with a
/// hidden activation different from `to` (hidden), or whose output activation differs (last).
/// Symptom: dead units (relu), saturation and vanishing gradients (sigmoid/tanh), an output that
/// cannot reach the targets (last layer).
class ActivationChange final : public Mutator {
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
    ParamSpec to;
    to.name = "to";
    to.type = ParamSpec::Type::kString;
    to.default_value = "sigmoid";
    to.choices = {"elu",     "exponential", "gelu",    "hard_sigmoid", "leaky_relu",
                  "linear",  "relu",        "selu",    "sigmoid",      "softmax",
                  "softplus", "softsign",   "tanh"};
    to.doc = "the new activation";
    ParamSpec where;
    where.name = "where";
    where.type = ParamSpec::Type::kString;
    where.default_value = "hidden";
    where.choices = {"hidden", "last"};
    where.doc = "hidden activation layers, or the output activation";
    return {to, where};
  }
  std::string not_applicable(const Recipe& r, const Json& p) const override {
    const auto to = p.at("to").get<std::string>();
    if (r.builder != "sequential") return "the program's model is not a layer list";
    if (p.at("where") == "hidden") {
      auto layers = r.layers;
      if (replace_hidden(layers, to, /*apply=*/false) == 0)
        return "the program has no hidden activation other than " + to;
      return "";
    }
    if (!r.layers.empty() && r.layers.back().type == "act" && r.layers.back().act == to)
      return "the output activation is already " + to;
    return "";
  }
  Recipe mutate(Recipe r, const Json& p) const override {
    const auto to = p.at("to").get<std::string>();
    std::string change;
    if (p.at("where") == "hidden") {
      const int n = replace_hidden(r.layers, to, /*apply=*/true);
      change = std::to_string(n) + " hidden activation layer(s) -> " + to;
    } else if (!r.layers.empty() && r.layers.back().type == "act") {
      change = "output activation: " + r.layers.back().act + " -> " + to;
      r.layers.back().act = to;
    } else {
      change = "output activation: none -> " + to;
      r.layers.push_back(programs::Act(to));
    }
    record_fault(r, *this, p, change);
    return r;
  }
};

}  // namespace
DYNFAULT_REGISTER_MUTATOR(ActivationChange);
}  // namespace dynfault::mutators
