// The corpus commands: labels, features, evaluate, report, check, export.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <regex>

#include "cli/cli.h"
#include "common/output_file.h"
#include "common/regex.h"
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
  if (!r.ahead.empty()) {
    std::cout << "  " << r.alive << " still training at the cut";
    if (r.bounded > 0)
      std::cout << " (" << r.bounded << " runs placed by bounds on their steps per epoch)";
    std::cout << "; instability_ahead:";
    for (const auto& [cls, n] : r.ahead)
      std::cout << ' ' << (cls.empty() ? "(excluded)" : cls) << '=' << n;
    std::cout << '\n';
  }
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
  std::string horizon;
  int64_t horizon_epochs = 0, horizon_steps = 0;
  auto d = db_option(dbp);
  d.add_options()("sets", po::value(&sets)->default_value(sets),
                  "comma-separated feature sets (a+b = union)")("campaign", po::value(&campaign),
                                                                "only this campaign")(
      "horizon", po::value(&horizon),
      "cut every trace at this fraction of its planned epochs, in (0, 1]; stored as <set>@h<H>")(
      "horizon-epochs", po::value(&horizon_epochs), "cut after N epochs (<set>@e<N>)")(
      "horizon-steps", po::value(&horizon_steps), "cut after N optimizer steps (<set>@s<N>)")(
      "threads", po::value(&threads)->default_value(threads), "OpenMP threads");
  auto p = parse("features", args, d,
                 "features [--db PATH] [--sets deepfd,curves] [--horizon H | --horizon-epochs N "
                 "| --horizon-steps N]");
  const int given = (p.vm.count("horizon") ? 1 : 0) + (p.vm.count("horizon-epochs") ? 1 : 0) +
                    (p.vm.count("horizon-steps") ? 1 : 0);
  if (given > 1)
    throw UsageError("features: give one of --horizon, --horizon-epochs, --horizon-steps");
  try {
    if (p.vm.count("horizon")) o.horizon(features::Horizon::parse(horizon));
    if (p.vm.count("horizon-epochs")) o.horizon(features::Horizon::epochs(horizon_epochs));
    if (p.vm.count("horizon-steps")) o.horizon(features::Horizon::steps(horizon_steps));
  } catch (const Error& e) {
    throw UsageError(std::string("features: ") + e.what());
  }
  o.campaign(campaign).feature_sets(split_list(sets)).threads(threads);
  o.thresholds_path(config_dir() + "/thresholds.yaml");
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
  horizons = join(o.horizons());
  resample_by = o.resample_by();
  folds = o.within_folds();
  heldout_folds = o.heldout_folds();
  bootstrap = o.bootstrap();
  seed = o.seed();
  learner_seeds = o.learner_seeds();
  bins = o.max_bins();
  margin = o.margin();
  class_weight = o.class_weight();
}

