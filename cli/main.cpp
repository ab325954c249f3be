// The dynfault command line: the only place that parses flags. Each subcommand parses its flags
// into a plain options struct and calls the libraries; libraries never see Boost.
#include <unistd.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/version.h"
#include "db/store.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/report.h"
#include "features/feature_set.h"
#include "features/labels.h"
#include "mutators/mutator.h"
#include "programs/registry.h"
#include "runner/campaign.h"
#include "runner/executor.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using dynfault::programs::Json;

namespace dynfault::cli {
namespace {

/// Thrown for usage errors (bad flags); main prints it with the subcommand's help hint.
struct UsageError : Error {
  using Error::Error;
};

std::string self_binary() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  DYNFAULT_CHECK(!ec, "cannot locate the dynfault executable: ", ec.message());
  return p.string();
}

/// configs/ next to the sources this binary was built from, unless DYNFAULT_CONFIG_DIR is set.
std::string config_dir() {
  if (const char* env = std::getenv("DYNFAULT_CONFIG_DIR")) return env;
  return DYNFAULT_SOURCE_CONFIG_DIR;
}

struct Parsed {
  po::variables_map vm;
  std::vector<std::string> positional;
};

/// Parses `args` against `desc` (+ --help); positionals are collected in order.
Parsed parse(const std::string& cmd, const std::vector<std::string>& args,
             po::options_description desc, const std::string& usage, int max_positional = 0) {
  desc.add_options()("help,h", "show this help");
  po::options_description all;
  all.add(desc).add_options()("positional", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("positional", -1);
  Parsed p;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), p.vm);
    po::notify(p.vm);
  } catch (const po::error& e) {
    throw UsageError(cmd + ": " + e.what() + " (see 'dynfault " + cmd + " --help')");
  }
  if (p.vm.count("help")) {
    std::cout << "usage: dynfault " << usage << "\n\n" << desc << '\n';
    std::exit(0);
  }
  if (p.vm.count("positional")) p.positional = p.vm["positional"].as<std::vector<std::string>>();
  if (static_cast<int>(p.positional.size()) > max_positional)
    throw UsageError(cmd + ": unexpected argument '" + p.positional[max_positional] +
                     "' (see 'dynfault " + cmd + " --help')");
  return p;
}

po::options_description db_option(std::string& db) {
  po::options_description d("Options");
  d.add_options()("db", po::value(&db)->default_value("dynfault.db"), "SQLite database file");
  return d;
}

// --- list --------------------------------------------------------------------------------------

