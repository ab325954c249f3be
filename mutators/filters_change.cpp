// Layer fault: DEFault's EFI filter-count operator ([1, 32] filters).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the number of output channels of hidden convolution layers (the `index`-th, or all for
/// -1) to `filters`; shape inference re-sizes the next layer. Applies to: layer-list programs
/// with a hidden convolution of another width. Symptom: one or two filters starve the network of
/// features (underfitting, high loss floor); many filters train slower.
class FiltersChange final : public LayerMutator {
 public:
  FiltersChange() : LayerMutator(hidden_conv_layers()) {}
  std::string id() const override { return "filters_change"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Sets the number of filters of hidden convolution layers to `filters`.";
  }
  std::string symptom() const override {
    return "few filters: too few features, underfitting, high loss floor";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("filters", 2, 1, 32, "the new channel count (DEFault: 1..32)"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const int64_t filters = p.at("filters").get<int64_t>();
    return edit_sites(r, p, [&](Layer& l) { return set_field("out", l.out, filters); });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected convolution layers already have " +
           describe(p.at("filters").get<int64_t>()) + " filters";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "filters_change", std::make_shared<FiltersChange>());
}  // namespace dynfault::mutators
