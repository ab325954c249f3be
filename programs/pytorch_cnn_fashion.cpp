// pytorch_cnn_fashion: the pytorch/examples MNIST convnet (mnist/main.py), on Fashion-MNIST.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe pytorch_cnn_fashion() {
  Recipe r = make_program("pytorch_cnn_fashion", "cnn", "multiclass", "image");
  r.provenance.source =
      "pytorch/examples mnist/main.py: Conv2d(1, 32, 3) - ReLU - Conv2d(32, 64, 3) - ReLU - "
      "max_pool2d(2) - Dropout(0.25) - Flatten - Linear(9216, 128) - ReLU - Dropout(0.5) - "
      "Linear(128, 10) - log_softmax; nll_loss, Adadelta(lr 1.0) with StepLR(step_size 1, gamma "
      "0.7), batch 64, 14 epochs, inputs normalised with MNIST's mean 0.1307 and std 0.3081; "
      "PyTorch's default init";
  r.provenance.changes =
      "Fashion-MNIST (Debian dataset-fashion-mnist) instead of MNIST; a quarter of the width (8 "
      "and 16 filters, 32 hidden units), a stratified 3,000-image training subset (10% held out "
      "for validation) and 1,000 test images, 3 epochs, to fit the time budget on one core; "
      "inputs standardised with the training subset's own mean and std (normalize on) instead of "
      "MNIST's constants; optimizer (PyTorch Adadelta: rho 0.9, eps 1e-6), schedule, batch size, "
      "log_softmax + nll_loss and init as in the source";
  r.provenance.satisfactory = 0.7;  // clean runs, seeds 1-5: accuracy 0.746-0.780, <= 2.0 s CPU
  r.data = fashion_mnist(3000, 1000);
  r.data.normalize = true;
  r.layers = {Conv2d(8, 3), Act("relu"),   Conv2d(16, 3), Act("relu"),
              MaxPool2d(2), Dropout(0.25), Flatten(),     Linear(32),
              Act("relu"),  Dropout(0.5),  Linear(10),    Act("log_softmax")};
  set_training(r, "nll", adadelta(1.0, 0.9, 1e-6), 64, 3);
  r.schedule = step_lr(1, 0.7);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "pytorch_cnn_fashion", pytorch_cnn_fashion);

}  // namespace dynfault::programs
