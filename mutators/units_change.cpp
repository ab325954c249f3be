// Layer fault: DEFault's EFI neuron-count operator ([1, 256] units).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the width of hidden linear layers (the `index`-th, or all for -1) to `units`; shape
/// inference re-sizes the next layer. Applies to: layer-list programs with a hidden linear layer
/// of another width. Symptom: a few units form a bottleneck (underfitting, high loss floor, many
/// dead units with relu); many units train slower and overfit more easily.
class UnitsChange final : public LayerMutator {
 public:
  UnitsChange() : LayerMutator(hidden_linear_layers()) {}
  std::string id() const override { return "units_change"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Sets the number of units of hidden linear layers to `units`.";
  }
  std::string symptom() const override {
    return "few units: bottleneck underfitting, high loss floor; many: slower, overfitting";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("units", 2, 1, 256, "the new width (DEFault: 1..256)"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const int64_t units = p.at("units").get<int64_t>();
    return edit_sites(r, p, [&](Layer& l) { return set_field("out", l.out, units); });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected hidden linear layers already have " +
           describe(p.at("units").get<int64_t>()) + " units";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "units_change", std::make_shared<UnitsChange>());
}  // namespace dynfault::mutators
