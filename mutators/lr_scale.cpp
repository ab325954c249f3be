// Learning-rate fault: DeepCrime's HLR and DeepFD's `lr` seeder, as a multiplicative change.
#include "common/check.h"
#include "mutators/mutator.h"

namespace dynfault::mutators {
namespace {

/// Multiplies the optimizer's learning rate by `factor`. Applies to: every program. Symptom:
/// factor >> 1 gives oscillating or exploding loss (NaN at the extremes); factor << 1 gives a flat
/// loss curve, slow convergence and vanishing updates.
class LrScale final : public Mutator {
 public:
  std::string id() const override { return "lr_scale"; }
  std::string category() const override { return "learning_rate"; }
  std::string description() const override {
    return "Multiplies the learning rate by `factor`.";
  }
  std::string symptom() const override {
    return "large factor: oscillating or exploding loss, NaN; small factor: flat loss, slow "
           "convergence";
  }
  std::vector<ParamSpec> params() const override {
    ParamSpec factor;
    factor.name = "factor";
    factor.type = ParamSpec::Type::kNumber;
    factor.default_value = 10.0;
    factor.min = 1e-12;
    factor.max = 1e12;
    factor.doc = "multiplier for the learning rate (DeepFD's extremes are ~1e3 and ~1e-12)";
    return {factor};
  }
  std::string not_applicable(const Recipe& r, const Json& p) const override {
    if (p.at("factor").get<double>() == 1.0) return "factor 1 changes nothing";
    if (!(r.optimizer.lr > 0)) return "the program has no positive learning rate";
    return "";
  }
  Recipe mutate(Recipe r, const Json& p) const override {
    const double before = r.optimizer.lr;
    r.optimizer.lr = before * p.at("factor").get<double>();
    record_fault(r, *this, p,
                 "optimizer.lr: " + Json(before).dump() + " -> " + Json(r.optimizer.lr).dump());
    return r;
  }
};

}  // namespace
DYNFAULT_REGISTER_MUTATOR(LrScale);
}  // namespace dynfault::mutators
