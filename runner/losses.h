#pragma once
/// Loss functions by Recipe name, and the run metric (accuracy or R^2).
///
/// LibTorch's losses are used where they exist; the Keras losses it lacks (mape, msle, logcosh,
/// hinge, squared_hinge, categorical_hinge, kld, poisson) are tensor expressions following
/// Keras 2 (`keras/losses.py`, epsilon 1e-7). A classification target is a class index; losses
/// that need a per-output target (mse, hinge, bce on a 10-way output, ...) one-hot it, and a
/// width-1 output is a binary classifier whose target is the index itself (0 or 1). A regression
/// loss on a classifier is a fault, not an error: it trains.
#include <torch/types.h>  // torch::Tensor

#include <cstdint>
#include <string>
#include <vector>

namespace dynfault::runner {

/// Every loss name the trainer knows.
bool is_known_loss(const std::string& loss);

/// Loss of `output` {N, W} against `target`: int64 class indices {N} when num_classes > 0, else
/// float {N, W} regression targets. Mean over all elements, as Keras and LibTorch reduce.
/// Throws dynfault::Error when the loss cannot apply to this output/target pair (e.g.
/// cross-entropy on a regression target or a width-1 output); the trainer records that as outcome
/// "exception" with the message.
torch::Tensor compute_loss(const std::string& loss, const torch::Tensor& output,
                           const torch::Tensor& target, int64_t num_classes);

/// Predicted class per row: argmax for W >= 2; for W == 1 the output is thresholded at 0 when the
/// loss reads logits or margins (bce_logits, hinge, squared_hinge, categorical_hinge), else 0.5.
torch::Tensor predict_classes(const std::string& loss, const torch::Tensor& output);

/// The L1/L2 penalty l1 * sum|w| + l2 * sum w^2 over `weights` (a scalar; zero when both are 0),
/// added to the loss the optimizer minimises, as Keras' kernel regularizers do.
torch::Tensor penalty(const std::vector<torch::Tensor>& weights, double l1, double l2);

/// Accumulates accuracy (classification) or R^2 (regression, over all target elements) across
/// batches without a host sync per batch.
class MetricAccumulator {
 public:
  MetricAccumulator(std::string loss, bool classification);
  /// Adds one batch (outputs are detached here).
  void add(const torch::Tensor& output, const torch::Tensor& target);
  /// Accuracy in [0, 1] or R^2; NaN when nothing was added (or targets have no variance).
  double value() const;

 private:
  std::string loss_;
  bool classification_;
  int64_t count_ = 0;
  torch::Tensor correct_, sse_, sum_y_, sum_y2_;
};

}  // namespace dynfault::runner
