#pragma once
/// Plain records exchanged with the store (torch-free, SQLite-free).
///
/// Metric keys (the contract between the runner's probes and the feature sets):
///   step-level (step = global optimizer step, 0-based):
///     train/loss                       training loss of the step's batch
///     time/step_ms                     wall time of the step without probe work (metadata,
///                                      never a feature); under an epoch cadence, the mean over
///                                      the epoch's steps at step = epoch
///   epoch-level (step = epoch, 0-based):
///     epoch/train_loss, epoch/train_metric, epoch/val_loss, epoch/val_metric, epoch/lr
///   probe-level: every family has its own cadence (runner/probe_options.h ProbeOptions, set per
///   campaign by `probes:`; by default every epoch, curvature off unless the campaign asks for
///   it, and at most max_points = 50 records per family and run: a longer run has its period
///   stretched, e.g. every 40th epoch of 2,000). Under an epoch cadence step = epoch and the
///   last epoch is always recorded; under a step cadence (every_step, every_k_steps) step = the
///   global optimizer step, as for train/loss. The campaign's stored config (campaigns.config_text)
///   says which. Gradients are read after backward and before clipping, on the last batch of the
///   epoch (or the step's batch), and also at the step whose loss ended training (nan_loss,
///   diverged); the other families read the state after the step / at the end of the epoch.
///     grad/<param>/{norm,mean_abs,max_abs,zero_frac,nonfinite}
///     grad/global_norm, grad/nonfinite, grad/first_last_ratio
///     grad/first_norm, grad/last_norm  first and last parameter tensors of rank >= 2
///     grad/zero_frac                   element-weighted share of exact zeros
///     weight/<param>/{norm,mean,std,max_abs,near_zero_frac}       std = population std
///     weight/nonfinite, weight/max_abs, weight/mean, weight/std
///     weight/<param>/update_ratio, weight/update_ratio   ||W_t - W_{t-1}|| / ||W_{t-1}|| over
///                                                         the last optimizer step of the epoch
///                                                         (the step itself under a step
///                                                         cadence); +Inf when W_{t-1} = 0
///     act/<layer>/{mean,std,dead_frac,sat_frac}          probe batch, eval mode; <layer> is the
///                                                         module path of the activation, e.g.
///                                                         layers.1 (relu), layers.2.act (in a
///                                                         residual block); sat_frac = share of
///                                                         pre-activations with |x| >= 5
///                                                         (sigmoid, tanh; >= 3 hard_sigmoid),
///                                                         dead_frac = share of outputs <= 0
///                                                         (relu, leaky_relu, elu, selu, gelu);
///                                                         recurrent cells' internal gates are
///                                                         not observed
///     act/dead_frac_max, act/sat_frac_max, act/mean_abs_max, act/std_mean   over layers
///                                                         (mean_abs_max: max over layers of
///                                                         mean |output|; std_mean: mean of
///                                                         the layers' std)
///     opt/<param>/{exp_avg_norm,exp_avg_sq_norm,eff_step_mean,momentum_norm,accum_norm}
///     opt/exp_avg_norm, opt/exp_avg_sq_norm, opt/eff_step_mean, opt/momentum_norm,
///     opt/accum_norm                                     global (absent when not applicable):
///                                                         L2 norms over all tensors; eff_step
///                                                         = lr / (sqrt(v_hat) + eps) for Adam,
///                                                         AdamW, NAdam (the factor of the
///                                                         bias-corrected first moment), per
///                                                         optimizer in runner/probes.h
///     curv/lambda_max, curv/lambda_min, curv/trace, curv/residual, curv/lr_lambda,
///     curv/stability_ratio, curv/precond_sharpness, curv/iterations, curv/hvps
///                                                         on the first curvature_batch probe
///                                                         samples, eval mode or (mode: train)
///                                                         batch statistics and one dropout
///                                                         mask for the whole probe; the
///                                                         Hessian H of the minimised objective
///                                                         (penalty and a flipped sign
///                                                         included), runner/curvature.h:
///       lambda_max, lambda_min   largest and smallest eigenvalue (algebraic; before 2026-12-05
///                                lambda_max was the eigenvalue of largest magnitude, signed),
///                                by Lanczos with full reorthogonalisation (k products at most)
///                                or power iteration (method: power)
///       residual                 the larger Ritz residual of the two edges over the spectral
///                                radius (a bound on their error's scale)
///       trace                    Hutchinson, the Lanczos start its first Rademacher sample
///                                (exact when the Lanczos basis spans the space)
///       lr_lambda                lr in effect x lambda_max
///       iterations, hvps         Lanczos steps on H; products in all (incl. the second run)
///       precond_sharpness        adaptive optimizers only: the largest eigenvalue of
///                                D^1/2 (H + wd I) D^1/2, D the per-element step of the next
///                                update (learning rate included), wd the coupled weight decay
///       stability_ratio          sharpness / limit; above 1 = beyond the edge of stability.
///                                Linearising the update theta -= D (a g + b m), m <- beta m +
///                                (1 - beta) g, on a quadratic with D frozen, it diverges along
///                                an eigenvector of D^1/2 (H + wd) D^1/2 with eigenvalue s when
///                                s > limit = 2 (1 + beta) / (a (1 + beta) + b (1 - beta)):
///         sgd                    D = lr, s = lr (lambda_max + wd); plain a 1, b 0: limit 2
///                                (gradient descent, Cohen et al. 2021, arXiv:2103.00065);
///                                heavy ball (momentum mu, dampening d) a 0, b (1-d)/(1-mu),
///                                beta mu: limit (2 + 2 mu) / (1 - d) (ibid., for heavy ball;
///                                Goh 2017, "Why Momentum Really Works"); Nesterov a 1,
///                                b mu/(1-mu), beta mu: limit 2 (1 + mu) / (1 + 2 mu)
///         adam, adamw            D = lr / (sqrt(v_t / (1 - beta2^t)) + eps) (amsgrad: max v),
///                                a 0, b 1/(1 - beta1^t), beta beta1: limit (2 + 2 beta1)
///                                (1 - beta1^t) / (1 - beta1), -> 38 for beta1 0.9 (Cohen et
///                                al. 2022, "Adaptive Gradient Methods at the Edge of
///                                Stability", arXiv:2207.14484); AdamW's decay is decoupled
///                                (wd 0 in s)
///         nadam                  Adam's D; a (1 - mu_t) / (1 - prod mu), b mu_{t+1} /
///                                (1 - prod mu x mu_{t+1}), beta beta1 (Dozat 2016; PyTorch's
///                                NAdam with momentum_decay)
///         adamax                 D = lr / u_t (the infinity-norm moment), Adam's a, b, beta
///         rmsprop                D = lr / (sqrt(square_avg [- grad_avg^2]) + eps); without
///                                momentum a 1, b 0: limit 2; with momentum mu a 0,
///                                b 1/(1-mu), beta mu
///         adagrad                D = lr / (1 + (t-1) lr_decay) / (sqrt(sum) + eps): limit 2
///         adadelta               D = lr sqrt(acc_delta + eps) / sqrt(square_avg + eps): 2
///                                NaN before an adaptive optimizer's first update and for
///                                others (LBFGS)
///     time/curvature_ms, time/curvature_hvp_ms   wall time of that probe, and of its
///                                                         Hessian-vector products
///   Series indexed by steps (updates applied) instead of epochs: the curvature family when
///   `curvature: {early_steps: log}` adds readings before updates 0, 1, 2, 4, ... of epoch 0.
///   run-level (step = last epoch):
///     final/test_loss, final/test_metric
///     probe/failures                   probes that threw and were skipped (absent when none)
///   Metrics: accuracy for classification, R^2 for regression. NaN and +-Inf are data: NaN is
///   stored as value NULL with is_nan = 1, +-Inf as REAL; both read back exactly. (-0.0 reads
///   back as 0.0: SQLite stores an integral REAL as an integer.)
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dynfault::db {

/// How training can end (RunRow::outcome): completed, nan_loss (a non-finite loss), diverged
/// (the loss grew past the divergence bound), exception, timeout, crashed (the worker died).
inline const std::vector<std::string>& outcomes() {
  static const std::vector<std::string> kOutcomes = {"completed", "nan_loss", "diverged",
                                                     "exception", "timeout",  "crashed"};
  return kOutcomes;
}

/// True when `outcome` is one of outcomes().
inline bool is_outcome(const std::string& outcome) {
  for (const auto& o : outcomes())
    if (o == outcome) return true;
  return false;
}

/// outcomes() joined by ", " for messages.
inline std::string outcome_list() {
  std::string out;
  for (const auto& o : outcomes()) out += (out.empty() ? "" : ", ") + o;
  return out;
}

/// A planned run: everything needed to execute it, fixed at plan time.
struct RunSpec {
  std::string run_uuid;     ///< 32 hex chars, hash of the canonical spec
  std::string campaign;     ///< campaign name
  std::string program;      ///< program id
  std::string family;       ///< mlp, cnn, rnn, autoencoder
  std::string task;         ///< multiclass, binary, regression
  std::string faults_json;  ///< JSON array of {mutator, params, change}; "[]" = clean run
  std::string fault_ids;    ///< mutator ids joined by '+', "" for a clean run
  int64_t seed = 0;
  int64_t repetition = 0;
  std::string recipe_json;  ///< canonical Recipe JSON after mutation
  double timeout_s = 0;     ///< wall-clock limit, 0 = none
};

/// How a run was executed (schema 2): what `dynfault replay` needs to train it again without
/// flags, and what makes its bits depend on the machine. Stored with its result; all empty for a
/// run never executed, or stored before schema 2 (then recorded() is false).
struct RunExecution {
  int64_t max_steps = 0;  ///< `run --max-steps` (0 = full training)
  /// "off" (`run --no-probes`), or the probe configuration in effect as canonical JSON
  /// (runner::ProbeOptions::to_json).
  std::string probes;
  /// {"requested": <numeric environment>, "effective": <what the libraries used>} as JSON
  /// (runner/numeric.h); "effective" is absent when the worker died before reporting it.
  std::string numeric;
  std::string libraries;  ///< {"libtorch": "1.13.0", "onednn": ..., "openblas": ...} as JSON
  std::string cpu;        ///< the CPU's model name
  std::string build;      ///< "dynfault 0.1.0 (git 23da83b25bca, gcc 12.2.0)"

  bool recorded() const { return !build.empty(); }
};

/// One row of `runs` as read back.
struct RunRow {
  RunSpec spec;
  std::string status;   ///< SCHEDULED, RUNNING, FINISHED, FAILED, KILLED
  std::string outcome;  ///< completed, nan_loss, diverged, exception, timeout, crashed ("" if none)
  std::string error;
  int64_t start_time = 0, end_time = 0, heartbeat_time = 0;  ///< ms since epoch, 0 = unset
  int64_t attempts = 0;
  RunExecution execution;  ///< how it was last executed (not recorded() before schema 2)
};

struct MetricPoint {
  std::string key;
  int64_t step = 0;
  double value = 0;  ///< may be NaN / +-Inf
  int64_t timestamp_ms = 0;
};

/// What one executed run produced; written in one transaction.
struct RunResult {
  std::string run_uuid;
  std::string status = "FINISHED";  ///< FINISHED (trace stored) or FAILED (nothing usable)
  std::string outcome = "completed";
  std::string error;
  int64_t start_time = 0, end_time = 0;
  std::vector<MetricPoint> metrics;
  RunExecution execution;  ///< stored when recorded(); else the stored one is kept
};

/// One metric series, sorted by step.
struct Series {
  std::vector<int64_t> steps;
  std::vector<double> values;
  bool empty() const { return values.empty(); }
  size_t size() const { return values.size(); }
};

/// The metric keys of the contract above as patterns, one per documented key, grouped by
/// family in the order documented. A placeholder `<p>` (parameter name) or `<layer>` (module
/// path) stands for one segment: one or more characters other than '/'. Readers of traces
/// recorded elsewhere (features/trace_csv.h) accept exactly these keys.
const std::vector<std::string>& metric_key_patterns();

/// True when `key` is an instance of `pattern` ("grad/<p>/norm" matches "grad/fc1.weight/norm",
/// not "grad/global_norm").
bool matches_key_pattern(const std::string& pattern, const std::string& key);

/// The pattern of metric_key_patterns() that `key` is an instance of, or "" when it is none.
std::string key_pattern_of(const std::string& key);

/// The known key closest to a key that is none (a misspelling: "grad/globalnorm" ->
/// "grad/global_norm", "weight/fc1.weight/maxabs" -> "weight/fc1.weight/max_abs"), or "" when
/// no known key is plausibly meant. Patterns are instantiated with `key`'s own segments.
std::string closest_metric_key(const std::string& key);

/// A stored trace with the run facts features and labels need.
struct Trace {
  std::string run_uuid;
  std::string program;
  std::string family;
  std::string task;
  std::string fault_ids;
  std::string faults_json;
  std::string outcome;
  std::string recipe_json;
  std::map<std::string, Series> series;

  /// The series for `key`, or nullptr.
  const Series* find(const std::string& key) const {
    auto it = series.find(key);
    return it == series.end() ? nullptr : &it->second;
  }
};

}  // namespace dynfault::db
