#pragma once
/// What the runtime probes record and how often: the `probes:` mapping of a campaign
/// (runner/campaign.h), the configuration each run records (db::RunExecution::probes) and the
/// trainer's input (runner/trainer.h). Torch-free, like the planner that reads it
/// (dynfault::campaign); the probes themselves are runner/probes.h.
#include <cstdint>
#include <string>
#include <vector>

namespace dynfault::runner {

/// When one probe family records. A step cadence counts global optimizer steps (0-based) and the
/// family's series are then indexed by that step; an epoch cadence counts epochs and its series
/// are indexed by epoch (db/trace.h). Epoch cadences also record the final epoch, so the state
/// at the end of training is always in the trace.
struct Cadence {
  enum class Unit { kOff, kSteps, kEpochs };
  Unit unit = Unit::kEpochs;
  int64_t every = 1;  ///< k >= 1

  static Cadence off() { return {Unit::kOff, 1}; }
  static Cadence every_step() { return {Unit::kSteps, 1}; }
  static Cadence every_k_steps(int64_t k) { return {Unit::kSteps, k}; }
  static Cadence every_epoch() { return {Unit::kEpochs, 1}; }
  static Cadence every_k_epochs(int64_t k) { return {Unit::kEpochs, k}; }

  bool is_off() const { return unit == Unit::kOff; }
  bool counts_steps() const { return unit == Unit::kSteps; }
  bool counts_epochs() const { return unit == Unit::kEpochs; }
  /// Step cadences: true at global step `step`.
  bool at_step(int64_t step) const { return counts_steps() && step % every == 0; }
  /// Epoch cadences: true at the end of `epoch` (or of the last epoch, when `last`).
  bool at_epoch(int64_t epoch, bool last) const {
    return counts_epochs() && (epoch % every == 0 || last);
  }
  /// This cadence with its period stretched so that a run of `epochs` epochs and `steps`
  /// optimizer steps gets at most about `max_points` records (0 = no cap): k becomes at least
  /// ceil(span / max_points), span being the epochs or the steps the cadence counts.
  Cadence capped(int64_t epochs, int64_t steps, int64_t max_points) const {
    const int64_t span = counts_steps() ? steps : epochs;
    if (is_off() || max_points <= 0 || span <= max_points * every) return *this;
    return {unit, (span + max_points - 1) / max_points};
  }
  /// Like capped(), counting the last epoch that an epoch cadence always records: at most
  /// `max_points` records (at least 2 under an epoch cadence: the first and the last epoch).
  Cadence capped_strict(int64_t epochs, int64_t steps, int64_t max_points) const {
    if (!counts_epochs() || max_points <= 0 || epochs <= 1)
      return capped(epochs, steps, max_points);
    const int64_t k = max_points >= 2 ? (epochs - 1 + max_points - 2) / (max_points - 1) : epochs;
    return k > every ? Cadence{unit, k} : *this;
  }
  /// The YAML spelling: off, every_step, every_epoch, "every_k_steps: k", "every_k_epochs: k".
  std::string str() const;
  bool operator==(const Cadence& o) const { return unit == o.unit && every == o.every; }
};

/// What the probes record and how often (db/trace.h lists the keys per family). Probes never
/// change training: they read tensors, run their forward passes on a fixed probe batch without
/// touching .grad, and draw their own numbers from a private generator; the curvature probe in
/// training mode puts back the batch-norm statistics and the global generator its forward pass
/// changed. Set per campaign by the `probes:` mapping (runner/campaign.h), which is not part of
/// the run id.
///
/// The defaults are the benchmark's "default probes" (bench/bench_probes.cpp): gradients,
/// weights with update ratios, activations, optimizer state and mean step time every epoch (at
/// most 50 points per run), curvature off. A curvature reading costs a gradient with graph and
/// k Hessian-vector products (double backward; 2k for adaptive optimizers, whose preconditioned
/// sharpness needs its own Lanczos run), several training steps' worth on small batches, so
/// campaigns ask for it at a cadence they can afford: configs/dynfault.yaml says which and why,
/// and bench/curvature_cost.sh measures the share of training time it took.
struct ProbeOptions {
  /// How the curvature probe finds the spectrum's edges (runner/curvature.h).
  enum class CurvatureMethod { kLanczos, kPower };
  /// The mode of the curvature probe's forward pass: eval (running statistics, no dropout) or
  /// train (the mode the training steps use: batch statistics and one dropout mask, fixed for
  /// the whole probe).
  enum class CurvatureMode { kEval, kTrain };

