#pragma once
/// What the command files of the `dynfault` executable share: flag parsing, the usage error,
/// and the pieces one command group lends another (`demo` runs a campaign and evaluates it).
/// The commands live by group: catalogue_commands.cpp (list), campaign_commands.cpp (plan, run,
/// worker, status, merge, demo), corpus_commands.cpp (labels, features, evaluate, report,
/// check, export), model_commands.cpp (train, diagnose, trace-csv, replay); main.cpp dispatches.
/// Libraries never see Boost: each command parses its flags into the libraries' options.
#include <boost/program_options.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/check.h"
#include "db/store.h"
#include "diagnosis/evaluation.h"
#include "features/feature_set.h"
#include "features/labels.h"
#include "runner/executor.h"

namespace dynfault::cli {

namespace po = boost::program_options;

/// Thrown for usage errors (bad flags); main prints it and exits 2.
struct UsageError : Error {
  using Error::Error;
};

using Args = std::vector<std::string>;

/// The running dynfault executable (workers and re-executions start it again).
std::string self_binary();

/// The directory of configs (taxonomies, thresholds, campaigns) and how it was found.
struct ConfigDir {
  std::string path;
  std::string source;  ///< "--configs", "DYNFAULT_CONFIGS", "next to the installed binary", ...
};

/// Finds the configs directory, first of: `--configs DIR`, $DYNFAULT_CONFIGS ($DYNFAULT_CONFIG_DIR,
/// deprecated, after it), `<prefix>/share/dynfault/configs` next to an installed binary, configs/
/// of the source tree this binary was built from. A directory given that does not exist is an
/// error, not a reason to look further.
ConfigDir find_config_dir();
/// find_config_dir().path.
std::string config_dir();
/// `--configs DIR`, which main() takes off any command line before the command parses it.
void set_configs_flag(const std::string& dir);
const std::string& configs_flag();
/// A campaign file as given when it exists (or names a path); else the file of that name, with
/// or without ".yaml", in the configs directory (`dynfault run quick`); else `name` unchanged.
std::string campaign_path(const std::string& name);

struct Parsed {
  po::variables_map vm;
  std::vector<std::string> positional;
};

/// Parses `args` against `desc` (+ --help, which prints `usage` and the options and exits 0);
/// positionals are collected in order, more than `max_positional` is a UsageError.
Parsed parse(const std::string& cmd, const Args& args, po::options_description desc,
             const std::string& usage, int max_positional = 0);

/// The `--db PATH` option every command takes.
po::options_description db_option(std::string& db);

/// Opens an existing database for reading and writing; Error when there is none.
db::Store open_existing(const std::string& path);

/// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& s);

/// Writes `text` to `out` through common/output_file.h (an existing file only with `force`, never
/// an open database, a link or a special file; atomic; no temporary left) and tells on standard
/// error which stale temporaries of interrupted earlier writes it removed.
void write_output(const std::string& out, const std::string& text, bool force,
                  const std::string& what);

/// Tells on standard error which stale temporaries an output write removed.
void print_removed_stale(const std::vector<std::string>& removed);

// --- lent by the campaign commands to demo -------------------------------------------------------

struct RunOptions {
  std::string db;
  std::string config;
  std::string campaign;
  int jobs = 1;
  std::string shard;
  int64_t limit = 0;
  int64_t max_steps = 0;
  bool no_probes = false;
  bool quiet = false;
  int64_t max_attempts = 3;
  bool wait = false;
  double grace_s = 15;
  double progress_every_s = 10;
  bool allow_numeric_change = false;
  bool rerun_stale = false;

  /// The executor's options (without the progress printers); throws for a bad shard.
  runner::ExecuteOptions execute_options() const;
};

/// The flags of `run` (also taken by `demo`).
po::options_description run_flags(RunOptions& o);

/// Plans `o.config` (when given) and executes the campaign's SCHEDULED runs.
runner::ExecuteSummary run_campaign(const RunOptions& o);

// --- lent by the corpus commands to demo ---------------------------------------------------------

/// The evaluation flags shared by `evaluate` and `demo`, defaulting to EvaluateOptions' defaults.
struct EvalFlags {
  std::string tasks, sets, diagnosers, protocols, resample_by, horizons;
  int folds = 5, heldout_folds = 0, threads = 2, learner_seeds = 1, bins = 255;
  int64_t bootstrap = 1000;
  uint64_t seed = 0;
  double margin = 0.02;
  bool keep_label_inputs = false;
  std::string class_weight = "none";  ///< --class-weight
  bool effective_only = false;        ///< --effective-only
  std::string diagnoser_config;       ///< --diagnoser-config FILE ("" = every diagnoser's defaults)
  bool learner_seeds_given = false, bins_given = false;  ///< on the command line (over the file)

  EvalFlags();
  po::options_description describe();
  diagnosis::EvaluateOptions options(const std::string& campaign) const;
};

/// The learner seeds and bins to use: the command line's when given, else the file's, else the
/// code's defaults (`seeds` and `bins` hold the defaults on entry).
void resolve_learner_settings(const diagnosis::DiagnoserConfigFile& file, bool seeds_given,
                              bool bins_given, int& seeds, int& bins);

void print_labels(const features::LabelCounts& c);
void print_extract(const features::ExtractReport& r);
/// Label options reading configs/taxonomies.yaml and configs/thresholds.yaml.
features::LabelOptions default_label_options();

// --- the commands
// ----------------------------------------------------------------------------------

int cmd_list(const Args& args);

int cmd_plan(const Args& args);
int cmd_run(const Args& args);
int cmd_worker(const Args& args);
int cmd_status(const Args& args);
int cmd_merge(const Args& args);
int cmd_demo(const Args& args);

int cmd_labels(const Args& args);
int cmd_features(const Args& args);
int cmd_evaluate(const Args& args);
int cmd_report(const Args& args);
int cmd_check(const Args& args);
int cmd_export(const Args& args);

int cmd_train(const Args& args);
int cmd_diagnose(const Args& args);
int cmd_trace_csv(const Args& args);
int cmd_replay(const Args& args);

}  // namespace dynfault::cli
