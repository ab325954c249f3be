// moons_mlp: scikit-learn's MLP training-curves example (adam strategy) on two moons.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe moons_mlp() {
  Recipe r = make_program("moons_mlp", "mlp", "binary", "synthetic");
  r.provenance.source =
      "scikit-learn examples/neural_networks/plot_mlp_training_curves.py, moons panel, 'adam' "
      "strategy: make_moons(noise 0.3, random_state 0) (100 points), MinMaxScaler, "
      "MLPClassifier(solver 'adam', learning_rate_init 0.01, max_iter 400, random_state 0): 100 "
      "ReLU units, a logistic output unit, batch min(200, n) (the whole set), L2 alpha 1e-4";
  r.provenance.changes =
      "points generated from the run seed (moons, noise 0.3): 125 training points (20% for "
      "validation, leaving the source's 100) and 500 test points for a stable score; "
      "standardised instead of min-max scaled; l2 = 1e-4 / (2 * 100); sklearn's Glorot-uniform "
      "init is xavier_uniform with zero biases";
  r.provenance.satisfactory = 0.82;  // clean runs, seeds 1-5: accuracy 0.878-0.904, <= 0.5 s CPU
  r.data = data_of("moons", {2}, 2, {{"n_train", 125}, {"n_test", 500}, {"noise", 0.3}});
  r.layers = {Linear(100), Act("relu"), Linear(1)};
  sklearn_mlp_defaults(r, /*alpha=*/1e-4, /*n_train=*/100);
  set_training(r, "bce_logits", adam(0.01), 0, 400);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "moons_mlp", moons_mlp);

}  // namespace dynfault::programs