int cmd_list(const std::vector<std::string>& args) {
  std::string format = "text";
  po::options_description d("Options");
  d.add_options()("format", po::value(&format)->default_value("text"),
                  "text, json, or markdown (mutators: the table of docs/mutators.md)");
  auto p = parse("list", args, d, "list programs|mutators [--format text|json|markdown]", 1);
  if (p.positional.empty()) throw UsageError("list: say what to list: programs or mutators");
  if (format != "text" && format != "json" && format != "markdown")
    throw UsageError("list: --format must be text, json or markdown, got '" + format + "'");
  const std::string what = p.positional[0];
  if (what == "programs") {
    Json out = Json::array();
    for (const auto& id : programs::program_ids()) {
      const auto r = programs::program(id);
      out.push_back({{"id", id},
                     {"family", r.family},
                     {"task", r.task},
                     {"dataset", r.data.name},
                     {"source", r.provenance.source},
                     {"changes", r.provenance.changes},
                     {"metric", r.provenance.metric},
                     {"satisfactory", r.provenance.satisfactory},
                     {"epochs", r.epochs},
                     {"optimizer", r.optimizer.name},
                     {"lr", r.optimizer.lr},
                     {"loss", r.loss}});
    }
    if (format == "json") {
      std::cout << out.dump(2) << '\n';
    } else if (format == "markdown") {
      throw UsageError(
          "list programs: the programs catalogue with measured times is written by "
          "'dynfault check programs --markdown FILE'");
    } else {
      std::printf("%-16s %-7s %-11s %-14s %s\n", "program", "family", "task", "dataset", "source");
      for (const auto& j : out)
        std::printf("%-16s %-7s %-11s %-14s %s\n", j["id"].get<std::string>().c_str(),
                    j["family"].get<std::string>().c_str(), j["task"].get<std::string>().c_str(),
                    j["dataset"].get<std::string>().c_str(), j["source"].get<std::string>().c_str());
    }
    return 0;
  }
  if (what == "mutators") {
    Json out = Json::array();
    for (const auto& id : mutators::mutator_ids()) {
      const auto& m = mutators::mutator(id);
      Json params = Json::array();
      for (const auto& s : m.params()) {
        static const char* kTypes[] = {"number", "integer", "string", "bool"};
        Json pj = {{"name", s.name},
                   {"type", kTypes[static_cast<int>(s.type)]},
                   {"default", s.default_value},
                   {"doc", s.doc}};
        if (!s.choices.empty()) pj["choices"] = s.choices;
        if (s.type == mutators::ParamSpec::Type::kNumber ||
            s.type == mutators::ParamSpec::Type::kInteger) {
          pj["min"] = s.min;
          pj["max"] = s.max;
        }
        params.push_back(pj);
      }
      out.push_back({{"id", id},
                     {"category", m.category()},
                     {"description", m.description()},
                     {"symptom", m.symptom()},
                     {"params", params}});
    }
    if (format == "json") {
      std::cout << out.dump(2) << '\n';
    } else if (format == "markdown") {
      std::cout << "# Fault operators\n\nGenerated by `dynfault list mutators --format markdown` "
                   "from the registry; do not edit by hand. "
                << out.size() << " operators.\n\n"
                << "| id | category | what it changes | parameters (default) | expected symptom |\n"
                << "|---|---|---|---|---|\n";
      for (const auto& j : out) {
        std::string params;
        for (const auto& pj : j["params"]) {
          params += (params.empty() ? "" : "; ") + pj["name"].get<std::string>() + " (" +
                    (pj["default"].is_string() ? pj["default"].get<std::string>()
                                               : pj["default"].dump()) +
                    ")";
          if (pj.contains("choices")) {
            std::string c;
            for (const auto& x : pj["choices"]) c += (c.empty() ? "" : ", ") + x.get<std::string>();
            params += ": " + c;
          }
        }
        std::cout << "| `" << j["id"].get<std::string>() << "` | " << j["category"].get<std::string>()
                  << " | " << j["description"].get<std::string>() << " | " << params << " | "
                  << j["symptom"].get<std::string>() << " |\n";
      }
    } else {
      std::printf("%-20s %-15s %s\n", "mutator", "category", "description");
      for (const auto& j : out)
        std::printf("%-20s %-15s %s\n", j["id"].get<std::string>().c_str(),
                    j["category"].get<std::string>().c_str(),
                    j["description"].get<std::string>().c_str());
    }
    return 0;
  }
  throw UsageError("list: unknown list '" + what + "' (programs or mutators)");
}

// --- plan --------------------------------------------------------------------------------------

struct PlanOptions {
  std::string db;
  std::string config;
  bool dry_run = false;
};

/// Plans `config` into the database; everything is validated before the database is touched.
runner::Plan plan_into(const PlanOptions& o, bool quiet) {
  const runner::Campaign c = runner::load_campaign(o.config);
  runner::Plan plan = runner::plan_campaign(c);
  if (!quiet) {
    std::map<std::string, int64_t> per_program;
    for (const auto& r : plan.runs) ++per_program[r.program];
    std::cout << "campaign '" << c.name << "': " << plan.runs.size() << " runs over "
              << per_program.size() << " programs";
    if (!plan.skipped.empty()) std::cout << " (" << plan.skipped.size() << " inapplicable combinations skipped)";
    std::cout << '\n';
  }
  if (o.dry_run) return plan;
  db::Store store = db::Store::open(o.db);
  for (const auto& [k, v] : runner::environment_info()) store.set_info(k, v);
  store.upsert_campaign(c.name, c.text, c.hash);
  for (const auto& id : c.programs) {
    const auto r = runner::base_recipe(c, id);
    store.upsert_program(db::ProgramRow{id, r.family, r.task, r.data.name, r.provenance.source,
                                        r.provenance.changes, r.provenance.metric,
                                        r.provenance.satisfactory});
  }
  const int64_t added = store.insert_runs(plan.runs);
  if (!quiet)
    std::cout << "planned into " << o.db << ": " << added << " new, "
              << (static_cast<int64_t>(plan.runs.size()) - added) << " already present\n";
  return plan;
}

