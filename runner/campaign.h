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
/// probes:                     # optional; what the runtime probes record (runner/probe_options.h);
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
/// numeric:                    # optional; the numeric environment every run computes in
///   aten_capability: avx2     #   (runner/numeric.h: the values shown are the defaults,
///   openblas_coretype: Haswell #   portable to every x86-64 CPU with AVX2)
///   onednn_isa: avx2
///   intra_op_threads: 1
///   blas_threads: 1
/// ```
/// Probes do not change training, so `probes:` is not part of any run id: the same runs are
/// planned with any probe setting. It is part of the campaign's text (and hash) in the database;
/// each worker reads it from there for the run it trains (probe_options_of_campaign), so runs of
/// different campaigns in one database each get their own campaign's probes (a run that two
/// campaigns plan alike has one id and belongs to the first).
///
/// `numeric:` is not part of any run id either. The planner records it (resolved, defaults
/// filled) in the campaign row with the library versions of its build; the runs then execute in
/// the recorded environment, whatever later builds take as defaults. A campaign file that differs
/// from the recorded campaign only in `numeric:` is refused by `plan` and `run` unless `run
/// --allow-numeric-change` (then each run records the environment it ran in).
///
/// Run ids survive upgrades: an id hashes what the run computes (semantic_recipe_json), never
/// how the code describes it, so a newer build plans an existing campaign into the same ids and
/// adds nothing. A run whose computation a newer build changed (an edited program or operator)
/// is reported as stale by store_plan rather than planned a second time; `run --rerun-stale`
/// replaces and executes it.
///
/// A fault that does not apply to a program is skipped (and reported) when the entry covers all
/// campaign programs, and is an error naming file and line when the entry lists programs, or when
/// it applies to none.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/store.h"
#include "db/trace.h"
#include "programs/recipe.h"
#include "runner/numeric.h"
#include "runner/probe_options.h"

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
  std::string file;  ///< where it was read from
  std::string text;  ///< the file's text, stored in the database
  std::string hash;  ///< hash of the text
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
  NumericEnv numeric;   ///< defaults unless the file has a `numeric:` mapping
};

/// Parses and validates a campaign; throws ConfigError naming file, line, key and value.
Campaign parse_campaign(const std::string& text, const std::string& file);
Campaign load_campaign(const std::string& path);

/// The `probes:` mapping of a campaign's text alone (defaults when absent), checked as strictly
/// as parse_campaign checks it; the worker reads it from the campaign text stored in the
/// database without re-validating the rest of the campaign.
ProbeOptions probe_options_of_campaign(const std::string& text, const std::string& file);

/// Reads a probe configuration recorded with a run (db::RunExecution::probes, the text of
/// ProbeOptions::to_json) as strictly as a campaign's `probes:` mapping; fields it lacks (a
/// run recorded by an older build) keep their defaults. Throws dynfault::Error.
ProbeOptions probe_options_from_record(const std::string& json);

struct Plan {
  std::vector<db::RunSpec> runs;     ///< sorted by (program, faults, repetition)
  std::vector<std::string> skipped;  ///< "program: mutator: reason" for skipped combinations
};

/// Expands the campaign into run specs. Deterministic: the same campaign gives the same ids.
Plan plan_campaign(const Campaign& campaign);

/// A stored run whose computation this build changed: the run the database holds and the one
/// this build plans in its place (same program, faults and repetition).
struct StaleRun {
  db::RunRow stored;
  db::RunSpec planned;
  std::string why;  ///< which parts of the recipe, or the seed, differ
};

/// What store_plan found and did.
struct StoredPlan {
  std::vector<db::RunSpec> fresh;  ///< planned runs the database lacks
  int64_t added = 0;               ///< of these, inserted SCHEDULED (store_plan)
  int64_t present = 0;             ///< runs the database already holds, computing the same
  /// Of `present`: held under the id an older build gave them (ids before 2026-12-05 hashed
  /// descriptive text too); they stay under that id.
  int64_t present_under_old_id = 0;
  std::vector<StaleRun> stale;  ///< not inserted: the database holds another computation
  /// Runs of the campaign in the database that this build no longer plans (an operator that no
  /// longer applies): left as they are.
  int64_t unplanned = 0;
  /// The campaign file asks for another numeric environment than the one recorded (allowed by
  /// StorePlanOptions::allow_numeric_change): the runs executed now use this one.
  std::optional<NumericEnv> numeric_change;
};

