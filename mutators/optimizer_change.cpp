// Optimizer fault: DeepCrime's OCH and DeepFD's `opt` seeder.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Replaces the optimizer by `to`, keeping the learning rate and weight decay and resetting the
/// other options to the new optimizer's defaults (DeepFD filters keyword arguments the same way).
/// Applies to: every program whose optimizer differs from `to` (SGD with momentum counts as
/// different from plain SGD). Symptom: slower or unstable convergence; adaptive <-> plain SGD
/// swaps change the effective step size by orders of magnitude. Source: DeepCrime OCH, DeepFD
/// `opt`.
class OptimizerChange final : public EditMutator {
 public:
  std::string id() const override { return "optimizer_change"; }
  std::string category() const override { return "optimizer"; }
  std::string description() const override {
    return "Replaces the optimizer by `to`, keeping the learning rate.";
  }
  std::string symptom() const override {
    return "slower or unstable convergence; a different effective step size";
  }
  std::vector<ParamSpec> params() const override {
    return {choice_param(
        "to", "sgd", {"adadelta", "adagrad", "adam", "adamax", "adamw", "nadam", "rmsprop", "sgd"},
        "the new optimizer")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json& p) const override {
    const auto to = p.at("to").get<std::string>();
    if (r.optimizer.name == to && r.optimizer.momentum == 0.0)
      return "the program already uses " + to;
    return "";
  }
  std::string edit(Recipe& r, const Json& p) const override {
    programs::OptimizerSpec next;
    auto& o = r.optimizer;
    return join_changes({set_field("optimizer.name", o.name, p.at("to").get<std::string>()),
                         set_field("optimizer.momentum", o.momentum, next.momentum),
                         set_field("optimizer.nesterov", o.nesterov, next.nesterov),
                         set_field("optimizer.beta1", o.beta1, next.beta1),
                         set_field("optimizer.beta2", o.beta2, next.beta2),
                         set_field("optimizer.eps", o.eps, next.eps),
                         set_field("optimizer.rho", o.rho, next.rho)});
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return "the program already uses " + r.optimizer.name + " with default options";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "optimizer_change", std::make_shared<OptimizerChange>());
}  // namespace dynfault::mutators
