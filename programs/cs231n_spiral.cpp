// cs231n_spiral: the CS231n 'Minimal Neural Network Case Study' on three spiral arms.
#include "programs/catalogue.h"
#include "programs/registry.h"

namespace dynfault::programs {
namespace {

Recipe cs231n_spiral() {
  Recipe r = make_program("cs231n_spiral", "mlp", "multiclass", "synthetic");
  r.provenance.source =
      "Stanford CS231n notes, 'Putting it together: Minimal Neural Network Case Study' "
      "(cs231n.github.io/neural-networks-case-study): 100 points per class on K = 3 spiral arms "
      "(radius 0-1, angle 4k-4(k+1) + N(0, 0.2^2)); a 2-layer net with 100 ReLU units and a "
      "softmax, weights 0.01 N(0, 1), biases 0, full-batch gradient descent with step size 1.0, "
      "L2 0.5 * reg * |W|^2 with reg 1e-3, 10,000 iterations; training accuracy 0.98";
  r.provenance.changes =
      "points generated from the run seed (spirals); 375 training points (20% for validation, "
      "leaving the source's 300) and 300 test points; 2,000 full-batch iterations instead of "
      "10,000, to fit the time budget with the per-epoch evaluation and probes; the L2 term 0.5 "
      "* reg becomes l2 = 5e-4";
  r.provenance.satisfactory = 0.9;  // clean runs, seeds 1-5: accuracy 0.943-0.963, <= 2.3 s CPU
  r.data = data_of("spirals", {2}, 3, {{"n_train", 375}, {"n_test", 300}, {"noise", 0.2}});
  r.data.normalize = false;
  r.layers = {Linear(100), Act("relu"), Linear(3)};
  r.init = "normal";
  r.init_scale = 0.01;
  r.l2 = 5e-4;
  set_training(r, "cross_entropy", sgd(1.0), 0, 2000);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "cs231n_spiral", cs231n_spiral);

}  // namespace dynfault::programs
