// The corpus commands: labels, features, evaluate, report, check, export.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <regex>

#include "cli/cli.h"
#include "db/export.h"
#include "diagnosis/report.h"
#include "programs/registry.h"
#include "runner/check.h"

namespace fs = std::filesystem;

namespace dynfault::cli {

// --- labels, features, evaluate ----------------------------------------------------------------

void print_labels(const features::LabelCounts& c) {
  std::cout << "labelled " << c.traces << " finished runs\n";
  for (const auto& [task, classes] : c.by_task) {
    std::cout << "  " << std::left << std::setw(22) << task;
    for (const auto& [cls, n] : classes)
      std::cout << ' ' << (cls.empty() ? "(excluded)" : cls) << '=' << n;
    std::cout << '\n';
  }
}

void print_extract(const features::ExtractReport& r) {
  std::cout << "extracted features of " << r.traces << " finished runs\n";
  for (const auto& [set, shape] : r.tables)
    std::cout << "  " << std::left << std::setw(22) << set << shape.first << " rows x "
              << shape.second << " features\n";
}

features::LabelOptions default_label_options() {
  return features::LabelOptions()
      .taxonomies_path(config_dir() + "/taxonomies.yaml")
      .thresholds_path(config_dir() + "/thresholds.yaml");
}

int cmd_labels(const Args& args) {
  std::string dbp, campaign, tasks;
  features::LabelOptions o = default_label_options();
  std::string tax = o.taxonomies_path(), thr = o.thresholds_path();
  auto d = db_option(dbp);
  d.add_options()("campaign", po::value(&campaign), "only this campaign")(
      "taxonomies", po::value(&tax)->default_value(tax), "taxonomy file")(
      "thresholds", po::value(&thr)->default_value(thr), "label thresholds file")(
      "tasks", po::value(&tasks), "comma-separated tasks (default: all)");
  parse("labels", args, d, "labels [--db PATH] [--campaign NAME]");
  o.campaign(campaign).taxonomies_path(tax).thresholds_path(thr).tasks(split_list(tasks));
  db::Store store = open_existing(dbp);
  print_labels(features::derive_labels(store, o));
  return 0;
}

int cmd_features(const Args& args) {
  std::string dbp, campaign;
  features::ExtractOptions o;
  std::string sets;
  for (const auto& s : o.feature_sets()) sets += (sets.empty() ? "" : ",") + s;
  int threads = 2;
  auto d = db_option(dbp);
  d.add_options()("sets", po::value(&sets)->default_value(sets),
                  "comma-separated feature sets (a+b = union)")(
      "campaign", po::value(&campaign), "only this campaign")(
      "threads", po::value(&threads)->default_value(threads), "OpenMP threads");
  auto p = parse("features", args, d, "features [--db PATH] [--sets deepfd,curves]");
  (void)p;
  o.campaign(campaign).feature_sets(split_list(sets)).threads(threads);
  db::Store store = open_existing(dbp);
  print_extract(features::extract_features(store, o));
  return 0;
}

EvalFlags::EvalFlags() {
  const diagnosis::EvaluateOptions o;
  const auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
    return out;
  };
  tasks = join(o.tasks());
  sets = join(o.feature_sets());
  diagnosers = join(o.diagnosers());
  protocols = join(o.protocols());
  resample_by = o.resample_by();
  folds = o.within_folds();
  heldout_folds = o.heldout_folds();
  bootstrap = o.bootstrap();
  seed = o.seed();
  learner_seeds = o.learner_seeds();
  bins = o.max_bins();
  margin = o.margin();
}

