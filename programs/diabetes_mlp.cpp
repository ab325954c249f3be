// diabetes_mlp: scikit-learn's partial-dependence example MLPRegressor on the diabetes data.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe diabetes_mlp() {
  Recipe r = make_program("diabetes_mlp", "mlp", "regression", "tabular");
  r.provenance.source =
      "scikit-learn examples/miscellaneous/plot_partial_dependence_visualization_api.py "
      "('Advanced Plotting With Partial Dependence'): make_pipeline(StandardScaler(), "
      "MLPRegressor(hidden_layer_sizes (100, 100), tol 1e-2, max_iter 500, random_state 0)) on "
      "load_diabetes (442 x 10): ReLU, adam lr 1e-3, batch min(200, n), L2 alpha 1e-4, squared "
      "error on the raw disease-progression target";
  r.provenance.changes =
      "scikit-learn's raw diabetes files (vendored; load_diabetes' features are these, centred "
      "and scaled, which the StandardScaler undoes) with a fixed 80/20 split and 20% of the "
      "training part for validation (the example fits all 442 rows); 500 epochs without "
      "sklearn's tolerance stop; mse (sklearn minimises half of it); l2 = 1e-4 / (2 * 283); "
      "sklearn's Glorot-uniform init is xavier_uniform with zero biases";
  r.provenance.satisfactory = 0.25;  // clean runs, seeds 1-5: R^2 0.294-0.344, <= 1.4 s CPU
  r.data = data_of("diabetes", {10}, 0);
  r.layers = {Linear(100), Act("relu"), Linear(100), Act("relu"), Linear(1)};
  sklearn_mlp_defaults(r, /*alpha=*/1e-4, /*n_train=*/283);
  set_training(r, "mse", adam(1e-3), 200, 500);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "diabetes_mlp", diabetes_mlp);

}  // namespace dynfault::programs
