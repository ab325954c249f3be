// Training-loop fault: training in eval mode, the PyTorch form of TheDeepChecker's "batchnorm in
// the wrong mode" bug (model.eval() left on, or model.train() missing).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Trains the model in eval mode: dropout is off and batch norm uses its running statistics
/// instead of batch statistics. Applies to: programs with a dropout or batch-norm layer (for any
/// other model the two modes are the same, so the fault would be a no-op). Symptom: with dropout,
/// overfitting (no regularisation); with batch norm, activations normalised by stale running
/// statistics (unstable or diverging loss in deep CNNs).
class TrainModeWrong final : public EditMutator {
 public:
  std::string id() const override { return "train_mode_wrong"; }
  std::string category() const override { return "training_loop"; }
  std::string description() const override {
    return "Trains the model in eval mode (dropout off, batch norm on running statistics).";
  }
  std::string symptom() const override {
    return "overfitting (dropout off); unstable loss from stale batch-norm statistics";
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    if (!has_layer_type(r.layers, "dropout") && !has_layer_type(r.layers, "batchnorm"))
      return "the model has no dropout or batch-norm layer, so train and eval mode are the same";
    return "";
  }
  std::string edit(Recipe& r, const Json&) const override {
    return set_field("loop.train_mode", r.loop.train_mode, false);
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program already trains in eval mode";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "train_mode_wrong", std::make_shared<TrainModeWrong>());
}  // namespace dynfault::mutators
