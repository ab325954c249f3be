// Layer fault: DEFault's EFI strides operator ((x, x) with x in [1, 5]).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the stride of convolution layers (the `index`-th, or all for -1) to `stride`. Applies
/// to: layer-list programs with a convolution of another stride (stride 0 means 1). A stride
/// that shrinks a feature map below 1 fails at build time (outcome `exception`, see
/// kernel_change). Symptom: large strides skip inputs and shrink feature maps (lost detail,
/// underfitting, faster steps); stride 1 where the program down-sampled gives larger maps.
class StrideChange final : public LayerMutator {
 public:
  StrideChange() : LayerMutator(conv_layers()) {}
  std::string id() const override { return "stride_change"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Sets the stride of convolution layers to `stride`.";
  }
  std::string symptom() const override {
    return "large stride: skipped inputs, small maps, underfitting; may fail to build";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("stride", 2, 1, 5, "the new stride (DEFault: 1..5)"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const int64_t stride = p.at("stride").get<int64_t>();
    return edit_sites(r, p, [&](Layer& l) {
      // Stride 0 is the default 1, so setting 1 there would record a change that is none.
      if ((l.stride == 0 ? 1 : l.stride) == stride) return std::string();
      return set_field("stride", l.stride, stride);
    });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected convolution layers already have stride " +
           describe(p.at("stride").get<int64_t>());
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "stride_change", std::make_shared<StrideChange>());
}  // namespace dynfault::mutators
