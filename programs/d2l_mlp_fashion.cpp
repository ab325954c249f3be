// d2l_mlp_fashion: d2l.ai's concise multilayer perceptron on Fashion-MNIST.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe d2l_mlp_fashion() {
  Recipe r = make_program("d2l_mlp_fashion", "mlp", "multiclass", "image");
  r.provenance.source =
      "Dive into Deep Learning (d2l.ai, PyTorch edition), 'Concise Implementation of Multilayer "
      "Perceptrons' (section 4.3 in 0.17, 5.2 in 1.0): Flatten - Linear(784, 256) - ReLU - "
      "Linear(256, 10); weights N(0, 0.01^2), CrossEntropyLoss, SGD lr 0.1, batch 256, 10 epochs "
      "on Fashion-MNIST";
  r.provenance.changes =
      "a stratified 10,000-image training subset (10% held out for validation) and 2,000 test "
      "images, to keep the clean run short; biases start at zero (the chapter keeps PyTorch's "
      "default bias init)";
  r.provenance.satisfactory = 0.72;  // clean runs, seeds 1-5: accuracy 0.763-0.788, <= 1.2 s CPU
  r.data = fashion_mnist(10000, 2000);
  r.layers = {Flatten(), Linear(256), Act("relu"), Linear(10)};
  r.init = "normal";
  r.init_scale = 0.01;
  set_training(r, "cross_entropy", sgd(0.1), 256, 10);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "d2l_mlp_fashion", d2l_mlp_fashion);

}  // namespace dynfault::programs
