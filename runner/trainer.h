#pragma once
/// Training one run: Recipe -> modules, data, loop and probes -> RunResult. Torch stays inside
/// runner/*.cpp; this header is torch-free so the CLI and executor compile fast.
#include <cstdint>
#include <functional>
#include <string>

#include "db/trace.h"
#include "programs/recipe.h"

namespace dynfault::runner {

struct TrainOptions {
  int64_t max_steps = 0;       ///< stop after this many optimizer steps (0 = run all epochs)
  double timeout_s = 0;        ///< cooperative wall-clock limit checked every step (0 = none)
  bool probes = true;          ///< record gradient/weight statistics (loss curves always)
  int64_t probe_every = 1;     ///< record tensor statistics every k epochs
  /// Called about once per second of training (the worker's heartbeat); may be empty.
  std::function<void()> on_progress;
};

/// Trains `recipe` from `seed` with one intra-op thread. Training failures (NaN loss, divergence,
/// exceptions from LibTorch, the cooperative timeout) are returned as outcomes with the trace
/// recorded up to that point; this function throws only for an invalid recipe (dynfault::Error).
db::RunResult train(const programs::Recipe& recipe, int64_t seed, const TrainOptions& options);

/// Convenience: parses spec.recipe_json and trains with spec.seed; sets run_uuid.
db::RunResult train_spec(const db::RunSpec& spec, const TrainOptions& options);

}  // namespace dynfault::runner
