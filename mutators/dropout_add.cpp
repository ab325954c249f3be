// Regularisation fault: excessive dropout, TheDeepChecker's "excessive regularisation" bug and
// DEFault's add-layer operator with a Dropout layer.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// True for a hidden activation that no dropout layer follows.
bool lacks_dropout(const std::vector<Layer>& list, size_t i, bool top) {
  return is_hidden_act(list, i, top) && (i + 1 >= list.size() || list[i + 1].type != "dropout");
}

/// Inserts a dropout layer of rate `rate` after hidden activations that have none (the
/// `index`-th of them, or all for -1). Applies to: layer-list programs with such an activation.
/// Symptom: a high rate underfits (training accuracy below validation accuracy, noisy loss,
/// slow convergence).
class DropoutAdd final : public LayerMutator {
 public:
  DropoutAdd() : LayerMutator({"hidden activation without dropout", lacks_dropout}) {}
  std::string id() const override { return "dropout_add"; }
  std::string category() const override { return "regularisation"; }
  std::string description() const override {
    return "Adds dropout of rate `rate` after hidden activations.";
  }
  std::string symptom() const override {
    return "underfitting: training below validation accuracy, noisy and slow loss";
  }
  std::vector<ParamSpec> params() const override {
    return {number_param("rate", 0.5, 0.01, 1.0, "the dropout rate"), index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    return insert_after(r.layers, sites(r, p), programs::Dropout(p.at("rate").get<double>()));
  }
  std::string no_op(const Recipe&, const Json&) const override {
    return "every hidden activation is already followed by dropout";
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "dropout_add", std::make_shared<DropoutAdd>());
}  // namespace dynfault::mutators
