// Learning-rate fault: DeepCrime's HLR and DeepFD's `lr` seeder, as a multiplicative change.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Multiplies the optimizer's learning rate by `factor`. Applies to: every program with a
/// positive learning rate. Symptom: factor >> 1 gives oscillating or exploding loss (NaN at the
/// extremes); factor << 1 gives a flat loss curve, slow convergence and vanishing updates.
/// Source: DeepCrime HLR (binary search between subject bounds), DeepFD `lr`.
class LrScale final : public EditMutator {
 public:
  std::string id() const override { return "lr_scale"; }
  std::string category() const override { return "learning_rate"; }
  std::string description() const override { return "Multiplies the learning rate by `factor`."; }
  std::string symptom() const override {
    return "large factor: oscillating or exploding loss, NaN; small factor: flat loss, slow "
           "convergence";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("factor", 10.0, 1e-12, 1e12,
                         "multiplier for the learning rate (DeepFD's extremes are ~1e3 and "
                         "~1e-12)")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json& p) const override {
    if (p.at("factor").get<double>() == 1.0) return "factor 1 changes nothing";
    if (!(r.optimizer.lr > 0)) return "the program has no positive learning rate";
    return "";
  }
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("optimizer.lr", r.optimizer.lr, r.optimizer.lr * p.at("factor").get<double>());
  }
  std::string no_op(const Recipe& r, const Json& p) const override {
    return "factor " + describe(p.at("factor").get<double>()) + " leaves the learning rate " +
           describe(r.optimizer.lr) + " unchanged";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "lr_scale", std::make_shared<LrScale>());
}  // namespace dynfault::mutators
