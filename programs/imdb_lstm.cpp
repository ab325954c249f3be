// imdb_lstm: the Keras IMDB LSTM (examples/imdb_lstm.py), on synthetic token data.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe imdb_lstm() {
  Recipe r = make_program("imdb_lstm", "rnn", "binary", "sequence");
  r.provenance.source =
      "keras-team/keras examples/imdb_lstm.py (Keras 2.x): imdb.load_data(num_words 20000), "
      "pad_sequences(maxlen 80); Embedding(20000, 128) - LSTM(128, dropout 0.2, "
      "recurrent_dropout 0.2) - Dense(1, sigmoid); binary_crossentropy, adam, batch 32, 15 "
      "epochs";
  r.provenance.changes =
      "IMDB has no offline copy: a seeded stand-in (imdb_tokens) of token ids left-padded to the "
      "source's length, Zipf-distributed background words and 20 positive and 20 negative "
      "sentiment words (each word a sentiment word with probability 0.08, matching the review's "
      "label with probability 0.8); a vocabulary of 2,000 words, 2,000 training reviews (10% for "
      "validation) and 500 test reviews; embedding and LSTM width 32 instead of 128 and 4 "
      "epochs, to fit the time budget on one core; no LSTM input/recurrent dropout (nn.LSTM has "
      "neither); Keras adam (epsilon 1e-7); the sigmoid output and binary_crossentropy as in the "
      "source";
  r.provenance.satisfactory = 0.75;  // clean runs, seeds 1-5: accuracy 0.804-0.866, <= 4.4 s CPU
  r.data = data_of("imdb_tokens", {80}, 2,
                   {{"vocab", 2000}, {"seq_len", 80}, {"n_train", 2000}, {"n_test", 500}});
  r.data.val_fraction = 0.1;
  r.layers = {Embedding(2000, 32), Rnn("lstm", 32), Linear(1), Act("sigmoid")};
  r.init = "xavier_uniform";
  set_training(r, "bce", keras_adam(), 32, 4);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "imdb_lstm", imdb_lstm);

}  // namespace dynfault::programs
