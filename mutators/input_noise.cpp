// Data fault: DeepCrime's TAN (add_noise; binary search 0-100 %), as Gaussian noise of a given
// std on the (normalised) training inputs.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Adds Gaussian noise of standard deviation `std` to the training inputs (validation and test
/// inputs stay clean). Applies to: every program. Symptom: a noisy, higher training loss floor
/// and lower accuracy; at a large std, training accuracy near chance while validation lags less.
class InputNoise final : public EditMutator {
 public:
  std::string id() const override { return "input_noise"; }
  std::string category() const override { return "data"; }
  std::string description() const override {
    return "Adds Gaussian noise of std `std` to the training inputs.";
  }
  std::string symptom() const override {
    return "higher, noisier training loss floor; lower accuracy";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("std", 1.0, 0.0, 100.0, "noise std, in units of the normalised inputs")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("data.input_noise", r.data.input_noise, p.at("std").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the input-noise std", r.data.input_noise);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "input_noise", std::make_shared<InputNoise>());
}  // namespace dynfault::mutators