po::options_description EvalFlags::describe() {
  po::options_description d("Evaluation options");
  d.add_options()("tasks", po::value(&tasks)->default_value(tasks), "comma-separated label tasks")(
      "sets", po::value(&sets)->default_value(sets), "comma-separated feature sets (a+b = union)")(
      "diagnosers", po::value(&diagnosers)->default_value(diagnosers),
      "comma-separated diagnosers")(
      "protocols", po::value(&protocols)->default_value(protocols),
      "rungs of the protocol ladder, in order: random, config, value, fault, program, dataset")(
      "folds", po::value(&folds)->default_value(folds), "k of the random and config rungs")(
      "heldout-folds", po::value(&heldout_folds)->default_value(heldout_folds),
      "value, fault, program, dataset rungs: 0 = leave one group out, else group k-fold")(
      "bootstrap", po::value(&bootstrap)->default_value(bootstrap),
      "clustered bootstrap resamples; 0 = no intervals")(
      "resample-by", po::value(&resample_by)->default_value(resample_by),
      "what the bootstrap resamples: program or dataset")(
      "diagnoser-config", po::value(&diagnoser_config),
      "diagnosers' options, learner seeds and bins (configs/diagnosers.yaml); default: the "
      "declared defaults")(
      "learner-seeds",
      po::value(&learner_seeds)->notifier([this](int) { learner_seeds_given = true; }),
      ("fit seeded learners (forests, MLP) with N seeds and average their scores (default " +
       std::to_string(learner_seeds) + "; overrides the config file)")
          .c_str())("bins", po::value(&bins)->notifier([this](int) { bins_given = true; }),
                    ("histogram bins of the tree learners (default " + std::to_string(bins) +
                     "; overrides the config file)")
                        .c_str())(
      "margin", po::value(&margin)->default_value(margin),
      "equivalence margin in (0, 1), fixed in advance: verdicts of paired comparisons")(
      "keep-label-inputs", po::bool_switch(&keep_label_inputs),
      "keep the feature columns that restate a task's label rule")(
      "seed", po::value(&seed)->default_value(seed),
      "seed for splits, resampling and the learner seeds")(
      "threads", po::value(&threads)->default_value(threads), "OpenMP threads");
  return d;
}

void resolve_learner_settings(const diagnosis::DiagnoserConfigFile& file, bool seeds_given,
                              bool bins_given, int& seeds, int& bins) {
  if (!seeds_given && file.learner_seeds) seeds = *file.learner_seeds;
  if (!bins_given && file.bins) bins = *file.bins;
}

diagnosis::EvaluateOptions EvalFlags::options(const std::string& campaign) const {
  // Read (and check) the file before anything runs: a bad file stops the command first.
  diagnosis::DiagnoserConfigFile file;
  if (!diagnoser_config.empty()) file = diagnosis::load_diagnoser_config(diagnoser_config);
  int seeds = learner_seeds, nbins = bins;
  resolve_learner_settings(file, learner_seeds_given, bins_given, seeds, nbins);
  return diagnosis::EvaluateOptions()
      .campaign(campaign)
      .tasks(split_list(tasks))
      .feature_sets(split_list(sets))
      .diagnosers(split_list(diagnosers))
      .protocols(split_list(protocols))
      .within_folds(folds)
      .heldout_folds(heldout_folds)
      .bootstrap(bootstrap)
      .resample_by(resample_by)
      .learner_seeds(seeds)
      .max_bins(nbins)
      .diagnoser_config(file.diagnosers)
      .margin(margin)
      .keep_label_inputs(keep_label_inputs)
      .taxonomies_path(config_dir() + "/taxonomies.yaml")
      .thresholds_path(config_dir() + "/thresholds.yaml")
      .seed(seed)
      .threads(threads);
}

int cmd_evaluate(const Args& args) {
  std::string dbp, campaign;
  EvalFlags flags;
  auto d = db_option(dbp);
  d.add_options()("campaign", po::value(&campaign), "only this campaign");
  d.add(flags.describe());
  parse("evaluate", args, d, "evaluate [--db PATH] [--tasks ...] [--sets ...] [--diagnosers ...]");
  const auto o = flags.options(campaign);
  db::Store store = open_existing(dbp);
  std::cout << diagnosis::format_table(diagnosis::evaluate(store, o));
  return 0;
}

int cmd_report(const Args& args) {
  std::string dbp, out = "report.html", evaluation_id, campaign;
  auto d = db_option(dbp);
  d.add_options()("out,o", po::value(&out)->default_value(out), "HTML file to write")(
      "evaluation", po::value(&evaluation_id), "evaluation id (default: the latest)")(
      "campaign", po::value(&campaign), "only this campaign (header counts, curves)");
  parse("report", args, d, "report [--db PATH] [--out FILE]");
  db::Store store = open_existing(dbp);
  const std::string html = diagnosis::render_report_html(
      store, diagnosis::ReportOptions().evaluation_id(evaluation_id).campaign(campaign));
  write_file_atomically(out, html);
  std::cout << "wrote " << out << " (" << html.size() << " bytes)\n";
  return 0;
}

