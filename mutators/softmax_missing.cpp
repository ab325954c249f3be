// Activation fault: TheDeepChecker's "missing softmax" output bug (DeepCrime ARM on the output).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Removes the output softmax (or log_softmax) of a program that has one, so a loss that expects
/// probabilities (bce, kld, nll) reads raw logits. Applies to: layer-list programs ending in a
/// softmax or log_softmax; programs whose loss applies softmax itself (cross_entropy on logits)
/// have none and are refused. Symptom: nll/kld on logits gives a negative or unbounded loss and
/// exploding logits; bce on clipped logits gives zero gradients where the clip bites.
class SoftmaxMissing final : public LayerMutator {
 public:
  SoftmaxMissing() : LayerMutator({"output softmax", is_output_softmax, /*top_only=*/true}) {}
  std::string id() const override { return "softmax_missing"; }
  std::string category() const override { return "activation"; }
  std::string description() const override {
    return "Removes the output softmax, so the loss reads raw logits as probabilities.";
  }
  std::string symptom() const override {
    return "negative or unbounded loss, exploding logits, or zero gradients under clipping";
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return remove_layers(r.layers, sites(r, p));
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program has no output softmax";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "softmax_missing", std::make_shared<SoftmaxMissing>());
}  // namespace dynfault::mutators
