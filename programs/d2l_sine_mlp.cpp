// d2l_sine_mlp: d2l.ai's autoregressive MLP on a noisy sine series.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe d2l_sine_mlp() {
  Recipe r = make_program("d2l_sine_mlp", "mlp", "regression", "sequence");
  r.provenance.source =
      "Dive into Deep Learning (d2l.ai, PyTorch edition), 'Sequence Models' / 'Working with "
      "Sequences' (section 8.1 in 0.17, 9.1 in 1.0): x_t = sin(0.01 t) + N(0, 0.2^2) for t = "
      "1..1000, features the tau = 4 previous values, the first 600 samples for training; "
      "Linear(4, 10) - ReLU - Linear(10, 1), xavier_uniform init, MSELoss, Adam lr 0.01, batch "
      "16, 5 epochs";
  r.provenance.changes =
      "the series is generated from the run seed (lagged_series); the latest 10% of the 600 "
      "training samples are held out for validation; the test set is the remaining 396 later "
      "samples (the chapter plots them), scored by R^2; biases start at zero";
  r.provenance.satisfactory = 0.7;  // clean runs, seeds 1-5: R^2 0.750-0.786, <= 0.0 s CPU
  r.data = data_of("lagged_series", {4}, 0,
                   {{"T", 1000}, {"tau", 4}, {"n_train", 600}, {"omega", 0.01}, {"noise", 0.2}});
  r.data.val_fraction = 0.1;
  r.data.normalize = false;
  r.layers = {Linear(10), Act("relu"), Linear(1)};
  r.init = "xavier_uniform";
  set_training(r, "mse", adam(0.01), 16, 5);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "d2l_sine_mlp", d2l_sine_mlp);

}  // namespace dynfault::programs
