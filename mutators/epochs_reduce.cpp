// Hyperparameter fault: DeepFD's `epoch` seeder (new = max(1, old / k), k in {10, ..., 50}) and
// DeepCrime's HNE (change_epochs, binary search from the original down to 1).
#include <algorithm>

#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Divides the number of epochs by `divisor` (integer division, at least one epoch). Applies to:
/// programs that train for more than one epoch. Symptom: training stops while the loss is still
/// falling steeply; train and validation metrics end below the clean run's (underfitting).
class EpochsReduce final : public EditMutator {
 public:
  std::string id() const override { return "epochs_reduce"; }
  std::string category() const override { return "hyperparameter"; }
  std::string description() const override {
    return "Divides the number of training epochs by `divisor`.";
  }
  std::string symptom() const override {
    return "training stops while the loss still falls steeply: underfitting";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("divisor", 10, 2, 1000, "DeepFD's k: 10, 20, 30, 40 or 50")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const int64_t epochs = std::max<int64_t>(1, r.epochs / p.at("divisor").get<int64_t>());
    return set_field("epochs", r.epochs, epochs);
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program already trains for one epoch";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "epochs_reduce", std::make_shared<EpochsReduce>());
}  // namespace dynfault::mutators
