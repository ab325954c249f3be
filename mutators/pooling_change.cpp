// Layer fault: DEFault's EFI pooling-size operator ((x, x) with x in [1, 5]).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the window of pooling layers (the `index`-th, or all for -1) to `size`. A stride equal
/// to the old window follows the new one, as Keras' pool_size does with strides=None; another
/// stride (and stride 0, "= kernel") is kept. Applies to: layer-list programs with a max or
/// average pooling layer of another size. Feature maps smaller than the window fail at build time
/// (outcome `exception`, see kernel_change). Symptom: size 1 keeps full-size maps (a much larger
/// dense layer, slower steps, overfitting); large windows discard spatial detail (underfitting).
class PoolingChange final : public LayerMutator {
 public:
  PoolingChange() : LayerMutator(pooling_layers()) {}
  std::string id() const override { return "pooling_change"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Sets the window size of pooling layers to `size`.";
  }
  std::string symptom() const override {
    return "size 1: no down-sampling, larger dense layers, overfitting; large: lost detail, "
           "underfitting; may fail to build";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("size", 3, 1, 5, "the new window (DEFault: 1..5)"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const int64_t size = p.at("size").get<int64_t>();
    return edit_sites(r, p, [&](Layer& l) {
      const std::string stride = l.stride == l.kernel ? set_field("stride", l.stride, size) : "";
      return join_changes({set_field("kernel", l.kernel, size), stride});
    });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected pooling layers already have size " + describe(p.at("size").get<int64_t>());
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "pooling_change", std::make_shared<PoolingChange>());
}  // namespace dynfault::mutators
