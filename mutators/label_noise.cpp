// Data fault: DeepCrime's TCL (change_label; binary search 0-100 %) and TheDeepChecker's
// "wrong labels" bug.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Replaces the label of a `share` of the training samples by another class (validation and
/// test data stay clean). Applies to: classification programs. Symptom: training accuracy
/// plateaus near 1 - share while the training loss stays high, and the model memorises noise
/// late in training (validation loss rises after an early minimum).
class LabelNoise final : public EditMutator {
 public:
  std::string id() const override { return "label_noise"; }
  std::string category() const override { return "data"; }
  std::string description() const override {
    return "Relabels a `share` of the training samples with a wrong class.";
  }
  std::string symptom() const override {
    return "training accuracy capped near 1 - share, high training loss, late memorisation";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("share", 0.3, 0.0, 1.0, "share of training labels replaced")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    return classification_reason(r);
  }
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("data.label_noise", r.data.label_noise, p.at("share").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the label-noise share", r.data.label_noise);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "label_noise", std::make_shared<LabelNoise>());
}  // namespace dynfault::mutators
