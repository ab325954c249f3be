// Loss fault: a regression loss on a classifier's raw scores, DeepFD's cross-family `loss` swap
// (categorical_crossentropy -> MSE) and one of TheDeepChecker's three "wrong loss" bugs.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Makes a classifier minimise the mean squared error between its raw outputs (logits) and the
/// one-hot targets: the loss becomes `mse`, and an output softmax or log_softmax, if any, is
/// removed so the error is computed on logits. Applies to: classification programs. Symptom:
/// small, poorly scaled gradients, slow accuracy gains and a loss that plateaus well above zero.
class LossMseOnLogits final : public EditMutator {
 public:
  std::string id() const override { return "loss_mse_on_logits"; }
  std::string category() const override { return "loss"; }
  std::string description() const override {
    return "Trains a classifier with MSE on its raw outputs against one-hot targets.";
  }
  std::string symptom() const override {
    return "small, poorly scaled gradients, slow accuracy gains, loss plateau above zero";
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    if (r.task == "regression")
      return "'" + r.program + "' is a regression task: it has no logits to misuse";
    return "";
  }
  std::string edit(Recipe& r, const Json&) const override {
    const std::string loss = set_field("loss", r.loss, std::string("mse"));
    if (!layer_list_reason(r).empty()) return loss;
    return join_changes({loss, remove_layers(r.layers, find_layers(r.layers, is_output_softmax))});
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program already computes MSE on its raw outputs";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "loss_mse_on_logits", std::make_shared<LossMseOnLogits>());
}  // namespace dynfault::mutators
