#pragma once
/// Campaign files (configs/*.yaml) and the planner: programs x faults x parameters x seeds,
/// clean runs included, each run with a deterministic id. Torch-free.
///
/// ```yaml
/// name: quick                 # campaign name (unique in a database)
/// seed: 1                     # base seed; run seeds derive from (seed, program, repetition)
/// repetitions: 2              # seeds per (program, fault), clean runs included
/// timeout_s: 120              # wall-clock limit per run
/// clean: true                 # plan clean runs too
/// programs: all               # or a list of program ids
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
/// ```
/// A fault that does not apply to a program is skipped (and reported) when the entry covers all
/// campaign programs, and is an error naming file and line when the entry lists programs, or when
/// it applies to none.
#include <cstdint>
#include <string>
#include <vector>

#include "db/trace.h"
#include "programs/recipe.h"

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

struct Campaign {
  std::string name;
  std::string description;
  std::string file;       ///< where it was read from
  std::string text;       ///< the file's text, stored in the database
  std::string hash;       ///< hash of the text
  int64_t seed = 1;
  int64_t repetitions = 1;
  double timeout_s = 300;
  bool clean = true;
  std::vector<std::string> programs;
  programs::Json overrides = programs::Json::object();
  std::vector<FaultEntry> faults;
};

/// Parses and validates a campaign; throws ConfigError naming file, line, key and value.
Campaign parse_campaign(const std::string& text, const std::string& file);
Campaign load_campaign(const std::string& path);

struct Plan {
  std::vector<db::RunSpec> runs;      ///< sorted by (program, faults, repetition)
  std::vector<std::string> skipped;   ///< "program: mutator: reason" for skipped combinations
};

/// Expands the campaign into run specs. Deterministic: the same campaign gives the same ids.
Plan plan_campaign(const Campaign& campaign);

/// The recipe of `program` with the campaign's overrides applied (the clean run's recipe).
programs::Recipe base_recipe(const Campaign& campaign, const std::string& program);

/// Seed of a run: a hash of (base seed, program, repetition); mutants and the clean run of the
/// same repetition share it, so the killing test compares paired runs.
int64_t run_seed(int64_t base_seed, const std::string& program, int64_t repetition);

/// Run id: XXH3-128 of the canonical run spec (recipe incl. faults, seed, recipe version).
std::string run_id(const programs::Recipe& recipe, int64_t seed);

}  // namespace dynfault::runner
