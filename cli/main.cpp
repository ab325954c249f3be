// The dynfault command line: the only place that parses flags. Each subcommand parses its flags
// into a plain options struct and calls the libraries; libraries never see Boost.
#include <unistd.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/memory.h"
#include "common/version.h"
#include "db/export.h"
#include "db/merge.h"
#include "db/store.h"
#include "db/trace_diff.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/report.h"
#include "diagnosis/saved_model.h"
#include "features/feature_set.h"
#include "features/labels.h"
#include "features/trace_csv.h"
#include "features/trace_util.h"
#include "mutators/mutator.h"
#include "programs/registry.h"
#include "runner/campaign.h"
#include "runner/check.h"
#include "runner/executor.h"
#include "runner/trainer.h"

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
  auto p = parse("list", args, d,
                 "list programs|mutators|features|diagnosers [--format text|json|markdown]", 1);
  if (p.positional.empty())
    throw UsageError("list: say what to list: programs, mutators, features or diagnosers");
  if (format != "text" && format != "json" && format != "markdown")
    throw UsageError("list: --format must be text, json or markdown, got '" + format + "'");
  const std::string what = p.positional[0];
  if (what == "features" || what == "diagnosers") {
    if (format == "markdown") throw UsageError("list " + what + ": --format is text or json");
    Json out = Json::array();
    if (what == "features") {
      for (const auto& name : features::feature_set_names()) {
        const auto set = features::feature_set(name);
        out.push_back({{"name", name},
                       {"description", set.description()},
                       {"columns", set.names().size()}});
      }
    } else {
      for (const auto& name : diagnosis::diagnoser_names()) {
        // Baselines bind their own feature set (e.g. deepfd, default_rf); the others take any.
        const std::string bound = diagnosis::make_diagnoser(name)->feature_set();
        out.push_back({{"name", name}, {"feature_set", bound.empty() ? "any" : bound}});
      }
    }
    if (format == "json") {
      std::cout << out.dump(2) << '\n';
    } else if (what == "features") {
      std::printf("%-12s %7s  %s\n", "feature set", "columns", "description");
      for (const auto& j : out)
        std::printf("%-12s %7zu  %s\n", j["name"].get<std::string>().c_str(),
                    j["columns"].get<size_t>(), j["description"].get<std::string>().c_str());
    } else {
      std::printf("%-20s %s\n", "diagnoser", "feature set");
      for (const auto& j : out)
        std::printf("%-20s %s\n", j["name"].get<std::string>().c_str(),
                    j["feature_set"].get<std::string>().c_str());
    }
    return 0;
  }
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
  throw UsageError("list: unknown list '" + what + "' (programs, mutators, features or diagnosers)");
}

// --- plan --------------------------------------------------------------------------------------

struct PlanOptions {
  std::string db;
  std::string config;
  bool dry_run = false;
  int64_t shard_index = 0;  ///< plan only the runs with shard_of(run) == shard_index ...
  int64_t shard_count = 1;  ///< ... of shard_count (a shard database of a job array)
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
  if (o.shard_count > 1) {
    const auto planned = plan.runs.size();
    plan.runs.erase(std::remove_if(plan.runs.begin(), plan.runs.end(),
                                   [&](const db::RunSpec& r) {
                                     return runner::shard_of(r.run_uuid, o.shard_count) !=
                                            o.shard_index;
                                   }),
                    plan.runs.end());
    if (!quiet)
      std::cout << "shard " << o.shard_index << "/" << o.shard_count << ": " << plan.runs.size()
                << " of the " << planned << " runs\n";
  }
  if (o.dry_run) return plan;
  db::Store store = db::Store::open(o.db);
  store.upsert_campaign(c.name, c.text, c.hash);  // first: refuses another campaign's database
  for (const auto& [k, v] : runner::environment_info()) store.set_info(k, v);
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

/// "42s", "3m05s", "2h07m": short enough for a progress line.
std::string format_duration(double seconds) {
  const int64_t t = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (t < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(t));
  } else if (t < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60));
  }
  return buf;
}

