// Hyperparameter fault: DeepCrime's HDB (disable_batching: batch size = whole training set).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Trains on the whole training set as one batch (batch_size 0), one step per epoch. Applies
/// to: every program that still uses mini-batches. Symptom: very few optimizer steps, a smooth
/// but slowly falling loss, underfitting within the epoch budget, and a large memory footprint.
class BatchingDisable final : public EditMutator {
 public:
  std::string id() const override { return "batching_disable"; }
  std::string category() const override { return "hyperparameter"; }
  std::string description() const override {
    return "Trains on the whole training set as a single batch.";
  }
  std::string symptom() const override {
    return "one step per epoch: smooth, slowly falling loss, underfitting";
  }

 protected:
  std::string edit(Recipe& r, const Json&) const override {
    return set_field("batch_size", r.batch_size, int64_t{0});
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "batching is already disabled (batch_size 0)";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "batching_disable", std::make_shared<BatchingDisable>());
}  // namespace dynfault::mutators
