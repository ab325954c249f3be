// Layer fault: DEFault's EFI "remove layer" operator.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// True for a top-level hidden layer whose removal keeps the model buildable: shape inference
/// re-sizes whatever follows a linear, convolution, pooling, dropout, batch-norm or residual
/// layer, but not a flatten, an embedding or a recurrent layer (their output rank differs).
bool is_removable(const std::vector<Layer>& list, size_t i, bool top) {
  const Layer& l = list[i];
  return top && is_hidden(list, i, top) &&
         (l.type == "linear" || is_conv(l) || is_pool(l) || l.type == "adaptive_avgpool2d" ||
          l.type == "dropout" || l.type == "batchnorm" || l.type == "residual");
}

/// Removes the `index`-th removable hidden layer of the top-level list (0-based, in order), with
/// the activation right after it when it is a linear or convolution layer (Keras' Dense(...,
/// activation=...) is one layer). The output layer is never removed. Applies to: layer-list
/// programs with enough removable layers. Symptom: less capacity (underfitting, higher loss
/// floor); without its pooling a CNN grows a much larger dense layer (slower steps, overfitting).
class LayerRemove final : public LayerMutator {
 public:
  LayerRemove() : LayerMutator({"removable hidden layer", is_removable, /*top_only=*/true}) {}
  std::string id() const override { return "layer_remove"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Removes one hidden layer (with its activation) from the model.";
  }
  std::string symptom() const override {
    return "less capacity: underfitting, higher loss floor; larger dense layers without pooling";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("index", 0, 0, 1000,
                          "which removable hidden layer (linear, conv, pooling, dropout, batch "
                          "norm, residual), 0-based in the top-level list")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    auto paths = sites(r, p);
    const size_t i = paths.at(0).back();
    const Layer& l = r.layers[i];
    if ((l.type == "linear" || is_conv(l)) && i + 1 < r.layers.size() &&
        is_hidden_act(r.layers, i + 1, /*top=*/true))
      paths.push_back({i + 1});
    return remove_layers(r.layers, paths);
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program has no removable hidden layer";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "layer_remove", std::make_shared<LayerRemove>());
}  // namespace dynfault::mutators
