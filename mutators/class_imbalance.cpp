// Data fault: DeepCrime's TUD (unbalance_train_data; binary search 0-100 %) and TheDeepChecker's
// "unbalanced data" bug.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Removes a `share` of the training samples of the upper half of the classes, leaving them
/// under-represented. Applies to: classification programs. Symptom: the model favours the
/// majority classes; training accuracy looks fine while validation accuracy on the minority
/// classes (and overall, on balanced data) lags.
class ClassImbalance final : public EditMutator {
 public:
  std::string id() const override { return "class_imbalance"; }
  std::string category() const override { return "data"; }
  std::string description() const override {
    return "Removes a `share` of the training samples of half of the classes.";
  }
  std::string symptom() const override {
    return "bias towards majority classes; validation accuracy lags training accuracy";
  }
  std::vector<ParamSpec> params() const override {
    return {
        number_param("share", 0.9, 0.0, 1.0, "share of the upper half's training samples removed")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    return classification_reason(r);
  }
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("data.imbalance", r.data.imbalance, p.at("share").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the imbalance share", r.data.imbalance);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "class_imbalance", std::make_shared<ClassImbalance>());
}  // namespace dynfault::mutators
