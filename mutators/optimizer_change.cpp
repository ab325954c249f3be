// Optimizer fault: DeepCrime's OCH and DeepFD's `opt` seeder.
#include "mutators/mutator.h"

namespace dynfault::mutators {
namespace {

/// Replaces the optimizer by `to`, keeping the learning rate and weight decay and resetting the
/// other options to the new optimizer's defaults (DeepFD filters keyword arguments the same way).
/// Applies to: every program whose optimizer differs from `to`. Symptom: slower or unstable
/// convergence; adaptive <-> plain SGD swaps change the effective step size by orders of magnitude.
class OptimizerChange final : public Mutator {
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
    ParamSpec to;
    to.name = "to";
    to.type = ParamSpec::Type::kString;
    to.default_value = "sgd";
    to.choices = {"adadelta", "adagrad", "adam", "adamax", "adamw", "nadam", "rmsprop", "sgd"};
    to.doc = "the new optimizer";
    return {to};
  }
  std::string not_applicable(const Recipe& r, const Json& p) const override {
    const auto to = p.at("to").get<std::string>();
    if (r.optimizer.name == to && r.optimizer.momentum == 0.0)
      return "the program already uses " + to;
    return "";
  }
  Recipe mutate(Recipe r, const Json& p) const override {
    const std::string before = r.optimizer.name;
    programs::OptimizerSpec next;
    next.name = p.at("to").get<std::string>();
    next.lr = r.optimizer.lr;
    next.weight_decay = r.optimizer.weight_decay;
    r.optimizer = next;
    record_fault(r, *this, p, "optimizer.name: " + before + " -> " + next.name);
    return r;
  }
};

}  // namespace
DYNFAULT_REGISTER_MUTATOR(OptimizerChange);
}  // namespace dynfault::mutators