int cmd_plan(const std::vector<std::string>& args) {
  PlanOptions o;
  auto d = db_option(o.db);
  bool verbose = false;
  d.add_options()("config", po::value(&o.config), "campaign YAML file (or give it as argument)")(
      "dry-run", po::bool_switch(&o.dry_run), "validate and count, write nothing")(
      "verbose,v", po::bool_switch(&verbose), "list the skipped combinations");
  auto p = parse("plan", args, d, "plan [--config] FILE [--db PATH] [--dry-run]", 1);
  if (!p.positional.empty()) o.config = p.positional[0];
  if (o.config.empty()) throw UsageError("plan: no campaign file given (--config FILE)");
  const auto plan = plan_into(o, false);
  if (verbose)
    for (const auto& s : plan.skipped) std::cout << "  skipped: " << s << '\n';
  return 0;
}

// --- run ---------------------------------------------------------------------------------------

void parse_shard(const std::string& s, int64_t& index, int64_t& count) {
  const auto slash = s.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t a = 0, b = 0;
    index = std::stoll(s.substr(0, slash), &a);
    count = std::stoll(s.substr(slash + 1), &b);
    if (a != slash || b != s.size() - slash - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw UsageError("run: --shard expects i/N (e.g. 0/4), got '" + s + "'");
  }
  if (count < 1 || index < 0 || index >= count)
    throw UsageError("run: --shard " + s + ": need 0 <= i < N");
}

/// Live progress: a bar on a terminal, a line every 10 s otherwise.
std::function<void(const runner::Progress&)> progress_printer() {
  const bool tty = ::isatty(2);
  auto last = std::make_shared<double>(-1e9);
  return [tty, last](const runner::Progress& p) {
    const int64_t done = p.finished + p.failed;
    const double rate = p.elapsed_s > 0 ? done / p.elapsed_s * 60.0 : 0;
    const double eta = rate > 0 ? (p.total - done) / rate * 60.0 : 0;
    std::ostringstream s;
    s << done << "/" << p.total << " done (" << p.finished << " finished, " << p.failed
      << " failed, " << p.running << " running), " << std::fixed << std::setprecision(1) << rate
      << " runs/min, ETA " << static_cast<int64_t>(eta) << " s";
    if (tty) {
      const int width = 30;
      const int fill = p.total > 0 ? static_cast<int>(width * done / p.total) : width;
      std::cerr << "\r[" << std::string(fill, '#') << std::string(width - fill, '.') << "] "
                << s.str() << "\033[K" << (done == p.total && p.running == 0 ? "\n" : "")
                << std::flush;
    } else if (p.elapsed_s - *last >= 10 || (done == p.total && p.running == 0)) {
      std::cerr << "dynfault run: " << s.str() << '\n';
      *last = p.elapsed_s;
    }
  };
}

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
};

runner::ExecuteSummary run_campaign(const RunOptions& o) {
  std::string campaign = o.campaign;
  if (!o.config.empty()) {
    PlanOptions po_{o.db, o.config, false};
    plan_into(po_, o.quiet);
    campaign = runner::load_campaign(o.config).name;
  }
  if (!fs::exists(o.db))
    throw Error("no database '" + o.db + "': plan a campaign first (dynfault plan --config FILE)");
  runner::ExecuteOptions eo;
  eo.db_path = o.db;
  eo.campaign = campaign;
  eo.jobs = o.jobs;
  eo.worker_binary = self_binary();
  if (!o.shard.empty()) parse_shard(o.shard, eo.shard_index, eo.shard_count);
  eo.limit = o.limit;
  eo.max_steps = o.max_steps;
  eo.probes = !o.no_probes;
  if (!o.quiet) {
    eo.on_progress = progress_printer();
    eo.log = [](const std::string& s) { std::cerr << "\ndynfault run: " << s << '\n'; };
  }
  auto summary = runner::execute(eo);
  if (!o.quiet) {
    std::cout << "executed " << (summary.progress.finished + summary.progress.failed) << " runs in "
              << std::fixed << std::setprecision(1) << summary.progress.elapsed_s << " s: "
              << summary.progress.finished << " finished, " << summary.progress.failed
              << " failed; outcomes:";
    for (const auto& [k, v] : summary.outcomes) std::cout << ' ' << k << '=' << v;
    std::cout << '\n';
  }
  return summary;
}

