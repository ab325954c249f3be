// Layer fault: DEFault's EFI padding operator ({valid, same, causal}); causal padding has no
// symmetric-padding equivalent in the Recipe, so `full` takes its place.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// The padding that `mode` gives a kernel: valid 0, same (kernel - 1) / 2 (exact for odd kernels
/// at stride 1), full kernel - 1.
int64_t padding_for(const std::string& mode, int64_t kernel) {
  if (mode == "valid") return 0;
  if (mode == "same") return (kernel - 1) / 2;
  return kernel - 1;
}

/// Sets the padding of convolution layers (the `index`-th, or all for -1) to `valid`, `same` or
/// `full`, computed from each layer's kernel. Applies to: layer-list programs with a convolution
/// whose padding differs. `valid` may shrink maps below 1 (outcome `exception` at build time).
/// Symptom: valid loses border information and shrinks the maps layer by layer; full adds
/// border artefacts and larger maps. Often mild.
class PaddingChange final : public LayerMutator {
 public:
  PaddingChange() : LayerMutator(conv_layers()) {}
  std::string id() const override { return "padding_change"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Sets the padding of convolution layers to `valid`, `same` or `full`.";
  }
  std::string symptom() const override {
    return "mild: lost borders and shrinking maps (valid), border artefacts (full)";
  }
  std::vector<ParamSpec> params() const override {
    return {choice_param("to", "valid", {"full", "same", "valid"},
                         "valid: 0; same: (kernel - 1) / 2; full: kernel - 1"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const auto mode = p.at("to").get<std::string>();
    return edit_sites(r, p, [&](Layer& l) {
      return set_field("padding", l.padding, padding_for(mode, l.kernel));
    });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected convolution layers already have " + p.at("to").get<std::string>() +
           " padding";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "padding_change", std::make_shared<PaddingChange>());
}  // namespace dynfault::mutators