/// Live progress on standard error: a redrawn bar on a terminal; otherwise (a log file, a Slurm
/// job) a plain line every `every_s` seconds and a last one at the end.
std::function<void(const runner::Progress&)> progress_printer(bool tty, double every_s) {
  auto last = std::make_shared<double>(-1e9);
  return [tty, every_s, last](const runner::Progress& p) {
    const int64_t done = p.finished + p.failed;
    const bool end = done == p.total && p.running == 0;
    const double rate = p.elapsed_s > 0 ? done / p.elapsed_s * 60.0 : 0;
    std::ostringstream s;
    s << done << "/" << p.total << " done (" << p.finished << " finished, " << p.failed
      << " failed, " << p.running << " running), " << std::fixed << std::setprecision(1) << rate
      << " runs/min, ";
    if (end) {
      s << "took " << format_duration(p.elapsed_s);
    } else {
      s << "ETA " << (rate > 0 ? format_duration((p.total - done) / rate * 60.0) : "?");
    }
    if (tty) {
      const int width = 30;
      const int fill = p.total > 0 ? static_cast<int>(width * done / p.total) : width;
      std::cerr << "\r[" << std::string(fill, '#') << std::string(width - fill, '.') << "] "
                << s.str() << "\033[K" << (end ? "\n" : "") << std::flush;
    } else if (p.elapsed_s - *last >= every_s || end) {
      std::cerr << "dynfault run: " << s.str() << std::endl;
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
  int64_t max_attempts = 3;
  bool wait = false;
  double grace_s = 15;
  double progress_every_s = 10;
};

runner::ExecuteSummary run_campaign(const RunOptions& o) {
  std::string campaign = o.campaign;
  runner::ExecuteOptions eo;
  if (!o.shard.empty()) parse_shard(o.shard, eo.shard_index, eo.shard_count);
  if (!o.config.empty()) {
    if (fs::exists(o.db)) {
      // Planning writes: a damaged file is refused before, not after (execute checks too).
      db::Store existing = db::Store::open(o.db, false);
      const std::string integrity = existing.check_integrity();
      if (integrity != "ok")
        throw Error(o.db + ": failed its integrity check (" + integrity.substr(0, 300) +
                    "); refusing to plan or run on it");
    }
    // With --shard, a shard database receives only its own runs (dynfault merge joins them).
    PlanOptions po_{o.db, o.config, false, eo.shard_index, eo.shard_count};
    plan_into(po_, o.quiet);
    campaign = runner::load_campaign(o.config).name;
  }
  if (!fs::exists(o.db))
    throw Error("no database '" + o.db + "': plan a campaign first (dynfault plan --config FILE)");
  eo.db_path = o.db;
  eo.campaign = campaign;
  eo.jobs = o.jobs;
  eo.worker_binary = self_binary();
  eo.limit = o.limit;
  eo.max_steps = o.max_steps;
  eo.probes = !o.no_probes;
  eo.max_attempts = o.max_attempts;
  eo.wait_for_lock = o.wait;
  eo.grace_s = o.grace_s;
  if (!o.quiet) {
    const bool tty = ::isatty(2);
    eo.on_progress = progress_printer(tty, o.progress_every_s);
    // On a terminal the bar owns the current line: a message starts a line of its own.
    eo.log = [tty](const std::string& s) {
      std::cerr << (tty ? "\n" : "") << "dynfault run: " << s << std::endl;
    };
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
      "shard", po::value(&o.shard),
      "run only shard i/N of the plan (a partition by run id); with --config, plan only it")(
      "limit", po::value(&o.limit)->default_value(o.limit), "execute at most N runs")(
      "max-steps", po::value(&o.max_steps)->default_value(o.max_steps),
      "stop each training after N steps (smoke tests)")(
      "no-probes", po::bool_switch(&o.no_probes), "record loss curves only")(
      "max-attempts", po::value(&o.max_attempts)->default_value(o.max_attempts),
      "retry a FAILED run until it was started N times (0 = always)")(
      "wait", po::bool_switch(&o.wait), "wait for another run on this database instead of failing")(
      "grace", po::value(&o.grace_s)->default_value(o.grace_s),
      "seconds past a run's timeout_s before its worker is killed")(
      "progress-every", po::value(&o.progress_every_s)->default_value(o.progress_every_s),
      "seconds between progress lines when standard error is not a terminal");
  return d;
}

int cmd_run(const std::vector<std::string>& args) {
  RunOptions o;
  auto p = parse("run", args, run_flags(o), "run [--config FILE] [--db PATH] [--jobs N] [--shard i/N]", 1);
  if (!p.positional.empty()) o.config = p.positional[0];
  if (o.jobs < 1 || o.jobs > 256) throw UsageError("run: --jobs must be in [1, 256]");
  if (o.max_attempts < 0) throw UsageError("run: --max-attempts must be >= 0");
  if (!(o.grace_s >= 0) || !(o.progress_every_s >= 0))
    throw UsageError("run: --grace and --progress-every must be >= 0");
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

// --- merge -------------------------------------------------------------------------------------

/// `dynfault merge --into A.db B.db ...`: joins shard databases (of a Slurm job array) into one.
int cmd_merge(const std::vector<std::string>& args) {
  std::string into;
  po::options_description d("Options");
  d.add_options()("into", po::value(&into), "target database (created when missing)");
  auto p = parse("merge", args, d, "merge --into TARGET.db SOURCE.db [SOURCE.db ...]", 1 << 20);
  if (into.empty()) throw UsageError("merge: no target database given (--into FILE)");
  if (p.positional.empty()) throw UsageError("merge: no source databases given");
  runner::CoordinatorLock lock(into);  // no coordinator or other merge writes the target meanwhile
  const bool created = !fs::exists(into);
  try {
    db::Store target = db::Store::open(into);
    const std::string integrity = target.check_integrity();
    if (integrity != "ok")
      throw Error(into + ": failed its integrity check (" + integrity.substr(0, 300) +
                  "); refusing to merge into it");
    const auto report = db::merge_databases(target, p.positional);
    for (const auto& r : report.sources)
      std::cout << r.path << ": " << r.runs_new << " new runs, " << r.runs_replaced
                << " replaced (further in the source), " << r.runs_kept << " already present; "
                << r.metric_points << " metric points, " << r.labels << " labels\n";
    std::cout << into << ":";
    for (const auto& [status, n] : target.status_counts("")) std::cout << ' ' << status << '=' << n;
    std::cout << '\n';
  } catch (...) {
    // A refused merge leaves no empty target behind.
    if (created)
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(into + suffix);
    throw;
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

/// Writes the report beside its target and renames it, so a failure never leaves half a report.
void write_report(const std::string& out, const std::string& html) {
  const std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw Error("cannot write '" + tmp + "'");
    f << html;
    if (!f.flush()) throw Error("cannot write '" + tmp + "'");
  }
  fs::rename(tmp, out);
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
  write_report(out, html);
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
  write_report(report, html);
  std::cout << "wrote " << report << " (" << html.size() << " bytes; open it in a browser)\n";
  return 0;
}

// --- check -------------------------------------------------------------------------------------

/// `dynfault check programs`: trains each selected clean program and compares its test metric
/// with its satisfactory value; --markdown writes the catalogue page. Exit 1 when any misses.
int cmd_check(const std::vector<std::string>& args) {
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
int cmd_export(const std::vector<std::string>& args) {
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

/// Training in this process must see what a worker sees (runner/executor.cpp starts workers
/// with one OpenMP, MKL and OpenBLAS thread): those libraries read it when they load, so when
/// it is not already so, set it and start this command again.
void reexec_single_threaded(const std::string& cmd, const std::vector<std::string>& args) {
  bool ready = true;
  for (const char* v : {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) {
    const char* e = std::getenv(v);
    if (e == nullptr || std::string(e) != "1") {
      ready = false;
      ::setenv(v, "1", 1);
    }
  }
  if (ready) return;
  std::vector<std::string> words = {self_binary(), cmd};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::cout.flush();
  ::execv(words[0].c_str(), argv.data());
  throw Error(cmd + ": cannot start '" + words[0] + "' again: " + std::strerror(errno));
}

std::string full_double(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// `dynfault replay RUN_ID`: trains a stored run again, in this process, from its stored Recipe
/// and seed, and compares the new trace with the stored one key by key, step by step. Exit 0
/// when reproduced bitwise, 1 when anything differs. The database is opened read-only; the
/// replayed trace is kept in memory only.
int cmd_replay(const std::vector<std::string>& args) {
  std::string dbp;
  int64_t max_steps = 0;
  bool no_probes = false;
  auto d = db_option(dbp);
  d.add_options()("max-steps", po::value(&max_steps)->default_value(max_steps),
                  "the --max-steps the run was executed with (0 = full training)")(
      "no-probes", po::bool_switch(&no_probes), "the run was executed with --no-probes");
  auto p = parse("replay", args, d, "replay RUN_ID [--db PATH] [--max-steps N] [--no-probes]", 1);
  if (p.positional.empty()) throw UsageError("replay: no run id given (dynfault replay RUN_ID)");
  if (max_steps < 0) throw UsageError("replay: --max-steps must be >= 0");
  const std::string id = p.positional[0];
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  {
    // Checked before re-executing, so that a bad id costs no second start.
    db::Store store = db::Store::open_read_only(dbp);
    const auto row = store.run(id);
    if (!row) throw Error("replay: no run '" + id + "' in " + dbp);
    if (row->status != "FINISHED")
      throw Error("replay: run " + id + " is " + row->status +
                  ": it has no stored trace to compare with");
  }
  reexec_single_threaded("replay", args);

  db::Store store = db::Store::open_read_only(dbp);
  const db::RunRow row = *store.run(id);
  const db::Trace stored = store.trace(id);
  runner::TrainOptions to;
  to.timeout_s = row.spec.timeout_s;
  to.probes = !no_probes;
  to.max_steps = max_steps;
  if (to.probes) {
    const auto text = store.campaign_config(row.spec.campaign);
    if (text)
      to.probe = runner::probe_options_of_campaign(
          *text, dbp + ": campaign '" + row.spec.campaign + "'");
  }
  std::cout << "replaying run " << id << ": " << row.spec.program << ", "
            << (row.spec.fault_ids.empty() ? "clean" : "faults " + row.spec.fault_ids)
            << ", seed " << row.spec.seed << (to.probes ? "" : ", no probes")
            << (max_steps > 0 ? ", max " + std::to_string(max_steps) + " steps" : "") << std::endl;
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
  if (!diff.only_stored.empty() || !diff.only_replayed.empty() || !diff.steps_differ.empty())
    std::cout << "(give replay the --max-steps and --no-probes the run was executed with)\n";
  return 1;
}

// --- train, diagnose, trace-csv (docs/diagnose.md) ---------------------------------------------

/// The classes a label task declares (its taxonomy), stored in a model file for reference.
std::vector<std::string> declared_task_classes(const std::string& task, const std::string& tax) {
  const std::string prefix = "fault_type/";
  if (task.rfind(prefix, 0) == 0) {
    const auto all = features::load_taxonomies(tax);
    return all.get(task.substr(prefix.size())).classes;
  }
  if (task == features::kTaskInstability) return {"diverged", "oscillating", "stable"};
  if (task == features::kTaskMismatch) return {"consistent", "mismatch"};
  if (task == features::kTaskDetection) return {"clean", "faulty"};
  if (task == features::kTaskEffective) return {"effective", "not_effective"};
  return {};
}

/// `dynfault train`: fits one diagnoser on every labelled trace of a task and saves it.
int cmd_train(const std::vector<std::string>& args) {
  std::string dbp, campaign, task = "fault_type/default4", set, diagnoser = "logistic_regression",
                            out, tax = config_dir() + "/taxonomies.yaml";
  bool force = false;
  auto d = db_option(dbp);
  d.add_options()("task", po::value(&task)->default_value(task),
                  "label task (fault_type/<taxonomy>, instability, mismatch, detection)")(
      "features", po::value(&set),
      "feature set spec (a+b = union; default: the diagnoser's own set, if it has one)")(
      "diagnoser", po::value(&diagnoser)->default_value(diagnoser), "diagnoser name")(
      "campaign", po::value(&campaign), "only this campaign's runs")(
      "out,o", po::value(&out), "model file to write")(
      "force", po::bool_switch(&force), "overwrite an existing model file")(
      "taxonomies", po::value(&tax)->default_value(tax),
      "taxonomy file (the class names of fault_type tasks)");
  parse("train", args, d,
        "train --db PATH --task TASK --features SET --diagnoser NAME --out MODEL [--force]\n\n"
        "Fits the diagnoser on ALL labelled traces of the task (stored labels and features) and\n"
        "writes one model file for 'dynfault diagnose' (docs/diagnose.md).");
  if (out.empty()) throw UsageError("train: no model file given (--out MODEL)");
  if (fs::exists(out) && !force)
    throw Error("train: '" + out + "' exists; give --force to overwrite it");
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open_read_only(dbp);
  const auto model = diagnosis::train_model(
      store, diagnosis::TrainModelOptions()
                 .campaign(campaign)
                 .task(task)
                 .feature_set(set)
                 .diagnoser(diagnoser)
                 .task_classes(declared_task_classes(task, tax)));
  diagnosis::save_model_file(model, out, force);
  std::cout << "trained " << model.diagnoser->name() << " on " << model.feature_set << " ("
            << model.feature_names.size() << " features) for " << model.task << ": "
            << model.n_traces << " traces,";
  for (const auto& [c, n] : model.class_counts) std::cout << ' ' << c << '=' << n;
  std::cout << "\nwrote " << out << '\n';
  return 0;
}

std::string shown_number(double v, int precision = 4) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

/// `dynfault diagnose`: one or more saved models applied to a stored run or a per-epoch CSV.
int cmd_diagnose(const std::vector<std::string>& args) {
  std::vector<std::string> models;
  std::string dbp, run, trace_file, format = "text", outcome, family;
  int top = 5;
  int64_t planned = -1;
  auto d = db_option(dbp);
  d.add_options()("model,m", po::value(&models)->composing(),
                  "model file from 'dynfault train' (repeat for several tasks)")(
      "run", po::value(&run), "a FINISHED run of --db")(
      "trace", po::value(&trace_file),
      "a per-epoch CSV of a run recorded elsewhere; header\n"
      "  epoch,train_loss,train_metric,val_loss,val_metric\n"
      "then optionally lr and metric keys of db/trace.h\n"
      "(grad/global_norm, weight/<param>/norm, act/..., ...);\n"
      "one row per epoch (0-based), empty cell = no value,\n"
      "nan/inf allowed; optional '# outcome: X' and\n"
      "'# planned_epochs: N' lines before the header\n"
      "(docs/diagnose.md)")(
      "outcome", po::value(&outcome),
      "with --trace: how training ended (completed, nan_loss, diverged, exception, timeout, "
      "crashed); default: the file's '# outcome:' line, else completed")(
      "planned-epochs", po::value(&planned),
      "with --trace: the planned number of epochs (default: the file's '# planned_epochs:' "
      "line, else the rows)")(
      "top", po::value(&top)->default_value(top), "features listed per model")(
      "format", po::value(&format)->default_value(format), "text or json");
  parse("diagnose", args, d,
        "diagnose --model MODEL [--model MODEL2 ...] (--db PATH --run RUN_ID | --trace FILE.csv)"
        " [--format text|json]");
  if (models.empty()) throw UsageError("diagnose: no model given (--model MODEL)");
  if (run.empty() == trace_file.empty())
    throw UsageError("diagnose: give exactly one of --run RUN_ID and --trace FILE");
  if (format != "text" && format != "json")
    throw UsageError("diagnose: --format must be text or json, got '" + format + "'");
  if (top < 0) throw UsageError("diagnose: --top must be >= 0");
  static const std::vector<std::string> kOutcomes = {"completed", "nan_loss", "diverged",
                                                     "exception", "timeout",  "crashed"};
  if (!outcome.empty() && std::find(kOutcomes.begin(), kOutcomes.end(), outcome) == kOutcomes.end())
    throw UsageError("diagnose: --outcome must be one of completed, nan_loss, diverged, "
                     "exception, timeout, crashed; got '" + outcome + "'");
  if (!run.empty() && (!outcome.empty() || planned >= 0))
    throw UsageError("diagnose: --outcome and --planned-epochs go with --trace only");

  std::vector<diagnosis::SavedModel> loaded;
  for (const auto& m : models) loaded.push_back(diagnosis::load_model_file(m));

  db::Trace trace;
  Json input;
  if (!run.empty()) {
    if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
    db::Store store = db::Store::open_read_only(dbp);
    const auto row = store.run(run);
    if (!row) throw Error("diagnose: no run '" + run + "' in " + dbp);
    if (row->status != "FINISHED")
      throw Error("diagnose: run " + run + " is " + row->status + ": it has no stored trace");
    trace = store.trace(run);
    input = {{"db", dbp},
             {"run", run},
             {"program", row->spec.program},
             {"faults", row->spec.fault_ids},
             {"outcome", row->outcome}};
  } else {
    trace = features::read_trace_csv(trace_file);
    if (!outcome.empty()) trace.outcome = outcome;
    if (planned >= 0)
      trace.recipe_json = planned > 0 ? "{\"epochs\":" + std::to_string(planned) + "}" : "";
    if (std::find(kOutcomes.begin(), kOutcomes.end(), trace.outcome) == kOutcomes.end())
      throw Error(trace_file + ": '# outcome: " + trace.outcome +
                  "' is not one of completed, nan_loss, diverged, exception, timeout, crashed");
    input = {{"trace", trace_file},
             {"epochs", features::epoch_steps(trace).size()},
             {"outcome", trace.outcome}};
  }

  Json results = Json::array();
  std::ostringstream text;
  if (!run.empty())
    text << "run " << run << " of " << dbp << " (" << input["program"].get<std::string>() << ", "
         << (input["faults"].get<std::string>().empty() ? std::string("clean")
                                                         : "faults " + input["faults"].get<std::string>())
         << ", outcome " << input["outcome"].get<std::string>() << ")\n";
  else
    text << "trace " << trace_file << " (" << input["epochs"].get<size_t>() << " epochs, outcome "
         << trace.outcome << ")\n";
  for (size_t i = 0; i < loaded.size(); ++i) {
    const auto& m = loaded[i];
    const auto dx = diagnosis::diagnose_trace(m, trace, top);
    Json proba = Json::array();
    for (const auto& [c, p] : dx.proba) proba.push_back({{"class", c}, {"p", p}});
    Json feats = Json::array();
    for (const auto& f : dx.top)
      feats.push_back({{"feature", f.feature},
                       {"value", std::isfinite(f.value) ? Json(f.value) : Json(nullptr)},
                       {"z", f.z},
                       {"contribution", f.contribution}});
    results.push_back({{"model", models[i]},
                       {"task", m.task},
                       {"task_classes", m.task_classes},
                       {"diagnoser", m.diagnoser->name()},
                       {"feature_set", m.feature_set},
                       {"n_features", m.feature_names.size()},
                       {"trained_on", m.n_traces},
                       {"predicted", dx.predicted},
                       {"probabilities", proba},
                       {"explanation",
                        {{"method", dx.method},
                         {"description", diagnosis::describe_method(dx.method)},
                         {"features", feats}}},
                       {"missing_features", dx.n_missing}});
    text << "\n== " << m.task << " (" << m.diagnoser->name() << " on " << m.feature_set << ", "
         << m.feature_names.size() << " features; " << models[i] << ", trained on "
         << m.n_traces << " traces) ==\n"
         << "predicted: " << dx.predicted << '\n';
    for (const auto& [c, p] : dx.proba)
      text << "  " << std::left << std::setw(24) << c << std::right << std::fixed
           << std::setprecision(4) << p << '\n';
    text.unsetf(std::ios::floatfield);
    if (dx.top.empty() && top > 0)
      text << "top features: none (" << dx.method
           << ": no single feature changes the predicted class's score)\n";
    if (!dx.top.empty()) {
      text << "top features (" << diagnosis::describe_method(dx.method) << "):\n";
      text << "  " << std::left << std::setw(40) << "feature" << std::right << std::setw(12)
           << "value" << std::setw(10) << "z" << std::setw(14) << "contribution" << '\n';
      for (const auto& f : dx.top)
        text << "  " << std::left << std::setw(40) << f.feature << std::right << std::setw(12)
             << shown_number(f.value) << std::setw(10) << shown_number(f.z, 3) << std::setw(14)
             << shown_number(f.contribution) << '\n';
    }
    if (dx.n_missing > 0)
      text << "  (" << dx.n_missing << " of " << m.feature_names.size()
           << " features missing in this trace; the model imputes them)\n";
  }
  if (format == "json") {
    Json all = Json::object();
    all["input"] = input;
    all["diagnoses"] = results;
    std::cout << all.dump(2) << '\n';
  } else
    std::cout << text.str();
  return 0;
}

/// `dynfault trace-csv RUN_ID`: a stored run as the per-epoch CSV 'diagnose --trace' reads.
int cmd_trace_csv(const std::vector<std::string>& args) {
  std::string dbp, out;
  bool force = false;
  auto d = db_option(dbp);
  d.add_options()("out,o", po::value(&out), "CSV file to write (default: standard output)")(
      "force", po::bool_switch(&force), "overwrite an existing file");
  auto p = parse("trace-csv", args, d, "trace-csv RUN_ID [--db PATH] [--out FILE] [--force]", 1);
  if (p.positional.empty()) throw UsageError("trace-csv: no run id given (dynfault trace-csv RUN_ID)");
  const std::string id = p.positional[0];
  if (!out.empty() && fs::exists(out) && !force)
    throw Error("trace-csv: '" + out + "' exists; give --force to overwrite it");
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open_read_only(dbp);
  const auto row = store.run(id);
  if (!row) throw Error("trace-csv: no run '" + id + "' in " + dbp);
  if (row->status != "FINISHED")
    throw Error("trace-csv: run " + id + " is " + row->status + ": it has no stored trace");
  std::vector<std::string> left_out;
  const std::string csv = features::write_trace_csv(store.trace(id), &left_out);
  if (out.empty()) {
    std::cout << csv;
  } else {
    const std::string tmp = out + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      if (!f) throw Error("cannot write '" + tmp + "'");
      f << csv;
      if (!f.flush()) throw Error("cannot write '" + tmp + "'");
    }
    fs::rename(tmp, out);
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

// --- dispatch ----------------------------------------------------------------------------------

const char* kUsage =
    "usage: dynfault <command> [options]   (dynfault <command> --help for details)\n"
    "\n"
    "commands:\n"
    "  list programs|mutators   show the registered programs or fault operators\n"
    "  plan FILE                plan a campaign into the database (idempotent)\n"
    "  run [FILE]               execute scheduled runs with --jobs worker processes\n"
    "  status                   counts by status, outcome, program and operator\n"
    "  merge --into A.db B.db.. merge shard databases (idempotent; same campaign only)\n"
    "  labels                   derive labels (fault type, detection, instability, mismatch)\n"
    "  features                 extract feature sets from the stored traces\n"
    "  evaluate                 within-program vs program held-out evaluation\n"
    "  report                   write the evaluation as one self-contained HTML file\n"
    "  demo                     the whole pipeline on configs/quick.yaml\n"
    "  export --out DIR         write the database as CSV files or an MLflow mlruns tree\n"
    "  replay RUN_ID            train a stored run again and compare the traces\n"
    "  train --out MODEL        fit one diagnoser on all labelled traces and save it\n"
    "  diagnose --model MODEL   diagnose a stored run (--run) or a per-epoch CSV (--trace)\n"
    "  trace-csv RUN_ID         write a stored run as the per-epoch CSV diagnose reads\n"
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
       {"merge", cmd_merge},       {"report", cmd_report},
       {"check", cmd_check},
       {"features", cmd_features}, {"evaluate", cmd_evaluate}, {"demo", cmd_demo},
       {"export", cmd_export},     {"replay", cmd_replay},
       {"train", cmd_train},       {"diagnose", cmd_diagnose}, {"trace-csv", cmd_trace_csv}};
  auto it = kCommands.find(cmd);
  if (it == kCommands.end()) throw UsageError("unknown command '" + cmd + "'\n" + kUsage);
  return it->second(args);
}

}  // namespace
}  // namespace dynfault::cli

int main(int argc, char** argv) {
  dynfault::keep_freed_heap_memory();
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
