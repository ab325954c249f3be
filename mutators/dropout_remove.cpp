// Regularisation fault: dropout taken out, TheDeepChecker's "missing regularisation" bug and
// DEFault's remove-layer operator applied to Dropout.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Removes dropout layers (the `index`-th, or all for -1). Applies to: layer-list programs with
/// a dropout layer. Symptom: overfitting; training accuracy races ahead of validation accuracy
/// and the validation loss turns upward.
class DropoutRemove final : public LayerMutator {
 public:
  DropoutRemove() : LayerMutator(layers_of_type("dropout", "dropout layer")) {}
  std::string id() const override { return "dropout_remove"; }
  std::string category() const override { return "regularisation"; }
  std::string description() const override { return "Removes dropout layers."; }
  std::string symptom() const override {
    return "overfitting: growing train/validation gap, rising validation loss";
  }
  std::vector<ParamSpec> params() const override { return {index_param(kind().what)}; }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return remove_layers(r.layers, sites(r, p));
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program has no dropout layer";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "dropout_remove", std::make_shared<DropoutRemove>());
}  // namespace dynfault::mutators
