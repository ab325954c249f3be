// Weights fault: DeepCrime's WCI (change_weights_initialisation, 13 Keras initialisers) and
// TheDeepChecker's "constant" and "badly scaled random" initialisation bugs.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// True when the initialiser reads the scale (zeros and ones do not).
bool uses_scale(const std::string& init) { return init != "zeros" && init != "ones"; }

/// Initialises every linear and convolution weight with `init` (biases start at zero), reading
/// `scale` as the std (normal, truncated_normal), the bound (uniform), the value (constant), the
/// gain (xavier_*, orthogonal) or a multiplier (kaiming_*, lecun_*). Applies to: every program
/// whose initialiser or scale differs (custom builders read the init too). Symptom: zeros/ones/
/// constant keep units symmetric (identical gradients, dead or saturated layers); a large scale
/// gives exploding activations and an initial loss far above log(C); a tiny one vanishing signals.
class WeightsInit final : public EditMutator {
 public:
  std::string id() const override { return "weights_init"; }
  std::string category() const override { return "weights"; }
  std::string description() const override {
    return "Initialises the weights with `init` at scale `scale`.";
  }
  std::string symptom() const override {
    return "symmetric or dead units (constant inits), exploding or vanishing activations and a "
           "high initial loss (badly scaled inits)";
  }
  std::vector<ParamSpec> params() const override {
    return {choice_param("init", "normal",
                         {"constant", "kaiming_normal", "kaiming_uniform", "lecun_normal",
                          "lecun_uniform", "normal", "ones", "orthogonal", "truncated_normal",
                          "uniform", "xavier_normal", "xavier_uniform", "zeros"},
                         "the initialiser (Keras: glorot_* = xavier_*, he_* = kaiming_*)"),
            number_param("scale", 1.0, 1e-6, 1e3,
                         "std, bound, value, gain or multiplier (see the operator's doc); "
                         "ignored by zeros and ones")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const auto init = p.at("init").get<std::string>();
    std::vector<std::string> parts = {set_field("init", r.init, init)};
    if (uses_scale(init))
      parts.push_back(set_field("init_scale", r.init_scale, p.at("scale").get<double>()));
    return join_changes(parts);
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return "the program already initialises with " + r.init + " at scale " + describe(r.init_scale);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "weights_init", std::make_shared<WeightsInit>());
}  // namespace dynfault::mutators
