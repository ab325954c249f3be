#pragma once
/// The curvature probe (db/trace.h lists its keys `curv/...`; probe_options.h's ProbeOptions says
/// when it runs): the extreme eigenvalues of the Hessian of the minimised objective on a fixed
/// probe batch, by Lanczos with full reorthogonalisation (or, for comparison, power iteration) on
/// Hessian-vector products; Hutchinson's trace; and the optimizer's stability ratio, the
/// sharpness its update responds to over the limit beyond which that update diverges on a
/// quadratic. Also the exact oracle (the full Hessian from products against the unit vectors)
/// that the tests and `dynfault check curvature` compare the probe with.
///
/// Torch header: included by the trainer, the check and the tests, never by torch-free code.
/// Nothing here writes .grad (torch::autograd::grad only), and random vectors come from the
/// probe's own generator; measure() restores the module's mode, its buffers and the global
/// generator, so a probe never changes training.
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "runner/trainer.h"

namespace dynfault::runner::probes {

inline constexpr double kCurvNaN = std::numeric_limits<double>::quiet_NaN();

/// A symmetric linear operator on flat vectors of one length and dtype (a Hessian, or a Hessian
/// between diagonal preconditioners).
using SymmetricOperator = std::function<torch::Tensor(const torch::Tensor&)>;

/// The extreme eigenvalue estimates of a symmetric operator.
struct Edges {
  double max = kCurvNaN;  ///< largest (algebraic) eigenvalue
  double min = kCurvNaN;  ///< smallest (algebraic) eigenvalue
  /// max over both estimates of ||A y - theta y|| / max(|max|, |min|) for the unit vector y the
  /// estimate theta comes from: each estimate lies within residual x max(|max|, |min|) of an
  /// eigenvalue of A (0 when the operator is zero).
  double residual = kCurvNaN;
  int64_t products = 0;  ///< operator applications
  /// Lanczos only: the basis spans the whole space (k >= its dimension), so T is similar to A:
  /// max, min and trace are exact up to rounding.
  bool spans = false;
  double trace = kCurvNaN;  ///< trace of the tridiagonal matrix (exact when `spans`)
  /// Lanczos: q_0^T A q_0 for its start q_0 = z / sqrt(n), z Rademacher, so that n times it is
  /// one Hutchinson sample of the trace, z^T A z.
  double start_rayleigh = kCurvNaN;
};

/// Lanczos with full reorthogonalisation (each new vector orthogonalised against all earlier
/// ones, twice when needed, so no ghost eigenvalues) from a Rademacher start drawn from `gen`,
/// with vectors of `dtype` (the parameters': float32 products carry float32 rounding anyway, and
/// halve the vector work). The extreme eigenvalues of the tridiagonal matrix T_m (kept in
/// double) are the estimates (Ritz values); their residuals are |beta_m s_m| (Parlett, The
/// Symmetric Eigenvalue Problem, ch. 13). Stops after `k` products, or earlier once the
/// residual of the top Ritz value (and of the bottom one, with `need_min`) is at most
/// tol x max(|max|, |min|) (tol 0: always k). An invariant subspace (beta ~ 0) restarts from a
/// random vector orthogonal to the basis, so k >= n with tol 0 always ends with a basis of the
/// whole space. Non-finite products give NaN.
Edges lanczos_edges(const SymmetricOperator& op, int64_t n, int64_t k, at::Generator& gen,
                    torch::ScalarType dtype = torch::kDouble, double tol = 0, bool need_min = true);

/// Power iteration for the eigenvalue of largest magnitude mu, then on A - mu I for the other
/// end of the spectrum; each stops after `k` products, when two successive estimates agree
/// within `tol` (relative), or when the eigen-residual is within sqrt(tol) of the estimate.
/// `warm` (two vectors, may be undefined) holds the last eigenvectors: the next call starts
/// from them when their length matches.
Edges power_edges(const SymmetricOperator& op, int64_t n, int64_t k, double tol, at::Generator& gen,
                  torch::Tensor warm[2], torch::ScalarType dtype = torch::kDouble);

/// How one optimizer update responds to curvature, linearised on a quadratic with the
/// preconditioner frozen: the update is theta -= D (a g + b m) with m <- beta m + (1 - beta) g,
/// D a per-element step (learning rate included). Along an eigenvector of
/// D^1/2 (H + wd I) D^1/2 with eigenvalue s, the iteration diverges when s exceeds
/// limit() = 2 (1 + beta) / (a (1 + beta) + b (1 - beta)). db/trace.h gives a, b, beta and D
/// per optimizer with their sources.
struct StabilityRule {
  std::string optimizer;    ///< Recipe name: sgd, adam, ...
  bool adaptive = false;    ///< per-element D from the optimizer state (else D = lr)
  bool ready = false;       ///< false: an adaptive optimizer before its first update
  double lr = kCurvNaN;     ///< the learning rate in effect
  double weight_decay = 0;  ///< decay added to the gradient (coupled; AdamW's is not)
  double a = 1, b = 0, beta = 0;
  /// Adaptive optimizers: D per parameter, in the order of the parameters given to
  /// stability_rule (undefined for a parameter the optimizer holds no state for).
  std::vector<torch::Tensor> step;

