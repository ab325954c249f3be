#include "runner/losses.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "common/check.h"
#include "programs/recipe.h"

namespace dynfault::runner {
namespace {

namespace F = torch::nn::functional;

constexpr double kEps = 1e-7;  // keras.backend.epsilon()

std::string sizes_str(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

/// Per-output targets for a classifier: the index itself for a width-1 (binary) output, else
/// one-hot over the output width.
torch::Tensor dense_targets(const torch::Tensor& target, int64_t width) {
  if (width == 1) return target.to(torch::kFloat).unsqueeze(1);
  return F::one_hot(target, width).to(torch::kFloat);
}

/// Keras hinge losses convert {0, 1} targets to {-1, 1}.
torch::Tensor signed_targets(const torch::Tensor& dense) { return dense * 2 - 1; }

torch::Tensor regression_style(const std::string& loss, const torch::Tensor& o,
                               const torch::Tensor& t) {
  if (loss == "mse") return F::mse_loss(o, t);
  if (loss == "mae") return F::l1_loss(o, t);
  if (loss == "huber") return F::huber_loss(o, t);
  if (loss == "smooth_l1") return F::smooth_l1_loss(o, t);
  if (loss == "mape") return 100.0 * ((t - o).abs() / t.abs().clamp_min(kEps)).mean();
  if (loss == "msle") {
    return (torch::log1p(o.clamp_min(kEps)) - torch::log1p(t.clamp_min(kEps))).pow(2).mean();
  }
  if (loss == "logcosh") {
    // log(cosh(x)) = x + softplus(-2x) - log 2, stable for large |x| (Keras' formulation).
    const torch::Tensor x = o - t;
    return (x + F::softplus(-2.0 * x) - std::log(2.0)).mean();
  }
  if (loss == "poisson") return (o - t * torch::log(o + kEps)).mean();
  throw Error("compute_loss(): internal: '" + loss + "' is not a regression-style loss");
}

}  // namespace

bool is_known_loss(const std::string& loss) {
  return programs::is_classification_loss(loss) || programs::is_regression_loss(loss);
}

torch::Tensor compute_loss(const std::string& loss, const torch::Tensor& output,
                           const torch::Tensor& target, int64_t num_classes) {
  DYNFAULT_CHECK(is_known_loss(loss), "compute_loss(): unknown loss '", loss, "'");
  DYNFAULT_CHECK(output.dim() == 2, "compute_loss(): loss '", loss,
                 "' expects model outputs {N, W}, got ", sizes_str(output),
                 " (is a flatten or last_step missing?)");
  const int64_t width = output.size(1);

  if (num_classes == 0) {
    DYNFAULT_CHECK(!programs::is_classification_loss(loss), "compute_loss(): loss '", loss,
                   "' needs class targets, but the task is regression (targets ", sizes_str(target),
                   ", output width ", width, ")");
    DYNFAULT_CHECK(output.sizes() == target.sizes(), "compute_loss(): output ", sizes_str(output),
                   " does not match regression target ", sizes_str(target));
    return regression_style(loss, output, target);
  }

  if (loss == "cross_entropy" || loss == "nll") {
    DYNFAULT_CHECK(width >= 2, "compute_loss(): loss '", loss,
                   "' needs one output per class, but the model's output width is ", width, " for ",
                   num_classes, " classes");
    return loss == "cross_entropy" ? F::cross_entropy(output, target) : F::nll_loss(output, target);
  }
  const torch::Tensor t = dense_targets(target, width);
  if (loss == "bce") {
    // Keras clips probabilities to [eps, 1 - eps] instead of failing on values outside [0, 1],
    // so a "bce on logits" fault trains (with zero gradient where clipped) as it would there.
    return F::binary_cross_entropy(output.clamp(kEps, 1.0 - kEps), t);
  }
  if (loss == "bce_logits") return F::binary_cross_entropy_with_logits(output, t);
  if (loss == "hinge") return (1.0 - signed_targets(t) * output).clamp_min(0.0).mean();
  if (loss == "squared_hinge") {
    return (1.0 - signed_targets(t) * output).clamp_min(0.0).pow(2).mean();
  }
  if (loss == "categorical_hinge") {
    const torch::Tensor pos = (t * output).sum(1);
    const torch::Tensor neg = std::get<0>(((1.0 - t) * output).max(1));
    return (neg - pos + 1.0).clamp_min(0.0).mean();
  }
  if (loss == "kld") {
    const torch::Tensor tc = t.clamp(kEps, 1.0);
    const torch::Tensor pc = output.clamp(kEps, 1.0);
    return (tc * torch::log(tc / pc)).sum(1).mean();
  }
  return regression_style(loss, output, t);
}

torch::Tensor predict_classes(const std::string& loss, const torch::Tensor& output) {
  if (output.dim() == 2 && output.size(1) >= 2) return output.argmax(1);
  const bool margin = loss == "bce_logits" || loss == "hinge" || loss == "squared_hinge" ||
                      loss == "categorical_hinge";
  return (output.reshape({output.size(0)}) > (margin ? 0.0 : 0.5)).to(torch::kLong);
}

MetricAccumulator::MetricAccumulator(std::string loss, bool classification)
    : loss_(std::move(loss)), classification_(classification) {
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  correct_ = torch::zeros({}, opts);
  sse_ = torch::zeros({}, opts);
  sum_y_ = torch::zeros({}, opts);
  sum_y2_ = torch::zeros({}, opts);
}

void MetricAccumulator::add(const torch::Tensor& output, const torch::Tensor& target) {
  torch::NoGradGuard no_grad;
  const torch::Tensor o = output.detach();
  if (classification_) {
    correct_ += (predict_classes(loss_, o) == target).sum().to(torch::kDouble);
    count_ += target.size(0);
    return;
  }
  const torch::Tensor y = target.to(torch::kDouble);
  sse_ += (o.to(torch::kDouble).reshape(y.sizes()) - y).pow(2).sum();
  sum_y_ += y.sum();
  sum_y2_ += y.pow(2).sum();
  count_ += y.numel();
}

double MetricAccumulator::value() const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  const auto n = static_cast<double>(count_);
  if (classification_) return correct_.item<double>() / n;
  const double sum_y = sum_y_.item<double>();
  const double ss_tot = sum_y2_.item<double>() - sum_y * sum_y / n;
  if (!(ss_tot > 0)) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - sse_.item<double>() / ss_tot;
}

torch::Tensor penalty(const std::vector<torch::Tensor>& weights, double l1, double l2) {
  torch::Tensor p = torch::zeros({});
  for (const auto& w : weights) {
    if (l1 > 0) p = p + l1 * w.abs().sum();
    if (l2 > 0) p = p + l2 * w.pow(2).sum();
  }
  return p;
}

}  // namespace dynfault::runner
