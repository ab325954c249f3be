// imdb_cnn: the Keras IMDB 1-D convnet (examples/imdb_cnn.py), on synthetic token data.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe imdb_cnn() {
  Recipe r = make_program("imdb_cnn", "cnn", "binary", "sequence");
  r.provenance.source =
      "keras-team/keras examples/imdb_cnn.py (Keras 2.x): imdb.load_data(num_words 5000), "
      "pad_sequences(maxlen 400); Embedding(5000, 50) - Dropout(0.2) - Conv1D(250, 3, valid, "
      "relu) - GlobalMaxPooling1D - Dense(250) - Dropout(0.2) - relu - Dense(1) - sigmoid; "
      "binary_crossentropy, adam, batch 32, 2 epochs";
  r.provenance.changes =
      "IMDB has no offline copy: a seeded stand-in (imdb_tokens) of token ids left-padded to the "
      "source's length, Zipf-distributed background words and 20 positive and 20 negative "
      "sentiment words (each word a sentiment word with probability 0.08, matching the review's "
      "label with probability 0.8); a vocabulary of 5,000 words, 2,000 training reviews (10% for "
      "validation) and 500 test reviews of 200 tokens (instead of 400); embedding 32, 64 filters "
      "and 64 dense units instead of 50, 250 and 250, 3 epochs, to fit the time budget on one "
      "core; GlobalMaxPooling1D is a max-pool over all 198 positions; Keras' Conv1D reads "
      "(steps, channels), hence the transpose after the embedding; glorot_uniform kernels, zero "
      "biases";
  r.provenance.satisfactory = 0.85;  // clean runs, seeds 1-5: accuracy 0.932-0.960, <= 1.9 s CPU
  r.data = data_of("imdb_tokens", {200}, 2,
                   {{"vocab", 5000}, {"seq_len", 200}, {"n_train", 2000}, {"n_test", 500}});
  r.data.val_fraction = 0.1;
  r.layers = {Embedding(5000, 32), Dropout(0.2),   Transpose(), Conv1d(64, 3),
              Act("relu"),         MaxPool1d(198), Flatten(),   Linear(64),
              Dropout(0.2),        Act("relu"),    Linear(1),   Act("sigmoid")};
  r.init = "xavier_uniform";
  set_training(r, "bce", keras_adam(), 32, 3);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "imdb_cnn", imdb_cnn);

}  // namespace dynfault::programs
