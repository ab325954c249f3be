// d2l_resnet_fashion: d2l.ai's ResNet, scaled down to 28 x 28 Fashion-MNIST images.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

/// d2l's Residual block: 3 x 3 convolution (with `stride`) - BN - ReLU - 3 x 3 convolution - BN,
/// added to the input (through a strided 1 x 1 convolution when the shape changes), then ReLU.
Layer residual(int64_t out, int64_t stride) {
  return Residual(
      {Conv2d(out, 3, stride, 1), BatchNorm(), Act("relu"), Conv2d(out, 3, 1, 1), BatchNorm()});
}

Recipe d2l_resnet_fashion() {
  Recipe r = make_program("d2l_resnet_fashion", "cnn", "multiclass", "image");
  r.provenance.source =
      "Dive into Deep Learning (d2l.ai, PyTorch edition), 'Residual Networks (ResNet)' (section "
      "7.6 in 0.17, 8.6 in 1.0): ResNet-18, stem Conv2d(64, 7, 2, 3) - BatchNorm2d - ReLU - "
      "MaxPool2d(3, 2, 1), four stages of two residual blocks (64, 128, 256, 512 channels; "
      "Conv2d(3) - BN - ReLU - Conv2d(3) - BN plus the input, through a strided 1 x 1 "
      "convolution when the shape changes, then ReLU), AdaptiveAvgPool2d(1) - Flatten - "
      "Linear(10); Fashion-MNIST resized to 96 x 96, SGD lr 0.05 (0.17; 0.01 in 1.0), batch 256, "
      "10 epochs";
  r.provenance.changes =
      "the images stay 28 x 28: the stem Conv2d(8, 7, 2, 3) - BN - ReLU halves them to 14 x 14 "
      "without the max-pool, then three residual blocks of 8, 16 (stride 2) and 32 channels (the "
      "last keeps 7 x 7, as 7 cannot be halved onto a strided 1 x 1 shortcut), an eighth to a "
      "sixteenth of the channels and one block per stage; the 1 x 1 shortcut convolution has no "
      "bias (the chapter's has one); a stratified 3,000-image training subset (10% for "
      "validation), 1,000 test images and 6 epochs, to fit the time budget on one core; SGD lr "
      "0.02 with batch 64: with lr 0.05 and batch 128 one seed in five ends with batch-norm "
      "running statistics so far from the batch statistics that eval-mode accuracy is 0.20 "
      "against 0.73 in training; biases start at zero (xavier_uniform init)";
  r.provenance.satisfactory = 0.5;  // clean runs, seeds 1-5: accuracy 0.581-0.701, <= 4.0 s CPU
  r.data = fashion_mnist(3000, 1000);
  r.layers = {Conv2d(8, 7, 2, 3),   BatchNorm(),     Act("relu"),
              residual(8, 1),       residual(16, 2), residual(32, 1),
              AdaptiveAvgPool2d(1), Flatten(),       Linear(10)};
  r.init = "xavier_uniform";
  set_training(r, "cross_entropy", sgd(0.02), 64, 6);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "d2l_resnet_fashion", d2l_resnet_fashion);

}  // namespace dynfault::programs
