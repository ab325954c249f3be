// pytorch_regression: the pytorch/examples polynomial regression (regression/main.py).
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe pytorch_regression() {
  Recipe r = make_program("pytorch_regression", "mlp", "regression", "synthetic");
  r.provenance.source =
      "pytorch/examples regression/main.py: a random degree-4 polynomial (W ~ 5 N(0, 1), b ~ 5 "
      "N(0, 1)) fitted by Linear(4, 1) on features (x, x^2, x^3, x^4) of fresh x ~ N(0, 1) "
      "batches of 32; F.smooth_l1_loss, manual SGD step 0.1 without momentum, until the loss is "
      "below 1e-3";
  r.provenance.changes =
      "a fixed set of 2,000 training samples (10% for validation) and 500 test samples generated "
      "from the run seed (polynomial, which also draws the polynomial) instead of an endless "
      "stream, 10 epochs instead of the loss threshold; raw features (normalize off), as in the "
      "source";
  r.provenance.satisfactory = 0.9;  // clean runs, seeds 1-5: R^2 0.961-1.000, <= 0.1 s CPU
  r.data = data_of("polynomial", {4}, 0, {{"degree", 4}, {"n_train", 2000}, {"n_test", 500}});
  r.data.val_fraction = 0.1;
  r.data.normalize = false;
  r.layers = {Linear(1)};
  set_training(r, "smooth_l1", sgd(0.1), 32, 10);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "pytorch_regression", pytorch_regression);

}  // namespace dynfault::programs
