// keras_denoising_ae: the Keras denoising convolutional autoencoder, on Fashion-MNIST.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe keras_denoising_ae() {
  Recipe r = make_program("keras_denoising_ae", "autoencoder", "regression", "image");
  r.provenance.source =
      "keras-team/keras examples/mnist_denoising_autoencoder.py (Keras 2.x): inputs x + N(0.5, "
      "0.5^2) clipped to [0, 1], target the clean x; encoder Conv2D(32, 3, strides 2, relu, "
      "same) - Conv2D(64, 3, strides 2, relu, same) - Flatten - Dense(16); decoder Dense(7 * 7 * "
      "64) - Reshape - Conv2DTranspose(64, 3, strides 2, relu, same) - Conv2DTranspose(32, 3, "
      "strides 2, relu, same) - Conv2DTranspose(1, 3, same) - sigmoid; loss mse, adam, batch "
      "128, 30 epochs";
  r.provenance.changes =
      "Fashion-MNIST (Debian dataset-fashion-mnist) instead of MNIST, with the same noise; a "
      "quarter of the filters (8 and 16) and a stratified 4,000-image training subset (10% for "
      "validation), 1,000 test images and 8 epochs, to fit the time budget on one core; the "
      "reconstruction is flattened to 784 values and scored by R^2 against the clean image; "
      "'same' padding is padding 1 (with output_padding stride - 1 for the transposed "
      "convolutions); glorot_uniform kernels, zero biases (xavier_uniform); loss, optimizer and "
      "batch as in the source";
  r.provenance.satisfactory = 0.45;  // clean runs, seeds 1-5: R^2 0.543-0.669, <= 7.0 s CPU
  r.data = fashion_mnist(4000, 1000);
  r.data.num_classes = 0;
  r.data.params = {{"autoencoder", 1}, {"denoise_mean", 0.5}, {"denoise_std", 0.5}};
  r.layers = {Conv2d(8, 3, 2, 1),
              Act("relu"),
              Conv2d(16, 3, 2, 1),
              Act("relu"),
              Flatten(),
              Linear(16),
              Linear(7 * 7 * 16),
              Unflatten(16),
              ConvTranspose2d(16, 3, 2, 1),
              Act("relu"),
              ConvTranspose2d(8, 3, 2, 1),
              Act("relu"),
              ConvTranspose2d(1, 3, 1, 1),
              Act("sigmoid"),
              Flatten()};
  r.init = "xavier_uniform";
  set_training(r, "mse", keras_adam(), 128, 8);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "keras_denoising_ae", keras_denoising_ae);

}  // namespace dynfault::programs