  double limit() const { return 2 * (1 + beta) / (a * (1 + beta) + b * (1 - beta)); }
};

/// The rule of `optimizer`'s next update for `params`, read from its options and state.
StabilityRule stability_rule(const torch::optim::Optimizer& optimizer,
                             const std::vector<torch::Tensor>& params);

/// Result of one curvature probe. NaN marks what could not be measured.
struct Curvature {
  double lambda_max = kCurvNaN;  ///< largest eigenvalue of the Hessian
  double lambda_min = kCurvNaN;  ///< smallest eigenvalue of the Hessian
  /// Hutchinson estimate over hutchinson_samples Rademacher vectors, the Lanczos start being
  /// the first (exact when the Lanczos basis spans)
  double trace = kCurvNaN;
  double residual = kCurvNaN;  ///< Edges::residual of the Hessian's estimates
  /// Adaptive optimizers: largest eigenvalue of D^1/2 (H + wd I) D^1/2, i.e. of P^-1 (H + wd I)
  /// with P = D^-1 (lr included); NaN otherwise and before the first update.
  double precond_sharpness = kCurvNaN;
  double precond_residual = kCurvNaN;
  /// The sharpness the update responds to over its limit: lr (lambda_max + wd) / limit for
  /// SGD-family updates, precond_sharpness / limit for adaptive ones. Above 1: beyond the edge
  /// of stability.
  double stability_ratio = kCurvNaN;
  double stability_limit = kCurvNaN;
  int64_t size = 0;        ///< parameters the objective depends on
  int64_t iterations = 0;  ///< products on the Hessian for its edges (0: the loss was not finite)
  int64_t hvps = 0;        ///< every Hessian-vector product (edges, preconditioned, Hutchinson)
  bool exact_trace = false;
  double hvp_ms = 0;    ///< wall time of those products, in milliseconds
  double total_ms = 0;  ///< wall time of the whole probe (measure(): forward included)
};

/// Which eigen-solver a probe uses.
using CurvatureMethod = ProbeOptions::CurvatureMethod;

/// Settings of a CurvatureProbe.
struct CurvatureSettings {
  CurvatureMethod method = CurvatureMethod::kLanczos;
  int64_t k = 20;  ///< products per operator at most (Lanczos steps, power-iteration cap)
  /// Stopping rule: Lanczos stops once the residuals it needs are within tol of the spectral
  /// radius (lanczos_edges; 0 = always k steps), power iteration as power_edges says.
  double tol = 1e-3;
  int64_t hutchinson_samples = 1;  ///< Rademacher vectors per trace estimate
  uint64_t seed = 0;               ///< the probe's private generator
};

/// Restores a module's train/eval mode, its buffers (batch-norm running statistics) and the
/// global CPU generator (dropout's) when leaving scope, also on exceptions. A probe forward pass
/// in training mode may then use batch statistics and draw a dropout mask without a trace.
class ProbeScope {
 public:
  ProbeScope(torch::nn::Module& net, bool train_mode);
  ~ProbeScope();
  ProbeScope(const ProbeScope&) = delete;
  ProbeScope& operator=(const ProbeScope&) = delete;