po::options_description run_flags(RunOptions& o) {
  auto d = db_option(o.db);
  d.add_options()("config", po::value(&o.config)->default_value(o.config),
                  "plan this campaign file first (idempotent)")(
      "campaign", po::value(&o.campaign), "only runs of this campaign")(
      "jobs,j", po::value(&o.jobs)->default_value(o.jobs), "worker processes (one thread each)")(
      "shard", po::value(&o.shard), "run only shard i/N of the plan")(
      "limit", po::value(&o.limit)->default_value(o.limit), "execute at most N runs")(
      "max-steps", po::value(&o.max_steps)->default_value(o.max_steps),
      "stop each training after N steps (smoke tests)")(
      "no-probes", po::bool_switch(&o.no_probes), "record loss curves only");
  return d;
}

int cmd_run(const std::vector<std::string>& args) {
  RunOptions o;
  auto p = parse("run", args, run_flags(o), "run [--config FILE] [--db PATH] [--jobs N] [--shard i/N]", 1);
  if (!p.positional.empty()) o.config = p.positional[0];
  if (o.jobs < 1 || o.jobs > 256) throw UsageError("run: --jobs must be in [1, 256]");
  run_campaign(o);
  return 0;
}

int cmd_worker(const std::vector<std::string>& args) {
  runner::WorkerOptions o;
  bool no_probes = false;
  auto d = db_option(o.db_path);
  d.add_options()("no-probes", po::bool_switch(&no_probes), "")(
      "max-steps", po::value(&o.max_steps)->default_value(o.max_steps), "");
  parse("worker", args, d, "worker --db PATH (started by 'dynfault run')");
  o.probes = !no_probes;
  return runner::worker_main(o);
}

// --- status ------------------------------------------------------------------------------------

int cmd_status(const std::vector<std::string>& args) {
  std::string dbp, campaign;
  auto d = db_option(dbp);
  d.add_options()("campaign", po::value(&campaign), "only this campaign");
  parse("status", args, d, "status [--db PATH] [--campaign NAME]");
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open(dbp, false);
  const auto runs = store.runs(db::RunFilter{campaign, ""});
  std::map<std::string, int64_t> by_status, by_outcome;
  std::map<std::string, std::map<std::string, int64_t>> by_program, by_fault;
  for (const auto& r : runs) {
    ++by_status[r.status];
    if (!r.outcome.empty()) ++by_outcome[r.outcome];
    ++by_program[r.spec.program][r.status];
    ++by_fault[r.spec.fault_ids.empty() ? "(clean)" : r.spec.fault_ids][r.status];
  }
  std::cout << store.path() << ": " << runs.size() << " runs";
  for (const auto& c : store.campaigns()) std::cout << " | campaign " << c;
  std::cout << "\nstatus: ";
  for (const auto& [k, v] : by_status) std::cout << k << '=' << v << ' ';
  std::cout << "\noutcome: ";
  for (const auto& [k, v] : by_outcome) std::cout << k << '=' << v << ' ';
  const auto table = [](const std::string& title,
                        const std::map<std::string, std::map<std::string, int64_t>>& m) {
    std::printf("\n%-34s %9s %9s %9s %9s\n", title.c_str(), "SCHEDULED", "RUNNING", "FINISHED",
                "FAILED");
    for (const auto& [k, s] : m) {
      const auto get = [&](const char* st) {
        auto it = s.find(st);
        return it == s.end() ? int64_t{0} : it->second;
      };
      std::printf("%-34s %9lld %9lld %9lld %9lld\n", k.c_str(), (long long)get("SCHEDULED"),
                  (long long)get("RUNNING"), (long long)get("FINISHED"),
                  (long long)(get("FAILED") + get("KILLED")));
    }
  };
  table("program", by_program);
  table("operator", by_fault);
  // Killing-test verdicts exist once `dynfault labels` has run.
  const auto eff = features::effectiveness_by_operator(store, campaign);
  if (!eff.empty()) {
    std::printf("\n%-34s %9s %9s %9s\n", "operator (killing test)", "mutants", "effective",
                "rate");
    for (const auto& e : eff)
      std::printf("%-34s %9lld %9lld %9.2f\n", e.mutator.c_str(), (long long)e.mutants,
                  (long long)e.effective, e.rate);
  }
  return 0;
}

