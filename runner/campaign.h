#pragma once
/// Campaign files (configs/*.yaml) and the planner: programs x faults x parameters x seeds,
/// clean runs included, each run with a deterministic id. Torch-free.
///
/// ```yaml
/// name: quick                 # campaign name (unique in a database)
/// seed: 1                     # base seed; run seeds derive from (seed, program, repetition)
/// repetitions: 2              # seeds per (program, fault), clean runs included
/// clean_repetitions: 10       # optional: seeds of each program's clean run (default:
///                             #   repetitions); repetition k of a clean and a mutant run
///                             #   share a seed, extra clean seeds feed the killing test
/// timeout_s: 120              # wall-clock limit per run
/// clean: true                 # plan clean runs too
/// programs: all               # or a list of program ids
/// max_runs: 1000000           # optional: refuse to plan more runs than this (checked before
///                             #   any grid is expanded; default 1,000,000)
/// overrides: {epochs: 2}      # applied to every program before mutation (epochs, train_limit,
///                             # test_limit, batch_size)
/// faults:
///   - mutator: lr_scale
///     params: {factor: [10, 1000]}    # a list expands to one run per value (a grid)
///   - mutator: loss_change
///     params: {to: mse}
///     programs: [iris_mlp]            # optional restriction; inapplicable here is an error
///   - compose:                        # a multi-fault run: operators applied in order
///       - {mutator: lr_scale, params: {factor: 10}}
///       - {mutator: optimizer_change, params: {to: sgd}}
/// probes:                     # optional; what the runtime probes record (runner/trainer.h);
///                             # the values shown are the defaults
///   gradients: every_epoch    # off | every_step | every_epoch | {every_k_steps: k} |
///   weights: every_epoch      #   {every_k_epochs: k}, per family; unset families keep
///   activations: every_epoch  #   the defaults shown here
///   optimizer: every_epoch
///   curvature: off            # costly (double backward): e.g. {every_k_epochs: 2}
///   timing: every_epoch       # mean step time of the epoch (every_step: each step's)
///   max_points: 50            # records per family and run at most: a long run stretches
///                             #   the period (a 2,000-epoch run: every 40 epochs); 0 = no cap
///   probe_batch: 256          # fixed probe batch (activations), chosen once per run
///   curvature_batch: 64       # its first samples used for curvature
///   curvature_iterations: 20  # power-iteration cap
///   curvature_tol: 0.01       # relative change of lambda_max that stops the iteration
///   hutchinson_samples: 1     # Rademacher vectors per trace estimate
///   seed: 0                   # mixed with each run's seed into the probe generator
/// ```
/// Probes do not change training, so `probes:` is not part of any run id: the same runs are
/// planned with any probe setting. It is part of the campaign's text (and hash) in the database;
/// each worker reads it from there for the run it trains (probe_options_of_campaign), so runs of
/// different campaigns in one database each get their own campaign's probes (a run that two
/// campaigns plan alike has one id and belongs to the first).
///
/// A fault that does not apply to a program is skipped (and reported) when the entry covers all
/// campaign programs, and is an error naming file and line when the entry lists programs, or when
/// it applies to none.
#include <cstdint>
#include <string>
#include <vector>

#include "db/store.h"
#include "db/trace.h"
#include "programs/recipe.h"
#include "runner/trainer.h"

namespace dynfault::runner {

/// One operator application inside a fault entry.
struct FaultStep {
  std::string mutator;
  programs::Json params;  ///< validated, defaults filled
};

/// One expanded fault configuration (a grid point); several steps = a multi-fault run.
struct FaultEntry {
  std::vector<FaultStep> steps;
  std::vector<std::string> programs;  ///< empty = every campaign program
  int line = 0;                       ///< line of the entry in the campaign file
};

/// Default of a campaign's `max_runs:` and the highest value it may take.
inline constexpr int64_t kDefaultMaxRuns = 1'000'000;
inline constexpr int64_t kMaxRunsLimit = 100'000'000;

struct Campaign {
  std::string name;
  std::string description;
  std::string file;       ///< where it was read from
  std::string text;       ///< the file's text, stored in the database
  std::string hash;       ///< hash of the text
  int64_t seed = 1;
  int64_t repetitions = 1;
  int64_t clean_repetitions = 1;  ///< seeds of the clean runs; equals repetitions unless set
  double timeout_s = 300;
  bool clean = true;
  int64_t max_runs = kDefaultMaxRuns;  ///< the planner refuses more runs (before allocating)
  std::vector<std::string> programs;
  programs::Json overrides = programs::Json::object();
  std::vector<FaultEntry> faults;
  ProbeOptions probes;  ///< defaults unless the file has a `probes:` mapping
};

/// Parses and validates a campaign; throws ConfigError naming file, line, key and value.
Campaign parse_campaign(const std::string& text, const std::string& file);
Campaign load_campaign(const std::string& path);

/// The `probes:` mapping of a campaign's text alone (defaults when absent), checked as strictly
/// as parse_campaign checks it; the worker reads it from the campaign text stored in the
/// database without re-validating the rest of the campaign.
ProbeOptions probe_options_of_campaign(const std::string& text, const std::string& file);

struct Plan {
  std::vector<db::RunSpec> runs;      ///< sorted by (program, faults, repetition)
  std::vector<std::string> skipped;   ///< "program: mutator: reason" for skipped combinations
};

/// Expands the campaign into run specs. Deterministic: the same campaign gives the same ids.
Plan plan_campaign(const Campaign& campaign);

/// Records the campaign (first: a database of another campaign is refused), this build's
/// environment_info(), the campaign's programs and the planned runs in `store`; returns the
/// number of runs that were new (planning twice adds nothing).
int64_t store_plan(db::Store& store, const Campaign& campaign, const Plan& plan);

/// The recipe of `program` with the campaign's overrides applied (the clean run's recipe).
programs::Recipe base_recipe(const Campaign& campaign, const std::string& program);

/// Seed of a run: a hash of (base seed, program, repetition); mutants and the clean run of the
/// same repetition share it, so the killing test compares paired runs.
int64_t run_seed(int64_t base_seed, const std::string& program, int64_t repetition);

/// Run id: XXH3-128 of the canonical run spec (recipe incl. faults, seed, recipe version).
std::string run_id(const programs::Recipe& recipe, int64_t seed);

}  // namespace dynfault::runner
