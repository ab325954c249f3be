// autotrainer_circle: AUTOTRAINER's Circle problem: a small tanh MLP on make_circles.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe autotrainer_circle() {
  Recipe r = make_program("autotrainer_circle", "mlp", "binary", "synthetic");
  r.provenance.source =
      "AUTOTRAINER (shiningrain/AUTOTRAINER) AutoTrainer/data/simplednn.py, load_data('circle'): "
      "make_circles(n_samples 1000, noise 0.1, random_state 1) (factor 0.8) scaled to [-1, 1], "
      "700 training and 300 test points; the data code is that of machinelearningmastery.com's "
      "'How to Fix the Vanishing Gradients Problem Using the ReLU' (J. Brownlee, 2019), whose "
      "model is Dense(5, tanh) - Dense(1, sigmoid), binary_crossentropy, SGD(lr 0.01, momentum "
      "0.9), 500 epochs, batch 32; DeepFD's satisfactory accuracy for Circle is 0.8143";
  r.provenance.changes =
      "points generated from the run seed (circles: factor 0.8, noise 0.1, the same 700/300 "
      "split, 20% of the training part for validation) and standardised instead of min-max "
      "scaled; 200 epochs instead of 500, to fit the time budget; glorot_uniform kernels, zero "
      "biases (xavier_uniform); the sigmoid output and binary_crossentropy as in the source";
  r.provenance.satisfactory = 0.75;  // clean runs, seeds 1-5: accuracy 0.797-0.823, <= 0.7 s CPU
  r.data = data_of("circles", {2}, 2,
                   {{"n_train", 700}, {"n_test", 300}, {"factor", 0.8}, {"noise", 0.1}});
  r.layers = {Linear(5), Act("tanh"), Linear(1), Act("sigmoid")};
  r.init = "xavier_uniform";
  set_training(r, "bce", sgd(0.01, 0.9), 32, 200);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "autotrainer_circle", autotrainer_circle);

}  // namespace dynfault::programs
