// Layer fault: DEFault's EFI kernel-size operator ((x, x) with x in [1, 7]).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the kernel size of convolution layers (the `index`-th, or all for -1) to `kernel`.
/// Applies to: layer-list programs with a convolution of another kernel size. The input shape is
/// in the data, not the Recipe, so this check cannot see a spatial size that collapses below 1:
/// such a mutant fails at model build time and is recorded with outcome `exception` (data, not a
/// crash). Symptom: 1x1 kernels see no spatial context (underfitting on images); large kernels
/// shrink feature maps and train slower.
class KernelChange final : public LayerMutator {
 public:
  KernelChange() : LayerMutator(conv_layers()) {}
  std::string id() const override { return "kernel_change"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Sets the kernel size of convolution layers to `kernel`.";
  }
  std::string symptom() const override {
    return "1x1: no spatial context, underfitting; large: small feature maps, slower steps; may "
           "fail to build (outcome exception)";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("kernel", 1, 1, 7, "the new kernel size (DEFault: 1..7)"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const int64_t kernel = p.at("kernel").get<int64_t>();
    return edit_sites(r, p, [&](Layer& l) { return set_field("kernel", l.kernel, kernel); });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected convolution layers already have kernel " +
           describe(p.at("kernel").get<int64_t>());
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "kernel_change", std::make_shared<KernelChange>());
}  // namespace dynfault::mutators
