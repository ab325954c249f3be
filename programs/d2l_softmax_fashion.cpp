// d2l_softmax_fashion: d2l.ai's concise softmax regression on Fashion-MNIST.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe d2l_softmax_fashion() {
  Recipe r = make_program("d2l_softmax_fashion", "mlp", "multiclass", "image");
  r.provenance.source =
      "Dive into Deep Learning (d2l.ai, PyTorch edition), 'Concise Implementation of Softmax "
      "Regression' (section 3.7 in 0.17, 4.5 in 1.0): Flatten - Linear(784, 10); weights N(0, "
      "0.01^2) (0.17's init_weights), CrossEntropyLoss, SGD lr 0.1, batch 256, 10 epochs on "
      "Fashion-MNIST (ToTensor scaling to [0, 1])";
  r.provenance.changes =
      "a stratified 10,000-image training subset (10% held out for validation; the chapter "
      "validates on the test set) and 2,000 test images, to keep the clean run short; biases "
      "start at zero (the chapter keeps PyTorch's default bias init)";
  r.provenance.satisfactory = 0.75;  // clean runs, seeds 1-5: accuracy 0.801-0.814, <= 0.2 s CPU
  r.data = fashion_mnist(10000, 2000);
  r.layers = {Flatten(), Linear(10)};
  r.init = "normal";
  r.init_scale = 0.01;
  set_training(r, "cross_entropy", sgd(0.1), 256, 10);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "d2l_softmax_fashion", d2l_softmax_fashion);

}  // namespace dynfault::programs
