#pragma once
/// Training one run: Recipe -> modules, data, loop and probes -> RunResult. Torch stays inside
/// runner/*.cpp; this header is torch-free so the CLI compiles fast. What the probes record
/// (ProbeOptions) is runner/probe_options.h, which planning shares without torch.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "db/trace.h"
#include "programs/recipe.h"
#include "runner/probe_options.h"

namespace dynfault::runner {

namespace probes {
struct CurvatureContext;  // runner/curvature.h (torch)
}  // namespace probes

/// How to run one training; the Recipe says what to train.
struct TrainOptions {
  int64_t max_steps = 0;  ///< stop after this many optimizer steps (0 = run all epochs)
  /// Cooperative wall-clock limit checked every step, probe time excluded so that probes
  /// never turn a run into a timeout (0 = none).
  double timeout_s = 0;
  bool probes = true;  ///< master switch: false records loss and metric curves only
  ProbeOptions probe;  ///< what the probes record when `probes` is true
  /// LibTorch intra-op threads (the campaign's numeric environment, runner/numeric.h).
  int64_t threads = 1;
  /// Called about once per second of training (the worker's heartbeat); may be empty.
  std::function<void()> on_progress;
  /// Receives a copy of the final parameters (named as in the trace, flattened) and buffers
  /// (batch-norm running statistics, under their named_buffers() names, as float) when training
  /// ends with any outcome but "exception"; for replay checks and tests. May be empty.
  std::function<void(const std::map<std::string, std::vector<float>>&)> on_final_weights;
  /// Called after every applied optimizer step (and the probes that follow it) with the global
  /// step and an XXH3-128 hex digest of the bytes of every parameter and buffer: tests compare
  /// whole trajectories bitwise with it. May be empty (then nothing is hashed).
  std::function<void(int64_t step, const std::string& state_hash)> on_step;
  /// Called after every curvature reading with what it measured and how to measure the same
  /// objective again (runner/curvature.h): `dynfault check curvature` and the tests compare it
  /// with the exact Hessian. May be empty.
  std::function<void(const probes::CurvatureContext&)> on_curvature;
};

/// Trains `recipe` from `seed` with one intra-op thread. Training failures (NaN loss, divergence,
/// exceptions from LibTorch, the cooperative timeout) are returned as outcomes with the trace
/// recorded up to that point, status FINISHED; this function throws (dynfault::Error) only for
/// an invalid recipe (unknown names, out-of-range values) or missing data. A layer list whose
/// shapes do not fit the data (a mutated kernel larger than its feature map) is an outcome.
///
/// Outcomes (their rules in runner/outcome.h, shared with dynfault::TraceRecorder): completed
/// (all epochs, max_steps reached, or early stopping); nan_loss (a step's loss is NaN/Inf;
/// training stops); diverged (|loss| > min(1e5, 1e3 * max(|first loss|, 1)), 1e5 being DeepFD's
/// threshold; training stops); exception (the model could not be built, or LibTorch or the loss
/// threw; `error` holds the message); timeout (the cooperative limit passed). The step whose
/// loss is NaN or diverged is recorded but not applied; the epoch curves, weight statistics and
/// final/test_* are recorded for the partial epoch too (not after an exception).
///
/// Same recipe, seed and options give bitwise-identical traces (timestamps and step times
/// aside), and probes never change the losses or weights.
db::RunResult train(const programs::Recipe& recipe, int64_t seed, const TrainOptions& options);

/// Convenience: parses spec.recipe_json and trains with spec.seed; sets run_uuid.
db::RunResult train_spec(const db::RunSpec& spec, const TrainOptions& options);

}  // namespace dynfault::runner
