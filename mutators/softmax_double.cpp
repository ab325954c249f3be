// Loss fault: softmax applied twice, TheDeepChecker's "redundant softmax" output bug (a softmax
// layer before PyTorch's CrossEntropyLoss, which applies log_softmax itself).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Appends a softmax after the output layer of a program trained with cross_entropy, so the
/// loss applies (log-)softmax to probabilities. Applies to: programs built from a layer list with
/// the cross_entropy loss and no output softmax yet. Symptom: the loss cannot fall below
/// log(1 + (C - 1) / e) for C classes (1.46 for 10), gradients are small and training is slow or
/// stalls; accuracy may still rise.
class SoftmaxDouble final : public EditMutator {
 public:
  std::string id() const override { return "softmax_double"; }
  std::string category() const override { return "loss"; }
  std::string description() const override {
    return "Appends a softmax before a cross-entropy loss, so softmax is applied twice.";
  }
  std::string symptom() const override {
    return "loss floored at log(1 + (C - 1) / e), small gradients, slow training";
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    if (std::string why = layer_list_reason(r); !why.empty()) return why;
    if (r.loss != "cross_entropy")
      return "the program's loss is " + r.loss + ", which applies no softmax of its own";
    return "";
  }
  std::string edit(Recipe& r, const Json&) const override {
    if (!find_layers(r.layers, is_output_softmax).empty()) return "";
    r.layers.push_back(programs::Act("softmax"));
    return "appended layers[" + std::to_string(r.layers.size() - 1) + "] act(softmax)";
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program already has an output softmax before its cross-entropy loss";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "softmax_double", std::make_shared<SoftmaxDouble>());
}  // namespace dynfault::mutators
