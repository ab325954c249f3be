// reuters_mlp: the Keras Reuters newswire MLP (examples/reuters_mlp.py), synthetic data.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe reuters_mlp() {
  Recipe r = make_program("reuters_mlp", "mlp", "multiclass", "text");
  r.provenance.source =
      "keras-team/keras examples/reuters_mlp.py (Keras 2.x): reuters.load_data(num_words 1000), "
      "Tokenizer.sequences_to_matrix(mode 'binary'); Dense(512) - relu - Dropout(0.5) - "
      "Dense(46) - softmax; categorical_crossentropy, adam, batch 32, 5 epochs, validation_split "
      "0.1";
  r.provenance.changes =
      "Reuters has no offline copy: a seeded stand-in (reuters_bow) of 46 topics with "
      "Zipf-skewed frequencies, 15 topic words each, newswires of 20-150 words of which 10% are "
      "topic words, as binary bags of the 1,000-word vocabulary; 3,000 training newswires (10% "
      "for validation) and 1,000 test ones; softmax + categorical_crossentropy becomes logits + "
      "cross_entropy; glorot_uniform kernels, zero biases; width, dropout, optimizer (Keras "
      "adam), batch and epochs as in the source";
  r.provenance.satisfactory = 0.8;  // clean runs, seeds 1-5: accuracy 0.890-0.924, <= 1.6 s CPU
  r.data = data_of("reuters_bow", {1000}, 46,
                   {{"vocab", 1000}, {"classes", 46}, {"n_train", 3000}, {"n_test", 1000}});
  r.data.val_fraction = 0.1;
  r.data.normalize = false;
  r.layers = {Linear(512), Act("relu"), Dropout(0.5), Linear(46)};
  r.init = "xavier_uniform";
  set_training(r, "cross_entropy", keras_adam(), 32, 5);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "reuters_mlp", reuters_mlp);

}  // namespace dynfault::programs
