#pragma once
/// The outcome rules of a training run, written once: runner::train (runner/trainer.h) and
/// dynfault::TraceRecorder (runner/trace_recorder.h) both decide with them when a loss or the
/// clock ends a run and what the run's outcome is then. Torch-free.
///
/// Outcomes: completed (all epochs, max_steps reached, or early stopping); nan_loss (a step's
/// loss is NaN or infinite); diverged (|loss| above the divergence limit below); exception (the
/// model could not be built, or LibTorch or the loss threw); timeout (the cooperative wall-clock
/// limit passed, probe time excluded).
#include <cstdint>
#include <limits>
#include <string>

namespace dynfault::runner {

/// Divergence rule: |loss| above kDivergeAbs (DeepFD's nan-loss threshold), or above kDivergeRel
/// times the first step's |loss| (floored at 1, so a tiny initial MSE does not make an ordinary
/// fluctuation count as divergence). Whichever threshold is lower applies; the absolute value
/// catches losses that run off to -inf (nll on raw outputs, a flipped sign).
inline constexpr double kDivergeAbs = 1e5;
inline constexpr double kDivergeRel = 1e3;

/// Watches the losses of one run's steps, in order, and says which one ends training.
class LossWatch {
 public:
  /// "nan_loss" for a non-finite loss, "diverged" for a loss past the divergence limit, "" while
  /// training may go on. The first finite loss seen sets the limit's reference.
  std::string terminal(double loss);

 private:
  double initial_ = std::numeric_limits<double>::quiet_NaN();
};

/// The cooperative timeout: true once the run's wall-clock time without its probe time
/// (`elapsed_ms - probe_ms`, so that observing a run never turns it into a timeout) passed
/// `timeout_s` seconds; never when `timeout_s` <= 0 (no limit).
bool past_timeout(double timeout_s, double elapsed_ms, double probe_ms);

/// True for the five outcomes above.
bool is_outcome(const std::string& outcome);

}  // namespace dynfault::runner