// --- labels, features, evaluate ----------------------------------------------------------------

db::Store open_existing(const std::string& path) {
  if (!fs::exists(path)) throw Error("no database '" + path + "'");
  return db::Store::open(path, false);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

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

int cmd_labels(const std::vector<std::string>& args) {
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

int cmd_features(const std::vector<std::string>& args) {
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

/// The evaluation flags shared by `evaluate` and `demo`, defaulting to EvaluateOptions' defaults.
struct EvalFlags {
  std::string tasks, sets, diagnosers;
  int folds = 5, heldout_folds = 0, threads = 2;
  int64_t bootstrap = 1000;
  uint64_t seed = 0;

  EvalFlags() {
    const diagnosis::EvaluateOptions o;
    const auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
      return out;
    };
    tasks = join(o.tasks());
    sets = join(o.feature_sets());
    diagnosers = join(o.diagnosers());
    folds = o.within_folds();
    heldout_folds = o.heldout_folds();
    bootstrap = o.bootstrap();
    seed = o.seed();
  }

  po::options_description describe() {
    po::options_description d("Evaluation options");
    d.add_options()("tasks", po::value(&tasks)->default_value(tasks), "comma-separated label tasks")(
        "sets", po::value(&sets)->default_value(sets),
        "comma-separated feature sets (a+b = union)")(
        "diagnosers", po::value(&diagnosers)->default_value(diagnosers),
        "comma-separated diagnosers")(
        "folds", po::value(&folds)->default_value(folds),
        "k of the within-program stratified k-fold")(
        "heldout-folds", po::value(&heldout_folds)->default_value(heldout_folds),
        "0 = leave-one-program-out, else group k-fold by program")(
        "bootstrap", po::value(&bootstrap)->default_value(bootstrap),
        "clustered (by program) bootstrap resamples; 0 = no intervals")(
        "seed", po::value(&seed)->default_value(seed), "seed for splits and resampling")(
        "threads", po::value(&threads)->default_value(threads), "OpenMP threads");
    return d;
  }

  diagnosis::EvaluateOptions options(const std::string& campaign) const {
    return diagnosis::EvaluateOptions()
        .campaign(campaign)
        .tasks(split_list(tasks))
        .feature_sets(split_list(sets))
        .diagnosers(split_list(diagnosers))
        .within_folds(folds)
        .heldout_folds(heldout_folds)
        .bootstrap(bootstrap)
        .seed(seed)
        .threads(threads);
  }
};

int cmd_evaluate(const std::vector<std::string>& args) {
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

int cmd_report(const std::vector<std::string>& args) {
  std::string dbp, out = "report.html", evaluation_id, campaign;
  auto d = db_option(dbp);
  d.add_options()("out,o", po::value(&out)->default_value(out), "HTML file to write")(
      "evaluation", po::value(&evaluation_id), "evaluation id (default: the latest)")(
      "campaign", po::value(&campaign), "only this campaign (header counts, curves)");
  parse("report", args, d, "report [--db PATH] [--out FILE]");
  db::Store store = open_existing(dbp);
  const std::string html = diagnosis::render_report_html(
      store, diagnosis::ReportOptions().evaluation_id(evaluation_id).campaign(campaign));
  // Written beside the target and renamed, so a failure never leaves half a report.
  const std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw Error("cannot write '" + tmp + "'");
    f << html;
    if (!f.flush()) throw Error("cannot write '" + tmp + "'");
  }
  fs::rename(tmp, out);
  std::cout << "wrote " << out << " (" << html.size() << " bytes)\n";
  return 0;
}

// --- demo --------------------------------------------------------------------------------------

int cmd_demo(const std::vector<std::string>& args) {
  RunOptions o;
  o.config = config_dir() + "/quick.yaml";
  o.jobs = 2;
  EvalFlags flags;
  auto d = run_flags(o);
  d.add(flags.describe());
  parse("demo", args, d, "demo [--db PATH] [--config FILE] [--jobs N]");
  const std::string campaign = runner::load_campaign(o.config).name;
  const auto eo = flags.options(campaign);
  const int threads = flags.threads;
  std::cout << "== dynfault demo: " << o.config << " -> " << o.db << " ==\n";
  std::cout << "\n-- plan and run --\n";
  run_campaign(o);
  db::Store store = open_existing(o.db);
  std::cout << "\n-- labels --\n";
  print_labels(features::derive_labels(store, default_label_options().campaign(campaign)));
  std::cout << "\n-- features --\n";
  std::vector<std::string> needed;
  for (const auto& spec : eo.feature_sets())
    for (const auto& part : features::split_feature_set_spec(spec))
      if (std::find(needed.begin(), needed.end(), part) == needed.end()) needed.push_back(part);
  print_extract(features::extract_features(
      store, features::ExtractOptions().campaign(campaign).feature_sets(needed).threads(threads)));
  std::cout << "\n-- evaluation: within-program vs program held-out --\n";
  std::cout << diagnosis::format_table(diagnosis::evaluate(store, eo));
  std::cout << "\n-- report --\n";
  const std::string report = fs::path(o.db).replace_extension(".html").string();
  const std::string html =
      diagnosis::render_report_html(store, diagnosis::ReportOptions().campaign(campaign));
  std::ofstream(report, std::ios::binary) << html;
  std::cout << "wrote " << report << " (" << html.size() << " bytes; open it in a browser)\n";
  return 0;
}

// --- dispatch ----------------------------------------------------------------------------------

const char* kUsage =
    "usage: dynfault <command> [options]   (dynfault <command> --help for details)\n"
    "\n"
    "commands:\n"
    "  list programs|mutators   show the registered programs or fault operators\n"
    "  plan FILE                plan a campaign into the database (idempotent)\n"
    "  run [FILE]               execute scheduled runs with --jobs worker processes\n"
    "  status                   counts by status, outcome, program and operator\n"
    "  labels                   derive labels (fault type, detection, instability, mismatch)\n"
    "  features                 extract feature sets from the stored traces\n"
    "  evaluate                 within-program vs program held-out evaluation\n"
    "  report                   write the evaluation as one self-contained HTML file\n"
    "  demo                     the whole pipeline on configs/quick.yaml\n"
    "\n"
    "every command takes --db PATH (default dynfault.db)\n";

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "--version") {
    std::cout << "dynfault " << kVersion << '\n';
    return 0;
  }
  static const std::map<std::string, std::function<int(const std::vector<std::string>&)>> kCommands =
      {{"list", cmd_list},         {"plan", cmd_plan},         {"run", cmd_run},
       {"worker", cmd_worker},     {"status", cmd_status},     {"labels", cmd_labels},
       {"features", cmd_features}, {"report", cmd_report}, {"evaluate", cmd_evaluate}, {"demo", cmd_demo}};
  auto it = kCommands.find(cmd);
  if (it == kCommands.end()) throw UsageError("unknown command '" + cmd + "'\n" + kUsage);
  return it->second(args);
}

}  // namespace
}  // namespace dynfault::cli

int main(int argc, char** argv) {
  try {
    return dynfault::cli::dispatch(argc, argv);
  } catch (const dynfault::cli::UsageError& e) {
    std::cerr << "dynfault: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dynfault: " << e.what() << '\n';
    return 1;
  }
}
