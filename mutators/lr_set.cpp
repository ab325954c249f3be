// Learning-rate fault: DeepFD's `lr` seeder, which replaces the learning rate by an absolute
// value, "too large" from {1, ..., 10} or "too small" from {1e-15, ..., 1e-10}.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the optimizer's learning rate to `lr`. Applies to: every program whose learning rate is
/// not already `lr`. Symptom: lr in {1..10} gives exploding loss and NaN/Inf weights within a few
/// steps; lr in {1e-15..1e-10} gives a flat loss curve and update-to-weight ratios near zero.
/// Source: DeepFD `lr` (CodeBook/SeedFaults/seedFaults.py), DeepCrime HLR.
class LrSet final : public EditMutator {
 public:
  std::string id() const override { return "lr_set"; }
  std::string category() const override { return "learning_rate"; }
  std::string description() const override { return "Sets the learning rate to `lr`."; }
  std::string symptom() const override {
    return "too large: exploding loss, NaN weights within a few steps; too small: flat loss, "
           "update-to-weight ratios near zero";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("lr", 10.0, 1e-15, 10.0,
                         "the new learning rate; DeepFD draws from {1, ..., 10} (too large) or "
                         "{1e-15, ..., 1e-10} (too small)")};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("optimizer.lr", r.optimizer.lr, p.at("lr").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the learning rate", r.optimizer.lr);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "lr_set", std::make_shared<LrSet>());
}  // namespace dynfault::mutators
