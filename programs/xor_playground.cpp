// xor_playground: the TensorFlow Playground's default network on its XOR data set.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe xor_playground() {
  Recipe r = make_program("xor_playground", "mlp", "binary", "synthetic");
  r.provenance.source =
      "tensorflow/playground (playground.tensorflow.org), src/dataset.ts classifyXORData and the "
      "defaults of src/state.ts: 500 points uniform in [-5, 5]^2 kept 0.3 away from the axes, "
      "label +1 where x * y >= 0; inputs X1, X2; hidden layers of 4 and 2 tanh units and a tanh "
      "output trained on squared error, learning rate 0.03, batch 10, 50% of the points for "
      "training, weights uniform in [-0.5, 0.5]";
  r.provenance.changes =
      "points generated from the run seed (xor: the same quadrant rule at unit scale, noise "
      "0.1); 250 training points (20% for validation) and 250 test points; the tanh output with "
      "squared error on labels +-1 becomes a linear output with bce_logits on labels 0/1; 400 "
      "epochs (the playground trains until stopped; some seeds stay on the 0.7 plateau for 250); "
      "biases start at 0 instead of 0.1";
  r.provenance.satisfactory = 0.75;  // clean runs, seeds 1-5: accuracy 0.828-0.964, <= 2.0 s CPU
  r.data = data_of("xor", {2}, 2, {{"n_train", 250}, {"n_test", 250}});
  r.data.normalize = false;
  r.layers = {Linear(4), Act("tanh"), Linear(2), Act("tanh"), Linear(1)};
  r.init = "uniform";
  r.init_scale = 0.5;
  set_training(r, "bce_logits", sgd(0.03), 10, 400);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "xor_playground", xor_playground);

}  // namespace dynfault::programs