  Cadence gradients = Cadence::every_epoch();    ///< grad/... (last batch of the epoch)
  Cadence weights = Cadence::every_epoch();      ///< weight/... incl. update ratios
  Cadence activations = Cadence::every_epoch();  ///< act/... (probe batch)
  Cadence optimizer = Cadence::every_epoch();    ///< opt/...
  Cadence curvature = Cadence::off();            ///< curv/... (probe batch)
  Cadence timing = Cadence::every_epoch();       ///< time/step_ms (epoch mean)
  int64_t probe_batch = 256;                     ///< samples in the fixed probe batch (activations)
  int64_t curvature_batch = 64;  ///< its first samples used for curvature (HVP cost)
  /// k: Lanczos steps per operator (products), or the power-iteration cap; >= 2.
  int64_t curvature_iterations = 20;
  /// Lanczos stops before k products once the Ritz residuals of the edges it needs are at most
  /// tol x the spectral radius (0 = always k); power iteration stops when |lambda_k -
  /// lambda_{k-1}| <= tol |lambda_k| or ||Hv - lambda v|| <= sqrt(tol) |lambda|
  /// (runner/curvature.h).
  double curvature_tol = 1e-3;
  int64_t hutchinson_samples = 1;  ///< Rademacher vectors per trace estimate
  CurvatureMethod curvature_method = CurvatureMethod::kLanczos;
  CurvatureMode curvature_mode = CurvatureMode::kEval;
  /// Curvature readings also before the updates 0, 1, 2, 4, 8, ... of the first epoch (an epoch
  /// cadence only); the curvature series are then indexed by the updates applied (db/trace.h).
  bool curvature_early_steps = false;
  int64_t seed = 0;  ///< mixed with the run seed into the probe generator
  /// Records per family and run at most (about): a longer run stretches every cadence's period
  /// (Cadence::capped), so a 2,000-epoch program stores 50 evenly spaced epochs of tensor
  /// statistics, not 2,000. Bounds the corpus size; 0 = no cap.
  int64_t max_points = 50;
  /// The curvature family's own cap (its readings cost far more than the other families'
  /// records); -1 = max_points. The early readings count against it (at most half of it).
  int64_t curvature_max_points = -1;

  /// The cap the curvature family uses.
  int64_t curvature_cap() const {
    return curvature_max_points >= 0 ? curvature_max_points : max_points;
  }

  /// Every family off: loss and metric curves only.
  static ProbeOptions none();
  /// Every family every epoch, curvature included (the benchmark's "all probes").
  static ProbeOptions all();
  /// Throws dynfault::Error naming the field for an out-of-range value.
  void validate() const;
  /// These options with every cadence capped to max_points for a run of that length
  /// (`steps_per_epoch` places the early curvature readings, whose number the curvature
  /// cadence's cap leaves room for).
  ProbeOptions for_run(int64_t epochs, int64_t steps, int64_t steps_per_epoch = 0) const;
  /// The updates before which an early curvature reading is taken: 0 and the powers of two below
  /// min(steps_per_epoch, steps); when the curvature cap allows fewer (at most half of it, at
  /// least 1), 0 and powers of two evenly spread in exponent over that range (e.g. 0, 1, 16, 256
  /// for 4 of 0, 1, 2, ..., 256). Empty unless curvature_early_steps.
  std::vector<int64_t> early_curvature_steps(int64_t steps_per_epoch, int64_t steps) const;
  /// Canonical JSON text (sorted keys, the YAML spellings): printed by the benchmark, compared
  /// by the tests.
  std::string to_json() const;
  bool operator==(const ProbeOptions& o) const;
};

}  // namespace dynfault::runner
