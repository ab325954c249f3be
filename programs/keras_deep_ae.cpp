// keras_deep_ae: the deep fully-connected autoencoder of the Keras blog, on Fashion-MNIST.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe keras_deep_ae() {
  Recipe r = make_program("keras_deep_ae", "autoencoder", "regression", "image");
  r.provenance.source =
      "F. Chollet, 'Building Autoencoders in Keras' (blog.keras.io, 2016), section 'Deep "
      "autoencoder': Dense(128, relu) - Dense(64, relu) - Dense(32, relu) - Dense(64, relu) - "
      "Dense(128, relu) - Dense(784, sigmoid) on flattened MNIST / 255; adam, "
      "binary_crossentropy, batch 256, 100 epochs";
  r.provenance.changes =
      "Fashion-MNIST (Debian dataset-fashion-mnist) instead of MNIST; mse instead of "
      "binary_crossentropy, so that the task is a regression scored by R^2 of the "
      "reconstruction; a stratified 6,000-image training subset (10% for validation), 1,000 test "
      "images and 20 epochs, to fit the time budget on one core; glorot_uniform kernels, zero "
      "biases (xavier_uniform); widths, optimizer and batch as in the source";
  r.provenance.satisfactory = 0.75;  // clean runs, seeds 1-5: R^2 0.815-0.826, <= 3.8 s CPU
  r.data = fashion_mnist(6000, 1000);
  r.data.num_classes = 0;
  r.data.params = {{"autoencoder", 1}};
  r.layers = {Flatten(),   Linear(128), Act("relu"),   Linear(64),  Act("relu"),
              Linear(32),  Act("relu"), Linear(64),    Act("relu"), Linear(128),
              Act("relu"), Linear(784), Act("sigmoid")};
  r.init = "xavier_uniform";
  set_training(r, "mse", keras_adam(), 256, 20);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "keras_deep_ae", keras_deep_ae);

}  // namespace dynfault::programs