po::options_description EvalFlags::describe() {
  po::options_description d("Evaluation options");
  d.add_options()("tasks", po::value(&tasks)->default_value(tasks), "comma-separated label tasks")(
      "sets", po::value(&sets)->default_value(sets), "comma-separated feature sets (a+b = union)")(
      "diagnosers", po::value(&diagnosers)->default_value(diagnosers),
      "comma-separated diagnosers")(
      "protocols", po::value(&protocols)->default_value(protocols),
      "rungs of the protocol ladder, in order: random, config, value, fault, program, dataset")(
      "horizons", po::value(&horizons)->default_value(horizons),
      "fractions of planned epochs to diagnose at (0.1,0.25,0.5,1; e<N>, s<N>), each on the "
      "tables of 'dynfault features --horizon'")("folds", po::value(&folds)->default_value(folds),
                                                 "k of the random and config rungs")(
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
      "class-weight", po::value(&class_weight)->default_value(class_weight),
      "none, or balanced: in every training fold each class weighs as much as the largest")(
      "effective-only", po::bool_switch(&effective_only),
      "task detection: effective faults (the killing test) against clean runs")(
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
      .horizons(split_list(horizons))
      .within_folds(folds)
      .heldout_folds(heldout_folds)
      .bootstrap(bootstrap)
      .resample_by(resample_by)
      .learner_seeds(seeds)
      .max_bins(nbins)
      .diagnoser_config(file.diagnosers)
      .margin(margin)
      .keep_label_inputs(keep_label_inputs)
      .class_weight(class_weight)
      .effective_only(effective_only)
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
  bool force = false;
  auto d = db_option(dbp);
  d.add_options()("out,o", po::value(&out)->default_value(out), "HTML file to write")(
      "force", po::bool_switch(&force), "overwrite an existing file")(
      "evaluation", po::value(&evaluation_id), "evaluation id (default: the latest)")(
      "campaign", po::value(&campaign), "only this campaign (header counts, curves)");
  parse("report", args, d, "report [--db PATH] [--out FILE] [--force]");
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open_read_only(dbp);
  files::check_output_file(out, force, "report");  // before rendering; the database is open
  const std::string html = diagnosis::render_report_html(
      store, diagnosis::ReportOptions().evaluation_id(evaluation_id).campaign(campaign));
  write_output(out, html, force, "report");
  std::cout << "wrote " << out << " (" << html.size() << " bytes)\n";
  return 0;
}

// --- check -------------------------------------------------------------------------------------

namespace {

/// The ids of the registered programs matching `pattern` (all when empty).
std::vector<std::string> matching_programs(const std::string& pattern) {
  std::regex re;
  try {
    re = bounded_regex(pattern.empty() ? ".*" : pattern, "--programs");
  } catch (const ConfigError& e) {
    throw UsageError("check: " + std::string(e.what()));
  }
  std::vector<std::string> ids;
  for (const auto& id : programs::program_ids())
    if (std::regex_search(id, re)) ids.push_back(id);
  if (ids.empty()) throw UsageError("check: no program id matches '" + pattern + "'");
  return ids;
}

/// `check programs`: trains each selected clean program and compares its test metric with its
/// satisfactory value; --markdown writes the catalogue page. Exit 1 when any misses.
int check_programs(const std::string& pattern, int64_t seed, int64_t seeds,
                   const std::string& markdown, bool force) {
  if (seeds < 1 || seeds > 100) throw UsageError("check: --seeds must be in [1, 100]");
  const std::vector<std::string> ids = matching_programs(pattern);
  // Before the programs train (minutes): a target that would be refused costs nothing.
  if (!markdown.empty()) files::check_output_file(markdown, force, "programs page");
  std::printf("%-22s %-8s %-17s %-8s %7s %7s %s\n", "program", "metric", "measured", "satisf.",
              "CPU s", "wall s", "status");
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
    write_output(markdown, runner::programs_markdown(checks, runner::describe_machine()), force,
                 "programs page");
    std::cout << "wrote " << markdown << '\n';
  }
  return missed == 0 ? 0 : 1;
}

/// The settings of `check curvature`, as flags.
struct CurvatureFlags {
  runner::CurvatureCheckOptions o;
  std::string method = "lanczos", mode = "eval";
  double max_error = 0;
};

/// `check curvature`: the curvature probe against the exact Hessian at --step; prints the
/// errors. Exit 1 when a program has no reading there, or (with --max-error E) when an error of
/// lambda_max, lambda_min (relative to the spectral radius), the preconditioned sharpness or
/// the stability ratio exceeds E.
int check_curvature(const std::string& pattern, CurvatureFlags f) {
  if (f.method != "lanczos" && f.method != "power")
    throw UsageError("check: --method must be lanczos or power, got '" + f.method + "'");
  if (f.mode != "eval" && f.mode != "train")
    throw UsageError("check: --mode must be eval or train, got '" + f.mode + "'");
  if (f.o.step < 0) throw UsageError("check: --step must be >= 0");
  if (f.o.probe.curvature_iterations < 2) throw UsageError("check: --k must be >= 2");
  if (f.o.max_exact < 1 || f.o.reference_k < 2 || f.o.reference_samples < 1)
    throw UsageError("check: --max-exact >= 1, --reference-k >= 2, --reference-samples >= 1");
  using Probe = runner::ProbeOptions;
  f.o.probe.curvature_method =
      f.method == "power" ? Probe::CurvatureMethod::kPower : Probe::CurvatureMethod::kLanczos;
  f.o.probe.curvature_mode =
      f.mode == "train" ? Probe::CurvatureMode::kTrain : Probe::CurvatureMode::kEval;
  f.o.probe.validate();
  int bad = 0;
  runner::check_curvature(matching_programs(pattern), f.o, [&](const runner::CurvatureCheck& c) {
    std::cout << runner::curvature_check_table({c}) << std::flush;
    if (!c.error.empty()) {
      ++bad;
      return;
    }
    const double worst =
        std::max({c.lambda_max.rel_rho(c.rho()), c.lambda_min.rel_rho(c.rho()),
                  std::isnan(c.precond_sharpness.reference) ? 0.0 : c.precond_sharpness.rel(),
                  std::isnan(c.stability_ratio.reference) ? 0.0 : c.stability_ratio.rel()});
    if (f.max_error > 0 && !(worst <= f.max_error)) {
      std::cout << "  error " << worst << " exceeds --max-error " << f.max_error << '\n';
      ++bad;
    }
  });
  return bad == 0 ? 0 : 1;
}

}  // namespace

