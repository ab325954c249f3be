// Hyperparameter fault: DeepCrime's RCP (change_earlystopping_patience, binary search from the
// original down to 1; DEFault: [1, original]), extended to add early stopping where there is none.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the early-stopping patience to `patience` epochs (monitoring validation loss, or training
/// loss without a validation split); 0 turns early stopping off. Applies to: every program whose
/// patience differs. Symptom: a tiny patience stops training at the first noisy epoch (a short
/// trace, underfitting); turning it off lets an overfitting program run to the end.
class PatienceSet final : public EditMutator {
 public:
  std::string id() const override { return "patience_set"; }
  std::string category() const override { return "hyperparameter"; }
  std::string description() const override {
    return "Sets the early-stopping patience to `patience` epochs (0 = off).";
  }
  std::string symptom() const override {
    return "tiny patience: training stops early, short trace, underfitting";
  }
  std::vector<ParamSpec> params() const override {
    return {integer_param("patience", 1, 0, 1000, "epochs without improvement before stopping")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("patience", r.patience, p.at("patience").get<int64_t>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the early-stopping patience", r.patience);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "patience_set", std::make_shared<PatienceSet>());
}  // namespace dynfault::mutators
