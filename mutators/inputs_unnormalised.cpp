// Data fault: TheDeepChecker's "missing normalization" bug; AUTOTRAINER's Circle/Blob programs
// feed unscaled inputs the same way.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Turns input standardisation off and multiplies the inputs by `scale` (100 by default: raw
/// pixel-like magnitudes). Applies to: every program that is not already unnormalised at that
/// scale. Symptom: large activations and gradients in the first layer (oscillating or NaN loss
/// at the program's learning rate), saturated sigmoid/tanh units, or very slow progress.
class InputsUnnormalised final : public EditMutator {
 public:
  std::string id() const override { return "inputs_unnormalised"; }
  std::string category() const override { return "data"; }
  std::string description() const override {
    return "Feeds unstandardised inputs multiplied by `scale`.";
  }
  std::string symptom() const override {
    return "large first-layer activations and gradients, oscillating or NaN loss, saturation";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("scale", 100.0, 1e-3, 1e6, "multiplier on the raw inputs")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return join_changes(
        {set_field("data.normalize", r.data.normalize, false),
         set_field("data.input_scale", r.data.input_scale, p.at("scale").get<double>())});
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return "the inputs are already unnormalised at scale " + describe(r.data.input_scale);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "inputs_unnormalised",
                  std::make_shared<InputsUnnormalised>());
}  // namespace dynfault::mutators
