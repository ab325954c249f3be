// imdb_cnn_lstm: the Keras IMDB convnet + LSTM (examples/imdb_cnn_lstm.py), synthetic data.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe imdb_cnn_lstm() {
  Recipe r = make_program("imdb_cnn_lstm", "rnn", "binary", "sequence");
  r.provenance.source =
      "keras-team/keras examples/imdb_cnn_lstm.py (Keras 2.x): imdb.load_data(num_words 20000), "
      "pad_sequences(maxlen 100); Embedding(20000, 128) - Dropout(0.25) - Conv1D(64, 5, valid, "
      "relu) - MaxPooling1D(4) - LSTM(70) - Dense(1) - sigmoid; binary_crossentropy, adam, batch "
      "30, 2 epochs";
  r.provenance.changes =
      "IMDB has no offline copy: a seeded stand-in (imdb_tokens) of token ids left-padded to the "
      "source's length, Zipf-distributed background words and 20 positive and 20 negative "
      "sentiment words (each word a sentiment word with probability 0.08, matching the review's "
      "label with probability 0.8); a vocabulary of 2,000 words, 2,000 training reviews (10% for "
      "validation) and 500 test reviews of 100 tokens; embedding 32 and LSTM 32 instead of 128 "
      "and 70, 4 epochs, to fit the time budget on one core; transposes between the (steps, "
      "channels) layout of the embedding and LSTM and the (channels, steps) layout of Conv1d; "
      "glorot_uniform kernels, zero biases; filters, pooling and batch as in the source";
  r.provenance.satisfactory = 0.8;  // clean runs, seeds 1-5: accuracy 0.904-0.906, <= 3.1 s CPU
  r.data = data_of("imdb_tokens", {100}, 2,
                   {{"vocab", 2000}, {"seq_len", 100}, {"n_train", 2000}, {"n_test", 500}});
  r.data.val_fraction = 0.1;
  r.layers = {Embedding(2000, 32), Dropout(0.25), Transpose(),     Conv1d(64, 5), Act("relu"),
              MaxPool1d(4),        Transpose(),   Rnn("lstm", 32), Linear(1),     Act("sigmoid")};
  r.init = "xavier_uniform";
  set_training(r, "bce", keras_adam(), 30, 4);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "imdb_cnn_lstm", imdb_cnn_lstm);

}  // namespace dynfault::programs
