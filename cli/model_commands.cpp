// The model commands: train and diagnose (docs/diagnose.md), trace-csv, replay (docs/export.md).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/cli.h"
#include "common/output_file.h"
#include "db/trace_diff.h"
#include "diagnosis/diagnose_output.h"
#include "diagnosis/saved_model.h"
#include "features/trace_csv.h"
#include "features/trace_util.h"
#include "runner/campaign.h"
#include "runner/executor.h"
#include "runner/numeric.h"
#include "runner/numeric_libraries.h"
#include "runner/trainer.h"

extern char** environ;

namespace fs = std::filesystem;

namespace dynfault::cli {
namespace {

using programs::Json;

/// Starts this command again with `environment` as its whole environment, unless it already is:
/// the numeric libraries read their variables when they load. The --configs flag travels along.
void reexec_with_environment(const std::string& cmd, const std::vector<std::string>& args,
                             std::vector<std::string> environment) {
  std::vector<std::string> current;
  for (char** e = environ; *e != nullptr; ++e) current.emplace_back(*e);
  std::sort(current.begin(), current.end());
  std::sort(environment.begin(), environment.end());
  if (current == environment) return;
  std::vector<std::string> words = {self_binary(), cmd};
  words.insert(words.end(), args.begin(), args.end());
  if (!configs_flag().empty()) words.insert(words.end(), {"--configs", configs_flag()});
  std::vector<char*> argv, envp;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::cout.flush();
  ::execve(words[0].c_str(), argv.data(), envp.data());
  throw Error(cmd + ": cannot start '" + words[0] + "' again: " + std::strerror(errno));
}

std::string shown_ratio(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

/// A run stored before schema 2 recorded nothing of its numeric environment: train it as the
/// workers of that time did, with one OpenMP, MKL and OpenBLAS thread and the rest of this
/// process's environment.
std::vector<std::string> legacy_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    if (kv.rfind("OMP_NUM_THREADS=", 0) != 0 && kv.rfind("MKL_NUM_THREADS=", 0) != 0 &&
        kv.rfind("OPENBLAS_NUM_THREADS=", 0) != 0)
      env.push_back(kv);
  }
  for (const char* v : {"OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1"})
    env.emplace_back(v);
  return env;
}

std::string full_double(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

namespace {

/// How to train a stored run again: what it was executed with (schema 2), or for an older run
/// what the flags say; flags given override the record.
struct ReplayPlan {
  runner::TrainOptions train;
  std::optional<runner::NumericEnv> numeric;  ///< none for a run stored before schema 2
  std::vector<std::string> notes;             ///< told before training
};

ReplayPlan replay_plan(const db::Store& store, const db::RunRow& row, const po::variables_map& vm,
                       int64_t max_steps, bool no_probes, const std::string& dbp) {
  ReplayPlan out;
  runner::TrainOptions& to = out.train;
  to.timeout_s = row.spec.timeout_s;
  const db::RunExecution& e = row.execution;
  if (e.recorded()) {
    out.numeric = runner::numeric_env_to_replay(e.numeric);
    to.threads = out.numeric->intra_op_threads;
    to.max_steps = e.max_steps;
    to.probes = e.probes != "off";
    if (to.probes) to.probe = runner::probe_options_from_record(e.probes);
    if (e.libraries != runner::library_versions_json())
      out.notes.push_back("the run was executed with the libraries " + e.libraries +
                          "; this build loads " + runner::library_versions_json() +
                          ": a bitwise match is not expected");
  } else {
    out.notes.push_back(
        "the run was stored before dynfault recorded how runs were executed: "
        "replaying in this machine's own numeric environment with the flags "
        "given (--max-steps, --no-probes)");
    to.probes = true;
    const auto text = store.campaign_config(row.spec.campaign);
    if (text)
      to.probe =
          runner::probe_options_of_campaign(*text, dbp + ": campaign '" + row.spec.campaign + "'");
  }
  if (!vm["max-steps"].defaulted() && max_steps != to.max_steps) {
    if (e.recorded())
      out.notes.push_back("--max-steps " + std::to_string(max_steps) + " overrides the " +
                          std::to_string(to.max_steps) + " the run was executed with");
    to.max_steps = max_steps;
  }
  if (no_probes && to.probes) {
    if (e.recorded()) out.notes.push_back("--no-probes overrides the run's probes");
    to.probes = false;
  }
  return out;
}

}  // namespace

/// `dynfault replay RUN_ID`: trains a stored run again, in this process, from its stored Recipe
/// and seed, with what it was executed with (max steps, probes, numeric environment: recorded
/// since schema 2), and compares the new trace with the stored one key by key, step by step.
/// Exit 0 when reproduced bitwise, 1 when anything differs. The database is opened read-only;
/// the replayed trace is kept in memory only.
int cmd_replay(const Args& args) {
  std::string dbp;
  int64_t max_steps = 0;
  bool no_probes = false;
  auto d = db_option(dbp);
  d.add_options()("max-steps", po::value(&max_steps)->default_value(max_steps),
                  "stop after N steps instead of what the run was executed with (a run stored "
                  "before schema 2 recorded nothing: give its --max-steps here)")(
      "no-probes", po::bool_switch(&no_probes), "train without probes (as 'run --no-probes')");
  auto p = parse("replay", args, d, "replay RUN_ID [--db PATH] [--max-steps N] [--no-probes]", 1);
  if (p.positional.empty()) throw UsageError("replay: no run id given (dynfault replay RUN_ID)");
  if (max_steps < 0) throw UsageError("replay: --max-steps must be >= 0");
  const std::string id = p.positional[0];
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open_read_only(dbp);
  const auto found = store.run(id);
  if (!found) throw Error("replay: no run '" + id + "' in " + dbp);
  const db::RunRow row = *found;
  if (row.status != "FINISHED")
    throw Error("replay: run " + id + " is " + row.status +
                ": it has no stored trace to compare with");
  // Checked before starting again, so that a bad run costs no second start.
  ReplayPlan plan = replay_plan(store, row, p.vm, max_steps, no_probes, dbp);
  if (plan.numeric) {
    runner::require_cpu_supports(*plan.numeric, runner::CpuInfo::current());
    reexec_with_environment("replay", args, runner::numeric_process_environment(*plan.numeric));
    runner::apply_in_process(*plan.numeric);
    const std::string mismatch = runner::numeric_mismatch(*plan.numeric);
    if (!mismatch.empty())
      throw Error("replay: cannot train in the run's numeric environment " +
                  plan.numeric->describe() + ": " + mismatch);
  } else {
    reexec_with_environment("replay", args, legacy_environment());
  }

  const db::Trace stored = store.trace(id);
  const runner::TrainOptions& to = plan.train;
  std::cout << "replaying run " << id << ": " << row.spec.program << ", "
            << (row.spec.fault_ids.empty() ? "clean" : "faults " + row.spec.fault_ids) << ", seed "
            << row.spec.seed << (to.probes ? "" : ", no probes")
            << (to.max_steps > 0 ? ", max " + std::to_string(to.max_steps) + " steps" : "")
            << (plan.numeric ? ", " + plan.numeric->describe() : "") << std::endl;
  for (const auto& note : plan.notes) std::cout << "note: " << note << std::endl;
  const db::RunResult replayed = runner::train_spec(row.spec, to);
  const auto diff = db::compare_traces(stored.series, db::series_of(replayed.metrics));
  const bool same_outcome = replayed.outcome == row.outcome;
  std::cout << "outcome: stored " << row.outcome << ", replayed " << replayed.outcome
            << (replayed.error.empty() ? "" : " (" + replayed.error + ")") << '\n'
            << "compared " << diff.keys_compared << " keys, " << diff.points_compared
            << " points (wall-clock keys time/* and timestamps left out)\n";
  if (diff.identical() && same_outcome) {
    std::cout << "reproduced bitwise\n";
    return 0;
  }
  std::cout << "NOT reproduced\n";
  if (diff.points_differing > 0)
    std::cout << diff.points_differing << " of " << diff.points_compared
              << " points differ; largest absolute deviation " << full_double(diff.worst_deviation)
              << " at key '" << diff.worst_key << "' step " << diff.worst_step << ": stored "
              << full_double(diff.worst_stored) << ", replayed " << full_double(diff.worst_replayed)
              << '\n';
  else if (diff.points_compared > 0)
    std::cout << "the " << diff.points_compared << " points both traces have are equal\n";
  const auto list = [](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    std::cout << what << " (" << keys.size() << "):";
    for (size_t i = 0; i < keys.size() && i < 8; ++i) std::cout << ' ' << keys[i];
    std::cout << (keys.size() > 8 ? " ..." : "") << '\n';
  };
  list("keys only in the stored trace", diff.only_stored);
  list("keys only in the replayed trace", diff.only_replayed);
  list("keys recorded at different steps", diff.steps_differ);
  if (!row.execution.recorded() &&
      (!diff.only_stored.empty() || !diff.only_replayed.empty() || !diff.steps_differ.empty()))
    std::cout << "(give replay the --max-steps and --no-probes the run was executed with)\n";
  return 1;
}

// --- train, diagnose, trace-csv (docs/diagnose.md) ---------------------------------------------

/// `dynfault train`: fits one diagnoser on every labelled trace of a task and saves it.
int cmd_train(const Args& args) {
  std::string dbp, campaign, task = "fault_type/default4", set, diagnoser = "logistic_regression",
                             out, tax = config_dir() + "/taxonomies.yaml", options_file;
  std::string class_weight = "none";
  bool force = false, effective_only = false, bins_given = false;
  int bins = diagnosis::TrainModelOptions().max_bins(), unused_seeds = 1;
  auto d = db_option(dbp);
  d.add_options()("task", po::value(&task)->default_value(task),
                  "label task (fault_type/<taxonomy>, instability, mismatch, detection)")(
      "features", po::value(&set),
      "feature set spec (a+b = union; default: the diagnoser's own set, if it has one)")(
      "diagnoser", po::value(&diagnoser)->default_value(diagnoser), "diagnoser name")(
      "campaign", po::value(&campaign), "only this campaign's runs")(
      "out,o", po::value(&out), "model file to write")("force", po::bool_switch(&force),
                                                       "overwrite an existing model file")(
      "class-weight", po::value(&class_weight)->default_value(class_weight),
      "none, or balanced: every class weighs as much as the largest")(
      "effective-only", po::bool_switch(&effective_only),
      "with --task detection: effective faults (the killing test) against clean runs")(
      "taxonomies", po::value(&tax)->default_value(tax),
      "taxonomy file (the class names of fault_type tasks)")(
      "diagnoser-config", po::value(&options_file),
      "the diagnoser's options and bins (configs/diagnosers.yaml); default: the declared "
      "defaults")("bins", po::value(&bins)->notifier([&](int) { bins_given = true; }),
                  ("histogram bins of the tree learners (default " + std::to_string(bins) +
                   "; overrides the config file)")
                      .c_str());
  parse("train", args, d,
        "train --db PATH --task TASK --features SET --diagnoser NAME --out MODEL [--force]\n"
        "      [--class-weight none|balanced] [--effective-only]\n\n"
        "Fits the diagnoser on ALL labelled traces of the task (stored labels and features) and\n"
        "writes one model file for 'dynfault diagnose' (docs/diagnose.md).");
  if (out.empty()) throw UsageError("train: no model file given (--out MODEL)");
  diagnosis::DiagnoserConfigFile file;
  if (!options_file.empty()) file = diagnosis::load_diagnoser_config(options_file);
  // One fit with seed 0: the file's learner_seeds has nothing to apply to.
  resolve_learner_settings(file, /*seeds_given=*/true, bins_given, unused_seeds, bins);
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open_read_only(dbp);
  files::check_output_file(out, force, "model file");  // before fitting; the database is open
  const auto model = diagnosis::train_model(
      store, diagnosis::TrainModelOptions()
                 .campaign(campaign)
                 .task(task)
                 .feature_set(set)
                 .diagnoser(diagnoser)
                 .diagnoser_config(file.diagnosers)
                 .max_bins(bins)
                 .task_classes(features::task_classes(task, features::load_taxonomies(tax)))
                 .class_weight(class_weight)
                 .effective_only(effective_only));
  print_removed_stale(diagnosis::save_model_file(model, out, force));
  std::cout << "trained " << model.diagnoser->name() << " on " << model.feature_set << " ("
            << model.feature_names.size() << " features) for " << model.task << ": "
            << model.n_traces << " traces,";
  for (const auto& [c, n] : model.class_counts) std::cout << ' ' << c << '=' << n;
  std::cout << '\n' << diagnosis::scope_line(model.scope, model.n_traces) << '\n';
  // A model fitted on very unequal classes learns to answer the large one.
  const double ratio = diagnosis::imbalance_ratio(model.class_counts);
  if (ratio >= 3 && class_weight == "none")
    std::cerr << "train: warning: the classes are imbalanced (largest / smallest = "
              << shown_ratio(ratio) << "); the model may predict the largest class for almost "
              << "every trace. Give --class-weight balanced"
              << (task == "detection" && !effective_only
                      ? ", or --effective-only (effective faults against clean runs)"
                      : "")
              << ", and judge it by balanced accuracy ('dynfault evaluate').\n";
  if (model.scope.evaluated.empty())
    std::cout << "no stored evaluation of " << model.diagnoser->name() << " on "
              << model.feature_set << " for " << model.task
              << ": run 'dynfault evaluate' before 'train' so that 'diagnose' can state how far "
                 "to trust this model on a new program\n";
  std::cout << "wrote " << out << '\n';
  return 0;
}

namespace {

/// "train_metric=accuracy" -> (train_metric, accuracy).
std::vector<std::pair<std::string, std::string>> column_mappings(
    const std::vector<std::string>& specs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw UsageError(
          "diagnose: --column takes TARGET=COLUMN (e.g. train_metric=accuracy), got '" + spec +
          "'");
    out.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }
  return out;
}

/// The stored run `run` of `dbp`, diagnosed by every model.
diagnosis::TraceDiagnoses diagnose_run(const std::vector<diagnosis::LoadedModel>& models,
                                       const std::string& dbp, const std::string& run, int top) {
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open_read_only(dbp);
  const auto row = store.run(run);
  if (!row) throw Error("diagnose: no run '" + run + "' in " + dbp);
  if (row->status != "FINISHED")
    throw Error("diagnose: run " + run + " is " + row->status + ": it has no stored trace");
  const db::Trace trace = store.trace(run);
  diagnosis::TraceDiagnoses d;
  d.input = {{"db", dbp},
             {"run", run},
             {"program", row->spec.program},
             {"faults", row->spec.fault_ids},
             {"outcome", row->outcome}};
  for (const auto& m : models)
    d.diagnoses.push_back(diagnosis::diagnose_trace(m.model, trace, top));
  return d;
}

struct TraceFlags {
  features::TraceLogOptions log;
  std::string outcome;
  int64_t planned = -1;
};

/// One log file diagnosed by every model; a bad file is reported in the result, not thrown.
diagnosis::TraceDiagnoses diagnose_file(const std::vector<diagnosis::LoadedModel>& models,
                                        const std::string& path, const TraceFlags& flags, int top) {
  diagnosis::TraceDiagnoses d;
  d.input = {{"trace", path}};
  try {
    features::TraceLog log = features::read_trace_log(path, flags.log);
    db::Trace& trace = log.trace;
    if (!flags.outcome.empty()) trace.outcome = flags.outcome;
    if (flags.planned >= 0)
      trace.recipe_json =
          flags.planned > 0 ? "{\"epochs\":" + std::to_string(flags.planned) + "}" : "";
    if (!db::is_outcome(trace.outcome))
      throw Error(path + ": '# outcome: " + trace.outcome + "' is not one of " +
                  db::outcome_list());
    d.input.emplace_back("format", log.format);
    d.input.emplace_back("epochs", std::to_string(features::epoch_steps(trace).size()));
    d.input.emplace_back("outcome", trace.outcome);
    for (const auto& m : models)
      d.diagnoses.push_back(diagnosis::diagnose_trace(m.model, trace, top));
  } catch (const std::exception& e) {
    d.diagnoses.clear();
    d.error = e.what();
  }
  return d;
}

/// Checks the options that describe a log given with --trace (usage errors name the option) and
/// completes `flags` with the column mappings; `planned_given` says whether --planned-epochs was
/// on the command line, `stored_run` whether a stored run (--run) is diagnosed instead.
void set_trace_flags(TraceFlags& flags, bool planned_given, bool stored_run,
                     const std::vector<std::string>& column_specs, const std::string& ignore) {
  if (planned_given && flags.planned < 0)
    throw UsageError(
        "diagnose: --planned-epochs must be >= 0 (0: not known, count the rows), got " +
        std::to_string(flags.planned));
  if (!flags.outcome.empty() && !db::is_outcome(flags.outcome))
    throw UsageError("diagnose: --outcome must be one of " + db::outcome_list() + "; got '" +
                     flags.outcome + "'");
  if (stored_run && (!flags.outcome.empty() || flags.planned >= 0 || !column_specs.empty() ||
                     !ignore.empty() || flags.log.format != "auto"))
    throw UsageError(
        "diagnose: --outcome, --planned-epochs, --trace-format, --column and "
        "--ignore-columns go with --trace only");
  flags.log.columns = column_mappings(column_specs);
  flags.log.ignore_columns = split_list(ignore);
  const auto& known = features::trace_formats();
  if (flags.log.format != "auto" &&
      std::find(known.begin(), known.end(), flags.log.format) == known.end())
    throw UsageError("diagnose: " + unknown_name_message("trace format", flags.log.format, known) +
                     " (or auto)");
}

}  // namespace

/// `dynfault diagnose`: saved models applied to a stored run, or to one or many logs of runs
/// recorded elsewhere (each model is read once). Logic and output live in diagnosis/.
int cmd_diagnose(const Args& args) {
  std::vector<std::string> models, trace_files, column_specs;
  std::string dbp, run, traces_from, format = "text", ignore;
  TraceFlags flags;
  int top = 5;
  auto d = db_option(dbp);
  d.add_options()("model,m", po::value(&models)->composing(),
                  "model file from 'dynfault train' (repeat for several tasks)")(
      "run", po::value(&run), "a FINISHED run of --db")(
      "trace", po::value(&trace_files)->multitoken()->composing(),
      "log files or directories (every *.csv below them) of runs recorded elsewhere: the\n"
      "dynfault per-epoch CSV, Keras CSVLogger, Lightning metrics.csv or TensorBoard\n"
      "scalars (docs/diagnose.md)")("traces-from", po::value(&traces_from),
                                    "a file listing trace paths, one a line")(
      "trace-format", po::value(&flags.log.format)->default_value(flags.log.format),
      "auto, dynfault, keras, lightning or tensorboard-csv")(
      "column", po::value(&column_specs)->composing(),
      "map a log column: TARGET=COLUMN, TARGET one of epoch, train_loss, train_metric,\n"
      "val_loss, val_metric, lr or a metric key (repeatable)")(
      "ignore-columns", po::value(&ignore), "log columns (or tags) to leave out, comma-separated")(
      "outcome", po::value(&flags.outcome),
      "with --trace: how training ended (completed, nan_loss, diverged, exception, timeout, "
      "crashed); default: the file's '# outcome:' line, else completed")(
      "planned-epochs", po::value(&flags.planned),
      "with --trace: the planned number of epochs (default: the file's '# planned_epochs:' "
      "line, else the rows)")("top", po::value(&top)->default_value(top),
                              "features listed per model")(
      "format", po::value(&format)->default_value(format),
      "text, json, jsonl (one line per trace) or csv (one row per trace)");
  const Parsed parsed =
      parse("diagnose", args, d,
            "diagnose --model MODEL [--model MODEL2 ...] (--db PATH --run RUN_ID | --trace FILE|DIR"
            " ... | --traces-from LIST) [--format text|json|jsonl|csv]");
  if (models.empty()) throw UsageError("diagnose: no model given (--model MODEL)");
  const bool logs = !trace_files.empty() || !traces_from.empty();
  if (run.empty() == !logs)
    throw UsageError(
        "diagnose: give exactly one of --run RUN_ID and --trace FILE (or "
        "--traces-from LIST)");
  if (format != "text" && format != "json" && format != "jsonl" && format != "csv")
    throw UsageError("diagnose: --format must be text, json, jsonl or csv, got '" + format + "'");
  if (top < 0) throw UsageError("diagnose: --top must be >= 0");
  set_trace_flags(flags, parsed.vm.count("planned-epochs") > 0, !run.empty(), column_specs, ignore);

  // Every model and the list of inputs are read before anything is printed.
  std::vector<diagnosis::LoadedModel> loaded;
  for (const auto& m : models) loaded.push_back({m, diagnosis::load_model_file(m)});
  const std::vector<std::string> paths =
      logs ? features::expand_trace_paths(trace_files, traces_from) : std::vector<std::string>{};
  if (logs && paths.empty())
    throw Error("diagnose: the list '" + traces_from +
                "' names no trace (only comments and blank lines)");

  const std::vector<std::string> csv_keys =
      logs ? std::vector<std::string>{"trace", "format", "epochs", "outcome"}
           : std::vector<std::string>{"db", "run", "program", "faults", "outcome"};
  if (format == "csv") std::cout << diagnosis::diagnosis_csv_header(loaded, csv_keys);
  if (format == "json" && paths.size() > 1) std::cout << "[\n";
  int64_t failed = 0;
  const size_t n = logs ? paths.size() : 1;
  for (size_t i = 0; i < n; ++i) {
    const diagnosis::TraceDiagnoses dx =
        logs ? diagnose_file(loaded, paths[i], flags, top) : diagnose_run(loaded, dbp, run, top);
    // A single bad log is an error as before; in a batch it is one failed line among many.
    if (!dx.error.empty() && n == 1) throw Error(dx.error);
    failed += dx.error.empty() ? 0 : 1;
    if (format == "text") {
      std::cout << (i ? "\n" : "") << diagnosis::diagnosis_text(loaded, dx, top);
    } else if (format == "json") {
      std::cout << diagnosis::diagnosis_json(loaded, dx, 2)
                << (paths.size() > 1 && i + 1 < n ? ",\n" : "\n");
    } else if (format == "jsonl") {
      std::cout << diagnosis::diagnosis_json(loaded, dx, -1) << '\n';
    } else {
      std::cout << diagnosis::diagnosis_csv_row(loaded, dx, csv_keys);
    }
  }
  if (format == "json" && paths.size() > 1) std::cout << "]\n";
  std::cout.flush();
  if (failed > 0) {
    std::cerr << "diagnose: " << failed << " of " << n
              << " traces could not be diagnosed (their error is in the output)\n";
    return 1;
  }
  return 0;
}

/// `dynfault trace-csv RUN_ID`: a stored run as the per-epoch CSV 'diagnose --trace' reads.
int cmd_trace_csv(const Args& args) {
  std::string dbp, out;
  bool force = false;
  auto d = db_option(dbp);
  d.add_options()("out,o", po::value(&out), "CSV file to write (default: standard output)")(
      "force", po::bool_switch(&force), "overwrite an existing file");
  auto p = parse("trace-csv", args, d, "trace-csv RUN_ID [--db PATH] [--out FILE] [--force]", 1);
  if (p.positional.empty())
    throw UsageError("trace-csv: no run id given (dynfault trace-csv RUN_ID)");
  const std::string id = p.positional[0];
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open_read_only(dbp);
  if (!out.empty()) files::check_output_file(out, force, "CSV file");
  const auto row = store.run(id);
  if (!row) throw Error("trace-csv: no run '" + id + "' in " + dbp);
  if (row->status != "FINISHED")
    throw Error("trace-csv: run " + id + " is " + row->status + ": it has no stored trace");
  std::vector<std::string> left_out;
  const std::string csv = features::write_trace_csv(store.trace(id), &left_out);
  if (out.empty()) {
    std::cout << csv;
  } else {
    write_output(out, csv, force, "CSV file");
    std::cout << "wrote " << out << '\n';
  }
  if (!left_out.empty()) {
    std::cerr << "trace-csv: " << left_out.size()
              << " series not recorded per epoch were left out:";
    for (size_t i = 0; i < left_out.size() && i < 8; ++i) std::cerr << ' ' << left_out[i];
    std::cerr << (left_out.size() > 8 ? " ..." : "") << '\n';
  }
  return 0;
}

}  // namespace dynfault::cli
