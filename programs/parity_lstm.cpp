// parity_lstm: parity of variable-length bit strings with an LSTM (OpenAI warm-up).
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe parity_lstm() {
  Recipe r = make_program("parity_lstm", "rnn", "binary", "sequence");
  r.provenance.source =
      "OpenAI, 'Requests for Research 2.0' (2018), warm-up 'Train an LSTM to solve the XOR "
      "problem': an LSTM reads a bit string one bit at a time and outputs its parity at the end; "
      "with 100,000 strings of fixed length 50 it fails, with lengths drawn from 1-50 it "
      "succeeds";
  r.provenance.changes =
      "synthetic stand-in generated from the run seed (parity): the variable-length variant with "
      "lengths 1-16, left-padded with zeros to 16 steps (a zero keeps the parity); 3,000 "
      "training strings (10% for validation) and 500 test strings; the request fixes no "
      "architecture: LSTM(32) on the last step - Linear(2), cross_entropy, Adam lr 0.01, batch "
      "32, 10 epochs";
  r.provenance.satisfactory = 0.95;  // clean runs, seeds 1-5: accuracy 1.000-1.000, <= 1.8 s CPU
  r.data = data_of("parity", {16, 1}, 2, {{"seq_len", 16}, {"n_train", 3000}, {"n_test", 500}});
  r.data.val_fraction = 0.1;
  r.data.normalize = false;
  r.layers = {Rnn("lstm", 32), Linear(2)};
  set_training(r, "cross_entropy", adam(0.01), 32, 10);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "parity_lstm", parity_lstm);

}  // namespace dynfault::programs
