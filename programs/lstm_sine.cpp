// lstm_sine: the PyTorch examples LSTM sine-wave predictor, as one-step window forecasting.
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe lstm_sine() {
  Recipe r;
  r.program = "lstm_sine";
  r.family = "rnn";
  r.task = "regression";
  r.provenance.source =
      "pytorch/examples time_sequence_prediction (generate_sine_wave.py, train.py): two stacked "
      "LSTM cells of 51 units and a Linear(51, 1) read sin(t / 20) sequences and predict the "
      "next value; MSELoss, LBFGS lr 0.8";
  r.provenance.changes =
      "seeded synthetic windows (sine_sequence: 20 steps of sin with period 2*pi*20 as in the "
      "source, random phase, input noise 0.05) predicting the next clean value, instead of "
      "whole 1,000-step sequences; 1,000 training windows (20% validation) and 200 test "
      "windows; one nn.LSTM with 2 layers in place of two LSTMCells; Adam lr 5e-3, batch 32, "
      "5 epochs instead of LBFGS (not among our optimizers); float32 instead of float64";
  r.provenance.metric = "r2";
  r.provenance.satisfactory = 0.95;  // clean runs, seeds 1-10: test R^2 0.996-0.998
  r.provenance.kind = "sequence";
  r.data.name = "sine_sequence";
  r.data.sample_shape = {20, 1};
  r.data.num_classes = 0;
  r.data.params = {{"seq_len", 20},
                   {"n_train", 1000},
                   {"n_test", 200},
                   {"noise", 0.05},
                   {"period", 125.66370614359172}};
  r.data.val_fraction = 0.2;
  r.data.normalize = false;
  r.layers = {Rnn("lstm", 51, 2), Linear(1)};
  r.loss = "mse";
  r.optimizer.name = "adam";
  r.optimizer.lr = 5e-3;
  r.batch_size = 32;
  r.epochs = 5;
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "lstm_sine", lstm_sine);

}  // namespace dynfault::programs
