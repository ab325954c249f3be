// Hyperparameter fault: DeepCrime's HBS (change_batch_size, exhaustive {32, 64, 256, 512});
// DEFault draws from [16, 512] in steps of 16.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the mini-batch size to `size` (a size above the training set is one batch per epoch).
/// Applies to: every program whose batch size differs. Symptom: a large batch takes few, smooth
/// steps per epoch (slow convergence, sharper minima); a small one gives noisy loss curves and
/// high gradient variance, and each epoch costs more wall time.
class BatchSizeSet final : public EditMutator {
 public:
  std::string id() const override { return "batch_size_set"; }
  std::string category() const override { return "hyperparameter"; }
  std::string description() const override { return "Sets the batch size to `size`."; }
  std::string symptom() const override {
    return "large: few smooth steps, slow convergence; small: noisy loss, high gradient variance";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("size", 512, 1, 1 << 20,
                          "the new batch size (DeepCrime: 32, 64, 256, 512; DEFault: 16..512)")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("batch_size", r.batch_size, p.at("size").get<int64_t>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the batch size", r.batch_size);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "batch_size_set", std::make_shared<BatchSizeSet>());
}  // namespace dynfault::mutators
