// Optimizer fault: TheDeepChecker's "low Adam epsilon" bug, and its opposite.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets epsilon of an Adam-family optimizer (adam, adamw, adamax, nadam). Applies to: programs
/// using one of them. Symptom: a tiny epsilon lets parameters with near-zero second moments take
/// steps of the full learning rate (spiky updates, unstable or NaN loss); a large epsilon (>= 1)
/// turns Adam into a slow SGD (small effective step size, flat loss).
class AdamEpsSet final : public EditMutator {
 public:
  std::string id() const override { return "adam_eps_set"; }
  std::string category() const override { return "optimizer"; }
  std::string description() const override {
    return "Sets the epsilon of an Adam-family optimizer to `eps`.";
  }
  std::string symptom() const override {
    return "tiny eps: spiky updates, unstable or NaN loss; large eps: small effective step size, "
           "flat loss";
  }
  std::vector<ParamSpec> params() const override {
    return {
        number_param("eps", 1e-12, 0.0, 10.0, "the new epsilon (Keras uses 1e-7, LibTorch 1e-8)")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    const auto& name = r.optimizer.name;
    if (name != "adam" && name != "adamw" && name != "adamax" && name != "nadam")
      return "the program's optimizer " + name + " is not in the Adam family";
    return "";
  }
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("optimizer.eps", r.optimizer.eps, p.at("eps").get<double>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the optimizer's epsilon", r.optimizer.eps);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "adam_eps_set", std::make_shared<AdamEpsSet>());
}  // namespace dynfault::mutators
