// Training-loop fault: a data loader without shuffle=True. A dynfault addition (no DeepCrime,
// DeepFD, DEFault or TheDeepChecker operator turns shuffling off).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Feeds the training set in the same order every epoch. Applies to: programs that shuffle.
/// Symptom: periodic loss patterns within each epoch, slower or worse convergence, and on data
/// stored sorted by class a loss that swings between class blocks.
class ShuffleDisable final : public EditMutator {
 public:
  std::string id() const override { return "shuffle_disable"; }
  std::string category() const override { return "training_loop"; }
  std::string description() const override {
    return "Feeds the training data in the same order every epoch.";
  }
  std::string symptom() const override {
    return "periodic within-epoch loss patterns, slower or worse convergence";
  }

 protected:
  std::string edit(Recipe& r, const Json&) const override {
    return set_field("loop.shuffle", r.loop.shuffle, false);
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "the program already trains without shuffling";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "shuffle_disable", std::make_shared<ShuffleDisable>());
}  // namespace dynfault::mutators
