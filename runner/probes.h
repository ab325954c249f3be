#pragma once
/// The tensor side of the probes (db/trace.h lists their keys; probe_options.h's ProbeOptions says
/// when they run). Torch header: included by trainer.cpp and the tests, never by torch-free code.
///
/// Every function here only reads the model, its gradients and the optimizer state. Forward
/// passes run on the caller's probe batch in eval mode (restored afterwards), so dropout draws
/// nothing and batch-norm running statistics stay as they are. The curvature probe
/// (runner/curvature.h, included here) differentiates with torch::autograd::grad, which never
/// accumulates into .grad, draws its random vectors from its own generator and restores what a
/// training-mode forward pass changes.
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "db/trace.h"
#include "runner/curvature.h"
#include "runner/model_builder.h"

namespace dynfault::runner::probes {

/// Appends metric points to a run's trace.
class Recorder {
 public:
  explicit Recorder(std::vector<db::MetricPoint>& out) : out_(out) {}
  void add(const std::string& key, int64_t step, double value, int64_t ts) {
    out_.push_back(db::MetricPoint{key, step, value, ts});
  }

 private:
  std::vector<db::MetricPoint>& out_;
};

/// Restores a module's train/eval mode when leaving scope (also on exceptions).
class ModeGuard {
 public:
  explicit ModeGuard(torch::nn::Module& m) : m_(m), training_(m.is_training()) {}
  ~ModeGuard() { m_.train(training_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  torch::nn::Module& m_;
  bool training_;
};

/// A parameter tensor under its `named_parameters()` name (the name used in the trace).
struct NamedParam {
  std::string name;
  torch::Tensor tensor;
};

/// |w| below this counts as "near zero" (prior-work 3.5).
inline constexpr double kNearZero = 1e-5;
/// |pre-activation| at or beyond this counts as saturated for sigmoid and tanh (DEFault's +-5);
/// hard_sigmoid is exactly flat beyond +-3.
inline constexpr double kSaturation = 5.0;
inline constexpr double kHardSigmoidSaturation = 3.0;

/// grad/<p>/{norm,mean_abs,max_abs,zero_frac,nonfinite} and the globals grad/global_norm,
/// grad/nonfinite, grad/first_last_ratio, grad/first_norm, grad/last_norm, grad/zero_frac.
/// "First" and "last" are the first and last parameter tensors of rank >= 2 (weight matrices and
/// kernels, not biases). Reads .grad only; parameters without a gradient are skipped.
void record_gradients(const std::vector<NamedParam>& params, Recorder& rec, int64_t step,
                      int64_t ts);

/// weight/<p>/{norm,mean,std,max_abs,near_zero_frac} and weight/{nonfinite,max_abs,mean,std}
/// (std is the population std).
void record_weights(const std::vector<NamedParam>& params, Recorder& rec, int64_t step, int64_t ts);

/// Copies of the parameters, taken before the optimizer step whose update ratio is wanted.
std::vector<torch::Tensor> snapshot(const std::vector<NamedParam>& params);

/// weight/<p>/update_ratio = ||W - W_before|| / ||W_before|| per tensor and weight/update_ratio
/// over all tensors together (a zero W_before gives +Inf, or NaN when nothing moved).
void record_update_ratios(const std::vector<NamedParam>& params,
                          const std::vector<torch::Tensor>& before, Recorder& rec, int64_t step,
                          int64_t ts);

/// opt/<p>/{exp_avg_norm,exp_avg_sq_norm,eff_step_mean,momentum_norm,accum_norm} and the global
/// opt/... keys (L2 norms over all tensors; eff_step_mean weighted by element count), read from
/// `optimizer.state()` (keyed by TensorImpl address) and translated to parameter names. A key is
/// written only when the optimizer holds that state:
///   adam, adamw, nadam   exp_avg, exp_avg_sq (max_exp_avg_sq under amsgrad); eff_step =
///                        lr / (sqrt(v_hat) + eps), v_hat = v / (1 - beta2^t): the factor that
///                        multiplies the bias-corrected first moment
///   adamax               exp_avg; accum = exp_inf; eff_step = lr / exp_inf
///   sgd                  momentum = momentum_buffer (only with momentum)
///   rmsprop              accum = square_avg, momentum = momentum_buffer; eff_step =
///                        lr / (sqrt(square_avg) + eps)
///   adagrad              accum = sum; eff_step = lr_t / (sqrt(sum) + eps), lr_t with lr_decay
///   adadelta             accum = square_avg; eff_step = lr sqrt(acc_delta + eps) /
///                        sqrt(square_avg + eps)
void record_optimizer(const torch::optim::Optimizer& optimizer,
                      const std::vector<NamedParam>& params, Recorder& rec, int64_t step,
                      int64_t ts);

/// Activation statistics of every dynfault Activation module of a model, on a probe batch.
class ActivationProbe {
 public:
  /// Finds the activation modules (runner/model_builder.h) under `net`, by module path.
  explicit ActivationProbe(NetImpl& net);
  bool empty() const { return layers_.empty(); }

  /// Runs `net.forward(x)` with captures set, under NoGradGuard and in eval mode (restored
  /// afterwards, also on exceptions), and records act/<layer>/{mean,std} for every layer,
  /// dead_frac (share of outputs <= 0) for relu, leaky_relu, elu, selu and gelu, sat_frac (share
  /// of pre-activations with |x| >= 5, >= 3 for hard_sigmoid) for sigmoid, tanh and
  /// hard_sigmoid, and the aggregates act/dead_frac_max, act/sat_frac_max, act/mean_abs_max
  /// (max over layers of mean |output|) and act/std_mean.
  void record(NetImpl& net, const torch::Tensor& x, Recorder& rec, int64_t step, int64_t ts);

 private:
  struct Layer {
    std::string name;
    std::shared_ptr<ActivationImpl> module;
    int kind;  // 0 plain, 1 ReLU-like (dead), 2 saturating, 3 hard sigmoid
  };
  std::vector<Layer> layers_;
};

}  // namespace dynfault::runner::probes
