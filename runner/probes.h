#pragma once
/// The tensor side of the probes (db/trace.h lists their keys; trainer.h's ProbeOptions says
/// when they run). Torch header: included by trainer.cpp and the tests, never by torch-free code.
///
/// Every function here only reads the model, its gradients and the optimizer state. Forward
/// passes run on the caller's probe batch in eval mode (restored afterwards), so dropout draws
/// nothing and batch-norm running statistics stay as they are; curvature differentiates with
/// torch::autograd::grad, which never accumulates into .grad; random vectors come from the
/// probe's own generator, never from the global one that initialisation and dropout use.
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "db/trace.h"
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

/// Result of one curvature probe.
struct Curvature {
  double lambda_max = 0;   ///< top eigenvalue (largest magnitude, signed Rayleigh quotient)
  double trace = 0;        ///< Hutchinson estimate of the Hessian's trace
  int64_t iterations = 0;  ///< power iterations done (0 = the loss was not finite)
  int64_t hvps = 0;        ///< Hessian-vector products done (power iteration + Hutchinson)
  double hvp_ms = 0;       ///< wall time of those products, in milliseconds
  double total_ms = 0;     ///< wall time of the whole probe (measure(): forward included)
};

/// Hessian of a scalar objective with respect to parameters, by Hessian-vector products (double
/// backward through torch::autograd::grad): the top eigenvalue by power iteration and the trace
/// by Hutchinson's estimator with Rademacher vectors. Keeps the last eigenvector between calls
/// and starts the next power iteration from it (the top direction moves slowly during training,
/// so later probes converge in a few iterations). Stops when two successive estimates agree
/// within `tol` (relative) or when the eigen-residual ||Hv - lambda v|| is within sqrt(tol)
/// |lambda| (see probes.cpp), after at most `max_iterations` products.
class CurvatureProbe {
 public:
  /// `seed` seeds the probe's private generator (start vector, Rademacher vectors).
  CurvatureProbe(int64_t max_iterations, double tol, int64_t hutchinson_samples, uint64_t seed);

  /// `loss` must have been computed with autograd on from `params`. Parameters the loss does not
  /// depend on are left out. A non-finite loss gives NaN estimates and 0 iterations; a loss
  /// linear in the parameters gives zeros.
  Curvature estimate(const torch::Tensor& loss, const std::vector<torch::Tensor>& params);

  /// The trainer's entry: evaluates `objective()` (the loss on the probe batch) with `net` in
  /// eval mode and autograd on, estimates its curvature, and restores the mode. Eval mode keeps
  /// dropout from drawing random numbers and batch norm from updating its running statistics.
  Curvature measure(torch::nn::Module& net, const std::function<torch::Tensor()>& objective,
                    const std::vector<torch::Tensor>& params);

 private:
  int64_t max_iterations_;
  double tol_;
  int64_t samples_;
  at::Generator gen_;
  torch::Tensor v_;  // last top eigenvector, flat (warm start); undefined at first
};

}  // namespace dynfault::runner::probes
