// fashion_mlp: the Keras MNIST multilayer perceptron, on Fashion-MNIST.
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe fashion_mlp() {
  Recipe r;
  r.program = "fashion_mlp";
  r.family = "mlp";
  r.task = "multiclass";
  r.provenance.source =
      "keras-team/keras examples/mnist_mlp.py (Keras 2.x): Flatten - Dense(512, relu) - "
      "Dropout(0.2) - Dense(512, relu) - Dropout(0.2) - Dense(10, softmax); "
      "categorical_crossentropy, RMSprop(), batch_size 128, 20 epochs, inputs / 255";
  r.provenance.changes =
      "Fashion-MNIST (Debian dataset-fashion-mnist) instead of MNIST; scaled to fit 10 s on one "
      "core: 128 instead of 512 units, a stratified 6,000-image training subset (10% held out "
      "for validation instead of validating on the test set) and 1,000 test images, 5 epochs; "
      "Keras softmax + categorical_crossentropy becomes logits + LibTorch cross_entropy (the "
      "same function, fused); Keras defaults kept: glorot_uniform kernels with zero biases "
      "(init xavier_uniform), RMSprop lr 1e-3, rho 0.9, epsilon 1e-7; inputs only divided by "
      "255 (normalize off), as in the source";
  r.provenance.metric = "accuracy";
  r.provenance.satisfactory = 0.74;  // clean runs, seeds 1-10: test accuracy 0.762-0.831
  r.provenance.kind = "image";
  r.data.name = "fashion_mnist";
  r.data.sample_shape = {1, 28, 28};
  r.data.num_classes = 10;
  r.data.train_limit = 6000;
  r.data.test_limit = 1000;
  r.data.val_fraction = 0.1;
  r.data.normalize = false;
  r.layers = {Flatten(),   Linear(128), Act("relu"),  Dropout(0.2),
              Linear(128), Act("relu"), Dropout(0.2), Linear(10)};
  r.init = "xavier_uniform";
  r.loss = "cross_entropy";
  r.optimizer.name = "rmsprop";
  r.optimizer.lr = 1e-3;
  r.optimizer.rho = 0.9;
  r.optimizer.eps = 1e-7;
  r.batch_size = 128;
  r.epochs = 5;
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "fashion_mlp", fashion_mlp);

}  // namespace dynfault::programs
