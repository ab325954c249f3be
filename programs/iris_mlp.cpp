// iris_mlp: the TensorFlow "Custom training: walkthrough" iris classifier.
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe iris_mlp() {
  Recipe r;
  r.program = "iris_mlp";
  r.family = "mlp";
  r.task = "multiclass";
  r.provenance.source =
      "TensorFlow tutorial 'Custom training: walkthrough' (tensorflow/docs, "
      "site/en/tutorials/customization/custom_training_walkthrough.ipynb): Dense(10, relu) - "
      "Dense(10, relu) - Dense(3) logits, SparseCategoricalCrossentropy(from_logits=True), "
      "SGD lr 0.01, batch 32, 201 epochs on 120 training and 30 test flowers, raw features";
  r.provenance.changes =
      "scikit-learn's iris.csv (vendored) with a fixed stratified 120/30 train/test split "
      "instead of the tutorial's download; 20% of the training part held out for validation "
      "(the tutorial has none); Keras glorot_uniform kernels with zero biases (init "
      "xavier_uniform); raw features (normalize off), as in the source";
  r.provenance.metric = "accuracy";
  r.provenance.satisfactory = 0.80;  // clean runs, seeds 1-10: test accuracy 0.833-0.967
  r.provenance.kind = "tabular";
  r.data.name = "iris";
  r.data.sample_shape = {4};
  r.data.num_classes = 3;
  r.data.val_fraction = 0.2;
  r.data.normalize = false;
  r.layers = {Linear(10), Act("relu"), Linear(10), Act("relu"), Linear(3)};
  r.init = "xavier_uniform";
  r.loss = "cross_entropy";
  r.optimizer.name = "sgd";
  r.optimizer.lr = 0.01;
  r.batch_size = 32;
  r.epochs = 201;
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "iris_mlp", iris_mlp);

}  // namespace dynfault::programs