/// `dynfault check programs|curvature`.
int cmd_check(const Args& args) {
  std::string pattern, markdown;
  int64_t seed = 1, seeds = 1;
  bool force = false;
  CurvatureFlags f;
  runner::ProbeOptions& p = f.o.probe;
  po::options_description d("Options");
  d.add_options()("programs", po::value(&pattern), "only program ids matching this regex")(
      "seed", po::value(&seed)->default_value(seed), "seed of the (first) clean run")(
      "seeds", po::value(&seeds)->default_value(seeds), "programs: clean runs per program")(
      "markdown", po::value(&markdown), "programs: write the catalogue page here")(
      "force", po::bool_switch(&force), "programs: overwrite an existing --markdown file")(
      "step", po::value(&f.o.step)->default_value(0), "curvature: updates before the reading")(
      "method", po::value(&f.method)->default_value(f.method), "curvature: lanczos or power")(
      "k", po::value(&p.curvature_iterations)->default_value(p.curvature_iterations),
      "curvature: products per operator at most")(
      "tol", po::value(&p.curvature_tol)->default_value(p.curvature_tol),
      "curvature: stopping tolerance (0: always k products)")(
      "mode", po::value(&f.mode)->default_value(f.mode), "curvature: eval or train")(
      "curvature-batch", po::value(&p.curvature_batch)->default_value(p.curvature_batch),
      "curvature: probe samples")(
      "hutchinson", po::value(&p.hutchinson_samples)->default_value(p.hutchinson_samples),
      "curvature: Rademacher vectors for the trace")(
      "max-exact", po::value(&f.o.max_exact)->default_value(f.o.max_exact),
      "curvature: largest model for the exact Hessian")(
      "reference-k", po::value(&f.o.reference_k)->default_value(f.o.reference_k),
      "curvature: Lanczos steps of the reference for larger models")(
      "reference-samples", po::value(&f.o.reference_samples)->default_value(f.o.reference_samples),
      "curvature: Hutchinson vectors of that reference")(
      "max-error", po::value(&f.max_error)->default_value(0),
      "curvature: exit 1 when an error exceeds this (0: report only)");
  auto parsed = parse("check", args, d,
                      "check programs [--programs REGEX] [--seed S] [--seeds N] [--markdown FILE] "
                      "[--force]\n"
                      "       dynfault check curvature [--programs REGEX] [--step S] [--seed S] "
                      "[--method lanczos|power] [--k K] [--mode eval|train] [--max-error E]",
                      1);
  const std::string what = parsed.positional.empty() ? "" : parsed.positional[0];
  if (what == "programs") return check_programs(pattern, seed, seeds, markdown, force);
  if (what == "curvature") {
    f.o.seed = seed;
    return check_curvature(pattern, f);
  }
  throw UsageError("check: say what to check: programs or curvature");
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
  print_removed_stale(s.removed_stale);
  std::cout << "exported " << s.runs << " runs and " << s.metric_points << " metric points of "
            << dbp << " as " << o.format << " into " << o.out_dir << " (" << s.files << " files)\n";
  return 0;
}

}  // namespace dynfault::cli
