// Layer fault: DEFault's EFI RNN unit modifier.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the hidden size of recurrent layers (the `index`-th, or all for -1) to `units`. Applies
/// to: layer-list programs with a recurrent layer of another size. Symptom: a tiny state cannot
/// carry the sequence (underfitting, high loss floor); a large one trains slower per step.
class RnnUnitsChange final : public LayerMutator {
 public:
  RnnUnitsChange() : LayerMutator(recurrent_layers()) {}
  std::string id() const override { return "rnn_units_change"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Sets the hidden size of recurrent layers to `units`.";
  }
  std::string symptom() const override {
    return "tiny state: underfitting, high loss floor; large: slower steps";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("units", 2, 1, 256, "the new hidden size"), index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const int64_t units = p.at("units").get<int64_t>();
    return edit_sites(r, p, [&](Layer& l) { return set_field("out", l.out, units); });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected recurrent layers already have " + describe(p.at("units").get<int64_t>()) +
           " units";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "rnn_units_change", std::make_shared<RnnUnitsChange>());
}  // namespace dynfault::mutators