struct StorePlanOptions {
  /// Accept a campaign file whose `numeric:` differs from the recorded environment (`run
  /// --allow-numeric-change`); the campaign row keeps the recorded one.
  bool allow_numeric_change = false;
  /// This build's library versions as JSON (runner::library_versions_json(), filled by the
  /// caller: reading them needs LibTorch, which planning does without): recorded with the
  /// campaign's numeric environment and, as libtorch_version, in environment_info(). Required.
  std::string libraries;
};

/// Records the campaign (first: a database of another campaign is refused, and so is one that
/// recorded another numeric environment for it unless allowed), its numeric environment and this
/// build's library versions (options.libraries), environment_info(), the campaign's programs and
/// the planned runs in `store`. A run already present (by id, or by program, faults and repetition
/// when it computes the same) is left alone; one whose computation differs is reported as stale,
/// not inserted. Planning twice, or with a newer build, adds nothing. Throws before writing
/// anything.
StoredPlan store_plan(db::Store& store, const Campaign& campaign, const Plan& plan,
                      const StorePlanOptions& options);

/// What storing `plan` would find in `store` (fresh, present, stale and unplanned runs),
/// without writing; `run --rerun-stale` reads the stale runs of a campaign from it.
StoredPlan compare_plan(const db::Store& store, const Campaign& campaign, const Plan& plan);

/// The (old id, new spec) pairs that replace `stale` runs (db::Store::replace_runs).
std::vector<std::pair<std::string, db::RunSpec>> replacements(const std::vector<StaleRun>& stale);

/// The numeric environment the runs of one campaign execute in, decided before any run starts.
struct ExecutionEnv {
  NumericEnv numeric;
  /// The campaign row has no environment yet (planned before schema 2, and no run of it has
  /// finished): record `numeric` and this build's libraries in it before running.
  bool record = false;
};

/// Decides the environment of `campaign`'s runs: the one its row records, or `requested` (a
/// changed `numeric:` block) when `allow_change`. Throws dynfault::Error, writing nothing, when
/// `requested` differs from the recorded environment, this build's library versions differ from
/// the recorded ones, or the campaign was planned before environments were recorded and has
/// finished runs (they computed in whatever the machine chose), unless `allow_change`; and when
/// this CPU cannot run the environment (naming what it offers). `libraries` is this build's
/// library versions (runner::library_versions_json()).
ExecutionEnv execution_env(const db::Store& store, const std::string& campaign,
                           const std::optional<NumericEnv>& requested, bool allow_change,
                           const std::string& libraries);

/// The recipe of `program` with the campaign's overrides applied (the clean run's recipe).
programs::Recipe base_recipe(const Campaign& campaign, const std::string& program);

/// Seed of a run: a hash of (base seed, program, repetition); mutants and the clean run of the
/// same repetition share it, so the killing test compares paired runs.
int64_t run_seed(int64_t base_seed, const std::string& program, int64_t repetition);

/// What a run computes, as JSON: the recipe without its descriptive fields (provenance, family,
/// task; each fault's category and change text), without any field (also of a layer, and of a
/// fault's parameters) left at its default. So neither rewording a program's provenance nor
/// adding a Recipe field or an operator parameter with a default changes it; an edit to what a
/// program trains does.
programs::Json semantic_recipe_json(const programs::Recipe& recipe);

/// Run id: XXH3-128 of {semantic_recipe_json, seed, kRecipeVersion}. Version 2 of 2026-12-05;
/// ids planned before hashed the whole canonical recipe (tests/runner/test_campaign.cpp pins
/// ids of configs/dynfault.yaml).
std::string run_id(const programs::Recipe& recipe, int64_t seed);

}  // namespace dynfault::runner
