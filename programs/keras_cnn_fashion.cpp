// keras_cnn_fashion: the Keras MNIST convnet (examples/mnist_cnn.py), on Fashion-MNIST.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe keras_cnn_fashion() {
  Recipe r = make_program("keras_cnn_fashion", "cnn", "multiclass", "image");
  r.provenance.source =
      "keras-team/keras examples/mnist_cnn.py (Keras 2.x): Conv2D(32, 3, relu) - Conv2D(64, 3, "
      "relu) - MaxPooling2D(2) - Dropout(0.25) - Flatten - Dense(128, relu) - Dropout(0.5) - "
      "Dense(10, softmax); categorical_crossentropy, Adadelta() (lr 1.0, rho 0.95, epsilon "
      "1e-7), batch 128, 12 epochs, inputs / 255; glorot_uniform kernels, zero biases";
  r.provenance.changes =
      "Fashion-MNIST (Debian dataset-fashion-mnist) instead of MNIST; a quarter of the width (8 "
      "and 16 filters, 32 dense units) and a stratified 5,000-image training subset (10% held "
      "out for validation instead of validating on the test set), 1,000 test images and 5 epochs "
      "to fit the time budget on one core; softmax + categorical_crossentropy becomes logits + "
      "cross_entropy (the same function, fused); optimizer, batch size, dropout, init and the / "
      "255 scaling as in the source";
  r.provenance.satisfactory = 0.68;  // clean runs, seeds 1-5: accuracy 0.737-0.789, <= 6.3 s CPU
  r.data = fashion_mnist(5000, 1000);
  r.layers = {Conv2d(8, 3), Act("relu"), Conv2d(16, 3), Act("relu"),  MaxPool2d(2), Dropout(0.25),
              Flatten(),    Linear(32),  Act("relu"),   Dropout(0.5), Linear(10)};
  r.init = "xavier_uniform";
  set_training(r, "cross_entropy", keras_adadelta(), 128, 5);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "keras_cnn_fashion", keras_cnn_fashion);

}  // namespace dynfault::programs
