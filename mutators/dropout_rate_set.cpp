// Regularisation fault: DeepCrime's RCD (change_dropout_rate, exhaustive {0.125, 0.25, 0.75, 1.0}).
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Sets the rate of dropout layers (the `index`-th, or all for -1) to `rate`. Note that rate 1.0
/// zeros every activation in training, so nothing upstream of the layer learns. Applies to:
/// layer-list programs with a dropout layer whose rate differs. Symptom: a high rate underfits
/// (training accuracy below validation accuracy, noisy loss; at 1.0 zero gradients upstream and
/// chance-level training accuracy); a low rate can let the program overfit.
class DropoutRateSet final : public LayerMutator {
 public:
  DropoutRateSet() : LayerMutator(layers_of_type("dropout", "dropout layer")) {}
  std::string id() const override { return "dropout_rate_set"; }
  std::string category() const override { return "regularisation"; }
  std::string description() const override { return "Sets the rate of dropout layers to `rate`."; }
  std::string symptom() const override {
    return "high rate: underfitting, training below validation accuracy; 1.0: zero gradients "
           "upstream";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("rate", 0.75, 0.0, 1.0, "DeepCrime: 0.125, 0.25, 0.75 or 1.0"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const double rate = p.at("rate").get<double>();
    return edit_sites(r, p, [&](Layer& l) { return set_field("p", l.p, rate); });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected dropout layers already have rate " + describe(p.at("rate").get<double>());
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "dropout_rate_set", std::make_shared<DropoutRateSet>());
}  // namespace dynfault::mutators
