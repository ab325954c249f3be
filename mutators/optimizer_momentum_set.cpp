// Optimizer fault: SGD (or RMSprop) with a wrong momentum. Extends DeepCrime's OCH, whose pool
// holds plain SGD only, to Keras' SGD(momentum=..., nesterov=...).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the momentum (and the Nesterov flag) of an SGD or RMSprop optimizer. Applies to: sgd and
/// rmsprop (LibTorch's other optimizers have no momentum option); Nesterov to sgd only and only
/// with a positive momentum. Symptom: momentum near 1 overshoots, the loss oscillates with a
/// growing amplitude and the momentum-buffer norm keeps rising; momentum 0 removes the
/// acceleration a program relied on (slow convergence).
class OptimizerMomentumSet final : public EditMutator {
 public:
  std::string id() const override { return "optimizer_momentum_set"; }
  std::string category() const override { return "optimizer"; }
  std::string description() const override {
    return "Sets the SGD or RMSprop momentum to `momentum` (Nesterov when `nesterov`).";
  }
  std::string symptom() const override {
    return "momentum near 1: overshooting, oscillating loss, growing momentum buffers; momentum "
           "0: slow convergence";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("momentum", 0.99, 0.0, 0.999, "the new momentum"),
            bool_param("nesterov", false, "use Nesterov momentum (sgd only)")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json& p) const override {
    const auto& name = r.optimizer.name;
    if (name != "sgd" && name != "rmsprop")
      return "momentum applies to sgd and rmsprop, but the program uses " + name;
    if (p.at("nesterov").get<bool>()) {
      if (name != "sgd") return "Nesterov momentum applies to sgd only, not " + name;
      if (p.at("momentum").get<double>() == 0.0) return "Nesterov momentum needs momentum > 0";
    }
    return "";
  }
  std::string edit(Recipe& r, const Json& p) const override {
    return join_changes(
        {set_field("optimizer.momentum", r.optimizer.momentum, p.at("momentum").get<double>()),
         set_field("optimizer.nesterov", r.optimizer.nesterov, p.at("nesterov").get<bool>())});
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the momentum", r.optimizer.momentum) + " (nesterov " +
           describe(r.optimizer.nesterov) + ")";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "optimizer_momentum_set",
                  std::make_shared<OptimizerMomentumSet>());
}  // namespace dynfault::mutators
