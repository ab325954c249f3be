// d2l_lenet_bn_fashion: d2l.ai's LeNet with batch normalization on Fashion-MNIST.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe d2l_lenet_bn_fashion() {
  Recipe r = make_program("d2l_lenet_bn_fashion", "cnn", "multiclass", "image");
  r.provenance.source =
      "Dive into Deep Learning (d2l.ai, PyTorch edition), 'Batch Normalization', concise LeNet "
      "(section 7.5 in 0.17, 8.5 in 1.0): Conv2d(6, 5) - BatchNorm2d - Sigmoid - AvgPool2d(2, 2) "
      "- Conv2d(16, 5) - BatchNorm2d - Sigmoid - AvgPool2d(2, 2) - Flatten - Linear(120) - "
      "BatchNorm1d - Sigmoid - Linear(84) - BatchNorm1d - Sigmoid - Linear(10); xavier_uniform "
      "init (d2l.init_cnn), CrossEntropyLoss, SGD lr 0.1, batch 128, 10 epochs";
  r.provenance.changes =
      "a stratified 6,000-image training subset (10% held out for validation) and 1,000 test "
      "images, 4 epochs, to fit the time budget on one core; the architecture keeps the "
      "chapter's full width; biases start at zero";
  r.provenance.satisfactory = 0.65;  // clean runs, seeds 1-5: accuracy 0.702-0.743, <= 2.4 s CPU
  r.data = fashion_mnist(6000, 1000);
  r.layers = {Conv2d(6, 5),  BatchNorm(), Act("sigmoid"), AvgPool2d(2, 2),
              Conv2d(16, 5), BatchNorm(), Act("sigmoid"), AvgPool2d(2, 2),
              Flatten(),     Linear(120), BatchNorm(),    Act("sigmoid"),
              Linear(84),    BatchNorm(), Act("sigmoid"), Linear(10)};
  r.init = "xavier_uniform";
  set_training(r, "cross_entropy", sgd(0.1), 128, 4);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "d2l_lenet_bn_fashion", d2l_lenet_bn_fashion);

}  // namespace dynfault::programs
