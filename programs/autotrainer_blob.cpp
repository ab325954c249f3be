// autotrainer_blob: AUTOTRAINER's Blob problem: a one-hidden-layer MLP on three blobs.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe autotrainer_blob() {
  Recipe r = make_program("autotrainer_blob", "mlp", "multiclass", "synthetic");
  r.provenance.source =
      "AUTOTRAINER (shiningrain/AUTOTRAINER) AutoTrainer/data/simplednn.py, load_data('blob'): "
      "make_blobs(n_samples 1000, centers 3, n_features 2, cluster_std 2, random_state 2), "
      "one-hot labels, 700 training and 300 test points; the data code is that of "
      "machinelearningmastery.com's 'Understand the Impact of Learning Rate on Neural Network "
      "Performance' (J. Brownlee, 2019), whose model is Dense(50, relu, he_uniform) - Dense(3, "
      "softmax), categorical_crossentropy, SGD(lr 0.01, momentum 0.9), 200 epochs, batch 32; "
      "DeepFD's satisfactory accuracy for Blob is 0.7627";
  r.provenance.changes =
      "points generated from the run seed (blobs: three centres on a circle of radius 4 instead "
      "of make_blobs' random centres, spread 2, the same 700/300 split, 20% of the training part "
      "for validation), standardised; 100 epochs; he_uniform is kaiming_uniform (zero biases); "
      "softmax + categorical_crossentropy becomes logits + cross_entropy";
  r.provenance.satisfactory = 0.85;  // clean runs, seeds 1-5: accuracy 0.907-0.923, <= 0.3 s CPU
  r.data = data_of("blobs", {2}, 3, {{"n_train", 700}, {"n_test", 300}, {"noise", 2.0}});
  r.layers = {Linear(50), Act("relu"), Linear(3)};
  r.init = "kaiming_uniform";
  set_training(r, "cross_entropy", sgd(0.01, 0.9), 32, 100);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "autotrainer_blob", autotrainer_blob);

}  // namespace dynfault::programs
