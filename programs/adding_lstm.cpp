// adding_lstm: the adding problem with an LSTM, after Le, Jaitly and Hinton (2015).
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe adding_lstm() {
  Recipe r = make_program("adding_lstm", "rnn", "regression", "sequence");
  r.provenance.source =
      "Q. V. Le, N. Jaitly, G. E. Hinton, 'A Simple Way to Initialize Recurrent Networks of "
      "Rectified Linear Units' (arXiv:1504.00941), section 4.1 'Adding Problem' (after "
      "Hochreiter and Schmidhuber 1997): each step holds a value in [0, 1) and a marker, two "
      "steps are marked, the target is the sum of their values; an LSTM of 100 units with a "
      "linear output, mean squared error, SGD with gradient clipping, sequence lengths 150-400; "
      "always predicting 1 gives MSE 0.1767";
  r.provenance.changes =
      "synthetic stand-in generated from the run seed (adding_problem: one marker in each half); "
      "sequences of 30 steps instead of 150-400 and 32 units, to fit the time budget on one core "
      "(4,000 training sequences, 10% for validation, 500 test, 8 epochs); Adam lr 0.01 with "
      "gradient-norm clipping at 1 instead of SGD; the metric is R^2 = 1 - MSE / Var(target), so "
      "the constant baseline scores about 0";
  r.provenance.satisfactory = 0.9;  // clean runs, seeds 1-5: R^2 0.975-0.998, <= 4.3 s CPU
  r.data =
      data_of("adding_problem", {30, 2}, 0, {{"seq_len", 30}, {"n_train", 4000}, {"n_test", 500}});
  r.data.val_fraction = 0.1;
  r.data.normalize = false;
  r.layers = {Rnn("lstm", 32), Linear(1)};
  r.clip_norm = 1.0;
  set_training(r, "mse", adam(0.01), 32, 8);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "adding_lstm", adding_lstm);

}  // namespace dynfault::programs
