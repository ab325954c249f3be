// d2l_vgg_fashion: d2l.ai's VGG, scaled down to 28 x 28 Fashion-MNIST images.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

/// d2l's vgg_block: `convs` 3 x 3 convolutions with ReLU, then a 2 x 2 max-pool.
std::vector<Layer> vgg_block(int convs, int64_t out) {
  std::vector<Layer> block;
  for (int i = 0; i < convs; ++i) {
    block.push_back(Conv2d(out, 3, 1, 1));
    block.push_back(Act("relu"));
  }
  block.push_back(MaxPool2d(2, 2));
  return block;
}

Recipe d2l_vgg_fashion() {
  Recipe r = make_program("d2l_vgg_fashion", "cnn", "multiclass", "image");
  r.provenance.source =
      "Dive into Deep Learning (d2l.ai, PyTorch edition), 'Networks Using Blocks (VGG)' (section "
      "7.2 in 0.17, 8.2 in 1.0): VGG-11 blocks ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)) "
      "divided by ratio 4 for training, each block n x (Conv2d(3, padding 1) - ReLU) then "
      "MaxPool2d(2, 2); Flatten - Linear(4096) - ReLU - Dropout(0.5) - Linear(4096) - ReLU - "
      "Dropout(0.5) - Linear(10); Fashion-MNIST resized to 224 x 224, xavier_uniform init, "
      "CrossEntropyLoss, SGD lr 0.05 (0.17), batch 128, 10 epochs";
  r.provenance.changes =
      "the images stay 28 x 28, so three blocks ((1, 8), (1, 16), (2, 32)) take them to 3 x 3 "
      "(five halvings would leave nothing), and the dense layers have 256 units; a stratified "
      "3,000-image training subset (10% for validation), 1,000 test images and 6 epochs, to fit "
      "the time budget on one core, with batch 32 instead of 128: four times the updates, "
      "without which plain SGD is still near its plateau at the end (test accuracy 0.53-0.60 "
      "with batch 128); biases start at zero; lr, plain SGD, dropout and init are the chapter's";
  r.provenance.satisfactory = 0.6;  // clean runs, seeds 1-5: accuracy 0.650-0.716, <= 4.5 s CPU
  r.data = fashion_mnist(3000, 1000);
  r.layers = concat({vgg_block(1, 8),
                     vgg_block(1, 16),
                     vgg_block(2, 32),
                     {Flatten(), Linear(256), Act("relu"), Dropout(0.5), Linear(256), Act("relu"),
                      Dropout(0.5), Linear(10)}});
  r.init = "xavier_uniform";
  set_training(r, "cross_entropy", sgd(0.05), 32, 6);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "d2l_vgg_fashion", d2l_vgg_fashion);

}  // namespace dynfault::programs