 private:
  torch::nn::Module& net_;
  bool was_training_;
  std::vector<torch::Tensor> buffers_, saved_;
  torch::Tensor rng_;
};

/// Hessian-vector products of a scalar objective: the gradient with graph once, then each
/// product by double backward (retain_graph), on flat vectors (of the parameters' dtype) over
/// the parameters the objective depends on.
class HessianOperator {
 public:
  /// `loss` computed with autograd on from `params`. Parameters it does not depend on are left
  /// out (used() says which).
  HessianOperator(const torch::Tensor& loss, const std::vector<torch::Tensor>& params);
  int64_t size() const { return n_; }
  /// The dtype of the vectors operator() takes and returns (the parameters').
  torch::ScalarType dtype() const { return g_.defined() ? g_.scalar_type() : torch::kDouble; }
  /// False when the objective is linear in the parameters (the Hessian is zero).
  bool curved() const { return curved_; }
  /// Which of the parameters given to the constructor the objective depends on.
  const std::vector<bool>& used() const { return used_; }
  /// H v for a flat vector v of dtype(); counts the product and its wall time.
  torch::Tensor operator()(const torch::Tensor& v);
  int64_t products() const { return products_; }
  double ms() const { return ms_; }

 private:
  std::vector<torch::Tensor> ps_;
  std::vector<bool> used_;
  torch::Tensor g_;
  int64_t n_ = 0;
  bool curved_ = false;
  int64_t products_ = 0;
  double ms_ = 0;
};

/// The curvature probe: Lanczos (or power iteration) on the Hessian for lambda_max and
/// lambda_min, on the preconditioned Hessian for adaptive optimizers, Hutchinson for the trace.
class CurvatureProbe {
 public:
  explicit CurvatureProbe(const CurvatureSettings& settings);

  /// `loss` must have been computed with autograd on from `params`; `rule` (may be null) adds
  /// the stability ratio. A non-finite loss gives NaN estimates and 0 products; a loss linear in
  /// the parameters gives zeros.
  Curvature estimate(const torch::Tensor& loss, const std::vector<torch::Tensor>& params,
                     const StabilityRule* rule = nullptr);

  /// The trainer's entry: evaluates `objective()` (the loss on the probe batch) with `net` in
  /// training mode (`train_mode`: batch statistics, one dropout mask for the whole probe, as the
  /// objective is differentiated once) or eval mode, inside a ProbeScope, and estimates.
  Curvature measure(torch::nn::Module& net, bool train_mode,
                    const std::function<torch::Tensor()>& objective,
                    const std::vector<torch::Tensor>& params, const StabilityRule* rule = nullptr);

  const CurvatureSettings& settings() const { return settings_; }

 private:
  Edges edges(const SymmetricOperator& op, int64_t n, torch::ScalarType dtype, int slot,
              bool need_min);

  CurvatureSettings settings_;
  at::Generator gen_;
  torch::Tensor warm_[4];  // power iteration: Hessian (2), preconditioned Hessian (2)
};

/// The exact answer for a small model: the Hessian built column by column from products with
/// the unit vectors (then symmetrised), and its spectrum by a symmetric eigensolver.
struct ExactCurvature {
  int64_t n = 0;
  double lambda_max = kCurvNaN, lambda_min = kCurvNaN, trace = kCurvNaN;
  double precond_sharpness = kCurvNaN;  ///< with an adaptive, ready rule
  double stability_ratio = kCurvNaN;
  /// max |H - H^T| / max |H| before symmetrising: the products' own asymmetry (rounding, or a
  /// forward pass that is not one fixed function).
  double asymmetry = kCurvNaN;
  /// Hutchinson's standard deviation per Rademacher vector, sqrt(2 sum_{i != j} H_ij^2).
  double hutchinson_sd = kCurvNaN;
};

/// The exact curvature of `loss` (computed with autograd on from `params`); throws
/// dynfault::Error when the parameters the loss depends on number more than `max_params`.
ExactCurvature exact_curvature(const torch::Tensor& loss, const std::vector<torch::Tensor>& params,
                               const StabilityRule* rule, int64_t max_params);

/// What the trainer hands TrainOptions::on_curvature at each reading: enough to measure the
/// same objective again (with the same dropout mask: evaluate() runs it in its own ProbeScope
/// from the same generator state) and compare.
struct CurvatureContext {
  int64_t index = 0;    ///< the series index the reading is recorded under
  int64_t updates = 0;  ///< optimizer updates applied before the reading
  bool train_mode = false;
  torch::nn::Module* net = nullptr;
  std::function<torch::Tensor()> objective;
  std::vector<torch::Tensor> params;
  StabilityRule rule;
  Curvature reading;  ///< what the probe recorded
  /// Runs `fn` on the objective evaluated exactly as the probe evaluated it.
  void evaluate(const std::function<void(const torch::Tensor& loss)>& fn) const;
};

}  // namespace dynfault::runner::probes
