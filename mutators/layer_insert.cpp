// Layer fault: DEFault's EFI "add layer" operator (a Dense layer of [32, 128] units, step 16).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

bool is_top_linear(const std::vector<Layer>& list, size_t i, bool top) {
  return top && list[i].type == "linear";
}

/// Inserts a linear layer of `units` units and activation `act` before a linear layer of the
/// top-level list: the `before`-th one (0-based), or the output layer for -1. Applies to:
/// layer-list programs with that linear layer. Symptom: a deeper model; with a narrow layer, an
/// information bottleneck (underfitting); with saturating activations, vanishing gradients in
/// the layers below; otherwise slower training and easier overfitting.
class LayerInsert final : public EditMutator {
 public:
  std::string id() const override { return "layer_insert"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Inserts a linear layer of `units` units with activation `act`.";
  }
  std::string symptom() const override {
    return "bottleneck underfitting (narrow), vanishing gradients (saturating act), slower steps";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("units", 64, 1, 1024, "width of the new layer (DEFault: 32..128)"),
            choice_param("act", "relu", activation_names(), "activation after the new layer"),
            integer_param("before", -1, -1, 1000,
                          "insert before the k-th linear layer of the top-level list, 0-based; "
                          "-1 = before the output layer")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json& p) const override {
    const int64_t before = p.at("before").get<int64_t>();
    if (before >= 0) return selection_reason(r, is_top_linear, before, "linear layer", true);
    if (std::string why = layer_list_reason(r); !why.empty()) return why;
    const size_t out = output_index(r.layers);
    if (out == r.layers.size() || r.layers[out].type != "linear")
      return "the program's output layer is not a linear layer";
    return "";
  }
  std::string edit(Recipe& r, const Json& p) const override {
    const int64_t before = p.at("before").get<int64_t>();
    const size_t at =
        before < 0 ? output_index(r.layers) : selected(r, is_top_linear, before, true).at(0)[0];
    const Layer linear = programs::Linear(p.at("units").get<int64_t>());
    const Layer act = programs::Act(p.at("act").get<std::string>());
    const std::string change = "inserted " + describe(linear) + ", " + describe(act) + " before " +
                               path_name({at}) + " " + describe(r.layers[at]);
    r.layers.insert(r.layers.begin() + static_cast<std::ptrdiff_t>(at), {linear, act});
    return change;
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program has no linear layer to insert before";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "layer_insert", std::make_shared<LayerInsert>());
}  // namespace dynfault::mutators
