// Data fault: DeepCrime's TRD (delete_training_data, class-balanced; binary search 0-99 %).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Deletes a `share` of the training samples, class-balanced. Applies to: every program.
/// Symptom: faster epochs, a quickly falling training loss and a widening train/validation gap
/// (overfitting on too little data); fewer steps per epoch.
class DataDelete final : public EditMutator {
 public:
  std::string id() const override { return "data_delete"; }
  std::string category() const override { return "data"; }
  std::string description() const override { return "Deletes a `share` of the training samples."; }
  std::string symptom() const override {
    return "fewer steps per epoch, widening train/validation gap (overfitting)";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("share", 0.5, 0.0, 0.99, "share of training samples deleted")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("data.delete_fraction", r.data.delete_fraction, p.at("share").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the deleted share", r.data.delete_fraction);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "data_delete", std::make_shared<DataDelete>());
}  // namespace dynfault::mutators
