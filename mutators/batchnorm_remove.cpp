// Layer fault: TheDeepChecker's "missing batchnorm" bug (DEFault's remove-layer operator on a
// BatchNormalization layer).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Removes batch-normalisation layers (the `index`-th, or all for -1). Applies to: layer-list
/// programs with a batch-norm layer. Symptom: activation statistics drift from layer to layer,
/// deep models train slower and become sensitive to the learning rate (spikes, divergence at
/// rates the original tolerated).
class BatchnormRemove final : public LayerMutator {
 public:
  BatchnormRemove() : LayerMutator(layers_of_type("batchnorm", "batch-norm layer")) {}
  std::string id() const override { return "batchnorm_remove"; }
  std::string category() const override { return "layer"; }
  std::string description() const override { return "Removes batch-normalisation layers."; }
  std::string symptom() const override {
    return "drifting activation statistics, slower training, learning-rate sensitivity";
  }
  std::vector<ParamSpec> params() const override { return {index_param(kind().what)}; }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return remove_layers(r.layers, sites(r, p));
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program has no batch-norm layer";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "batchnorm_remove", std::make_shared<BatchnormRemove>());
}  // namespace dynfault::mutators
