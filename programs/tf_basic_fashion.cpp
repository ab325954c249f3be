// tf_basic_fashion: the TensorFlow 'Basic classification' tutorial on Fashion-MNIST.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe tf_basic_fashion() {
  Recipe r = make_program("tf_basic_fashion", "mlp", "multiclass", "image");
  r.provenance.source =
      "TensorFlow tutorial 'Basic classification: Classify images of clothing' (tensorflow/docs "
      "site/en/tutorials/keras/classification.ipynb): Flatten(28, 28) - Dense(128, relu) - "
      "Dense(10) logits; SparseCategoricalCrossentropy(from_logits=True), adam (lr 1e-3, epsilon "
      "1e-7), Keras' default batch 32, 10 epochs on the 60,000 training images / 255";
  r.provenance.changes =
      "a stratified 10,000-image training subset (10% held out for validation; the tutorial has "
      "none) and 2,000 test images, 5 epochs, to fit the time budget on one core; Keras "
      "glorot_uniform kernels with zero biases (init xavier_uniform); the rest as in the source";
  r.provenance.satisfactory = 0.78;  // clean runs, seeds 1-5: accuracy 0.836-0.864, <= 0.9 s CPU
  r.data = fashion_mnist(10000, 2000);
  r.layers = {Flatten(), Linear(128), Act("relu"), Linear(10)};
  r.init = "xavier_uniform";
  set_training(r, "cross_entropy", keras_adam(), 32, 5);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "tf_basic_fashion", tf_basic_fashion);

}  // namespace dynfault::programs
