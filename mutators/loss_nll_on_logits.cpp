// Loss fault: NLLLoss on raw scores, i.e. a missing log_softmax, the PyTorch form of
// TheDeepChecker's "missing softmax" output bug.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Replaces cross-entropy by the negative log-likelihood loss without adding the log_softmax it
/// expects, so the loss reads raw logits as log-probabilities. Applies to: programs trained with
/// cross_entropy whose output is not already a log_softmax. Symptom: the loss falls below zero
/// without bound, the correct-class logit grows without limit (weight norms explode), accuracy
/// may rise at first and then the run diverges.
class LossNllOnLogits final : public EditMutator {
 public:
  std::string id() const override { return "loss_nll_on_logits"; }
  std::string category() const override { return "loss"; }
  std::string description() const override {
    return "Replaces cross-entropy by NLL loss on raw logits (a missing log_softmax).";
  }
  std::string symptom() const override {
    return "negative, unbounded loss; exploding logits and weight norms; divergence";
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    if (r.loss != "cross_entropy") return "the program's loss is " + r.loss + ", not cross_entropy";
    if (!r.layers.empty() && r.layers.back().type == "act" && r.layers.back().act == "log_softmax")
      return "the program's output is already a log_softmax, which the nll loss expects";
    return "";
  }
  std::string edit(Recipe& r, const Json&) const override {
    return set_field("loss", r.loss, std::string("nll"));
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program already uses nll";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "loss_nll_on_logits", std::make_shared<LossNllOnLogits>());
}  // namespace dynfault::mutators