// --- check -------------------------------------------------------------------------------------

/// `dynfault check programs`: trains each selected clean program and compares its test metric
/// with its satisfactory value; --markdown writes the catalogue page. Exit 1 when any misses.
int cmd_check(const Args& args) {
  std::string pattern, markdown;
  int64_t seed = 1, seeds = 1;
  po::options_description d("Options");
  d.add_options()("programs", po::value(&pattern), "only program ids matching this regex")(
      "seed", po::value(&seed)->default_value(seed), "seed of the (first) clean run")(
      "seeds", po::value(&seeds)->default_value(seeds), "clean runs per program (seed, seed+1..)")(
      "markdown", po::value(&markdown), "write the catalogue page (docs/programs.md) here");
  auto p = parse("check", args, d,
                 "check programs [--programs REGEX] [--seed S] [--seeds N] [--markdown FILE]", 1);
  if (p.positional.empty() || p.positional[0] != "programs")
    throw UsageError("check: say what to check: programs");
  if (seeds < 1 || seeds > 100) throw UsageError("check: --seeds must be in [1, 100]");
  std::regex re;
  try {
    re = std::regex(pattern.empty() ? ".*" : pattern);
  } catch (const std::regex_error& e) {
    throw UsageError("check: --programs '" + pattern + "' is not a regex: " + e.what());
  }
  std::vector<std::string> ids;
  for (const auto& id : programs::program_ids())
    if (std::regex_search(id, re)) ids.push_back(id);
  if (ids.empty()) throw UsageError("check: no program id matches '" + pattern + "'");
  std::printf("%-22s %-8s %-17s %-8s %7s %7s %s\n", "program", "metric", "measured",
              "satisf.", "CPU s", "wall s", "status");
  const auto checks = runner::check_programs(ids, seed, seeds, [](const runner::ProgramCheck& c) {
    char range[64];
    std::snprintf(range, sizeof range, "%.3f-%.3f", c.min_value(), c.max_value());
    double wall = 0;
    for (double w : c.wall_seconds) wall = std::max(wall, w);
    std::string status = c.ok() ? "ok" : "MISSED";
    for (const auto& o : c.outcomes)
      if (o != "completed") status += " (" + o + (c.error.empty() ? "" : ": " + c.error) + ")";
    std::printf("%-22s %-8s %-17s %-8.4g %7.1f %7.1f %s\n", c.id.c_str(), c.metric.c_str(), range,
                c.satisfactory, c.max_cpu_seconds(), wall, status.c_str());
    std::fflush(stdout);
  });
  int missed = 0;
  for (const auto& c : checks) missed += c.ok() ? 0 : 1;
  std::cout << checks.size() - missed << " of " << checks.size()
            << " programs reach their satisfactory metric\n";
  if (!markdown.empty()) {
    std::ofstream out(markdown);
    if (!out) throw Error("check: cannot write '" + markdown + "'");
    out << runner::programs_markdown(checks, runner::describe_machine());
    std::cout << "wrote " << markdown << '\n';
  }
  return missed == 0 ? 0 : 1;
}

// --- export, replay ----------------------------------------------------------------------------

/// `dynfault export --db DB --out DIR --format csv|mlruns`: the database as CSV files or as
/// MLflow's file store (docs/export.md). Reads the database read-only; writes DIR atomically.
int cmd_export(const Args& args) {
  std::string dbp;
  db::ExportOptions o;
  auto d = db_option(dbp);
  d.add_options()("out,o", po::value(&o.out_dir),
                  "directory to create (it must not exist, or be empty)")(
      "format", po::value(&o.format)->default_value(o.format), "csv or mlruns")(
      "campaign", po::value(&o.campaign), "only runs of this campaign");
  parse("export", args, d, "export --db PATH --out DIR [--format csv|mlruns] [--campaign NAME]");
  if (o.out_dir.empty()) throw UsageError("export: no output directory given (--out DIR)");
  if (o.format != "csv" && o.format != "mlruns")
    throw UsageError("export: --format must be csv or mlruns, got '" + o.format + "'");
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open_read_only(dbp);
  const auto s = db::export_store(store, o);
  std::cout << "exported " << s.runs << " runs and " << s.metric_points << " metric points of "
            << dbp << " as " << o.format << " into " << o.out_dir << " (" << s.files
            << " files)\n";
  return 0;
}

}  // namespace dynfault::cli
