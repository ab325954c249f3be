// The campaign commands: plan, run (and the worker it starts), status, merge, demo.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/cli.h"
#include "common/output_file.h"
#include "common/text.h"
#include "db/execution.h"
#include "db/merge.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/report.h"
#include "runner/campaign.h"
#include "runner/numeric_libraries.h"
#include "runner/worker.h"

namespace fs = std::filesystem;

namespace dynfault::cli {
namespace {

// --- plan --------------------------------------------------------------------------------------

struct PlanOptions {
  std::string db;
  std::string config;
  bool dry_run = false;
  int64_t shard_index = 0;  ///< plan only the runs with shard_of(run) == shard_index ...
  int64_t shard_count = 1;  ///< ... of shard_count (a shard database of a job array)
  bool allow_numeric_change = false;
  /// Refuse a numeric environment this CPU cannot run (`run`); `plan` warns only, as another
  /// machine may run the plan.
  bool require_cpu = false;
};

struct Planned {
  runner::Campaign campaign;
  runner::Plan plan;
  runner::StoredPlan stored;
};

/// Keeps the runs of one shard of a plan.
void keep_shard(runner::Plan& plan, int64_t index, int64_t count) {
  plan.runs.erase(std::remove_if(plan.runs.begin(), plan.runs.end(),
                                 [&](const db::RunSpec& r) {
                                   return runner::shard_of(r.run_uuid, count) != index;
                                 }),
                  plan.runs.end());
}

/// What storing a plan found, for `plan` and `run`.
void print_stored(const std::string& db, const runner::StoredPlan& s, int64_t planned) {
  std::cout << "planned into " << db << ": " << s.added << " new, " << s.present
            << " already present";
  if (s.present_under_old_id > 0)
    std::cout << " (" << s.present_under_old_id << " of them under the ids an older build gave "
              << "them)";
  std::cout << '\n';
  if (!s.stale.empty())
    std::cout << s.stale.size() << " of the " << planned << " planned runs are stale: the "
              << "database holds what an older build computed for them (an edited program or "
              << "operator); 'dynfault run --rerun-stale' replaces and re-executes them "
              << "('plan --verbose' lists them)\n";
  if (s.unplanned > 0)
    std::cout << s.unplanned << " run(s) of the campaign in the database are no longer planned "
              << "by this build (left as they are)\n";
  if (s.numeric_change)
    std::cout << "the remaining runs execute in " << s.numeric_change->describe()
              << " (--allow-numeric-change); the campaign keeps its recorded environment\n";
}

/// Plans `config` into the database; everything is validated before the database is touched.
Planned plan_into(const PlanOptions& o, bool quiet) {
  Planned out{runner::load_campaign(o.config), {}, {}};
  const runner::Campaign& c = out.campaign;
  try {
    runner::require_cpu_supports(c.numeric, runner::CpuInfo::current());
  } catch (const Error& e) {
    if (o.require_cpu) throw;
    if (!quiet) std::cout << "warning: this machine cannot run it: " << e.what() << '\n';
  }
  out.plan = runner::plan_campaign(c);
  runner::Plan& plan = out.plan;
  if (!quiet) {
    std::map<std::string, int64_t> per_program;
    for (const auto& r : plan.runs) ++per_program[r.program];
    std::cout << "campaign '" << c.name << "': " << plan.runs.size() << " runs over "
              << per_program.size() << " programs";
    if (!plan.skipped.empty())
      std::cout << " (" << plan.skipped.size() << " inapplicable combinations skipped)";
    std::cout << "\nnumeric environment: " << c.numeric.describe() << '\n';
  }
  if (o.shard_count > 1) {
    const auto planned = plan.runs.size();
    keep_shard(plan, o.shard_index, o.shard_count);
    if (!quiet)
      std::cout << "shard " << o.shard_index << "/" << o.shard_count << ": " << plan.runs.size()
                << " of the " << planned << " runs\n";
  }
  if (o.dry_run) return out;
  db::Store store = db::Store::open(o.db);
  runner::StorePlanOptions spo;
  spo.allow_numeric_change = o.allow_numeric_change;
  spo.libraries = runner::library_versions_json();
  out.stored = runner::store_plan(store, c, plan, spo);
  if (!quiet) print_stored(o.db, out.stored, static_cast<int64_t>(plan.runs.size()));
  return out;
}

}  // namespace

int cmd_plan(const Args& args) {
  PlanOptions o;
  auto d = db_option(o.db);
  bool verbose = false;
  d.add_options()("config", po::value(&o.config),
                  "campaign YAML file, or the name of one in the configs directory (or give it "
                  "as argument)")("dry-run", po::bool_switch(&o.dry_run),
                                  "validate and count, write nothing")(
      "verbose,v", po::bool_switch(&verbose), "list the skipped combinations and stale runs");
  auto p = parse("plan", args, d, "plan [--config] FILE [--db PATH] [--dry-run]", 1);
  if (!p.positional.empty()) o.config = p.positional[0];
  if (o.config.empty()) throw UsageError("plan: no campaign file given (--config FILE)");
  o.config = campaign_path(o.config);
  const auto planned = plan_into(o, false);
  if (verbose) {
    for (const auto& s : planned.plan.skipped) std::cout << "  skipped: " << s << '\n';
    for (const auto& s : planned.stored.stale)
      std::cout << "  stale: " << s.stored.spec.run_uuid << " (" << s.stored.spec.program << " "
                << (s.stored.spec.fault_ids.empty() ? "clean" : s.stored.spec.fault_ids)
                << ", repetition " << s.stored.spec.repetition << ", " << s.stored.status
                << "): " << s.why << "; this build plans " << s.planned.run_uuid << '\n';
  }
  return 0;
}

// --- run ---------------------------------------------------------------------------------------

namespace {

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

/// The stale runs of `campaign` ("" = every campaign of the database), planned again from the
/// campaign text the database stores; restricted to one shard of the plan.
std::vector<runner::StaleRun> stale_runs(const std::string& db_path, const std::string& campaign,
                                         int64_t shard_index, int64_t shard_count) {
  db::Store store = db::Store::open(db_path, false);
  std::vector<runner::StaleRun> out;
  for (const auto& name : store.campaigns()) {
    if (!campaign.empty() && name != campaign) continue;
    const auto text = store.campaign_config(name);
    if (!text) continue;
    const runner::Campaign c = runner::parse_campaign(*text, db_path + ": campaign '" + name + "'");
    runner::Plan plan = runner::plan_campaign(c);
    if (shard_count > 1) keep_shard(plan, shard_index, shard_count);
    auto stale = runner::compare_plan(store, c, plan).stale;
    out.insert(out.end(), stale.begin(), stale.end());
  }
  return out;
}

}  // namespace

runner::ExecuteOptions RunOptions::execute_options() const {
  runner::ExecuteOptions eo;
  if (!shard.empty()) parse_shard(shard, eo.shard_index, eo.shard_count);
  eo.db_path = db;
  eo.campaign = campaign;
  eo.jobs = jobs;
  eo.worker_binary = self_binary();
  eo.limit = limit;
  eo.max_steps = max_steps;
  eo.probes = !no_probes;
  eo.max_attempts = max_attempts;
  eo.wait_for_lock = wait;
  eo.grace_s = grace_s;
  eo.allow_numeric_change = allow_numeric_change;
  eo.libraries = runner::library_versions_json();
  return eo;
}

runner::ExecuteSummary run_campaign(const RunOptions& o) {
  runner::ExecuteOptions eo = o.execute_options();
  runner::check_options(eo);  // before planning: a bad --limit costs nothing
  std::vector<runner::StaleRun> stale;
  bool planned = false;
  if (!o.config.empty()) {
    // With --shard, a shard database receives only its own runs (dynfault merge joins them).
    // Opening checks the file's integrity before planning writes to it.
    PlanOptions po_{o.db,
                    campaign_path(o.config),
                    false,
                    eo.shard_index,
                    eo.shard_count,
                    o.allow_numeric_change,
                    /*require_cpu=*/true};
    const Planned p = plan_into(po_, o.quiet);
    eo.campaign = p.campaign.name;
    eo.numeric = p.stored.numeric_change;
    stale = p.stored.stale;
    planned = true;
  }
  if (!fs::exists(o.db))
    throw Error("no database '" + o.db + "': plan a campaign first (dynfault plan --config FILE)");
  if (o.rerun_stale) {
    if (!planned) stale = stale_runs(o.db, eo.campaign, eo.shard_index, eo.shard_count);
    eo.replace = runner::replacements(stale);
    if (!o.quiet)
      std::cout << "--rerun-stale: " << stale.size() << " stale run(s) to replace and execute"
                << (stale.empty() ? ""
                                  : " (their labels and features go with them: derive "
                                    "them again afterwards)")
                << '\n';
  }
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
              << std::fixed << std::setprecision(1) << summary.progress.elapsed_s
              << " s: " << summary.progress.finished << " finished, " << summary.progress.failed
              << " failed; outcomes:";
    for (const auto& [k, v] : summary.outcomes) std::cout << ' ' << k << '=' << v;
    std::cout << '\n';
  }
  // A campaign is never reported done while runs of it have no trace: the last line says so.
  const std::string left = runner::unfinished_line(summary, eo);
  if (!left.empty()) std::cout << left << '\n';
  return summary;
}

po::options_description run_flags(RunOptions& o) {
  auto d = db_option(o.db);
  d.add_options()("config", po::value(&o.config)->default_value(o.config),
                  "plan this campaign file first (idempotent)")("campaign", po::value(&o.campaign),
                                                                "only runs of this campaign")(
      "jobs,j", po::value(&o.jobs)->default_value(o.jobs), "worker processes (one thread each)")(
      "shard", po::value(&o.shard),
      "run only shard i/N of the plan (a partition by run id); with --config, plan only it")(
      "limit", po::value(&o.limit)->default_value(o.limit), "execute at most N runs")(
      "max-steps", po::value(&o.max_steps)->default_value(o.max_steps),
      "stop each training after N steps (smoke tests)")("no-probes", po::bool_switch(&o.no_probes),
                                                        "record loss curves only")(
      "max-attempts", po::value(&o.max_attempts)->default_value(o.max_attempts),
      "retry a FAILED run until it failed N times (0 = always); an attempt interrupted from "
      "outside (KILLED) does not count")(
      "wait", po::bool_switch(&o.wait), "wait for another run on this database instead of failing")(
      "grace", po::value(&o.grace_s)->default_value(o.grace_s),
      "seconds past a run's timeout_s before its worker is killed")(
      "progress-every", po::value(&o.progress_every_s)->default_value(o.progress_every_s),
      "seconds between progress lines when standard error is not a terminal")(
      "allow-numeric-change", po::bool_switch(&o.allow_numeric_change),
      "run although the campaign recorded another numeric environment or other LibTorch/"
      "OpenBLAS/oneDNN versions (each run records its own)")(
      "rerun-stale", po::bool_switch(&o.rerun_stale),
      "replace the runs 'plan' reports as stale by this build's and execute them");
  return d;
}

int cmd_run(const Args& args) {
  RunOptions o;
  auto p = parse("run", args, run_flags(o),
                 "run [--config FILE] [--db PATH] [--jobs N] [--shard i/N]", 1);
  if (!p.positional.empty()) o.config = p.positional[0];
  if (!(o.progress_every_s >= 0)) throw UsageError("run: --progress-every must be >= 0");
  run_campaign(o);
  return 0;
}

int cmd_worker(const Args& args) {
  runner::WorkerOptions o;
  bool no_probes = false;
  std::string numeric;
  auto d = db_option(o.db_path);
  d.add_options()("no-probes", po::bool_switch(&no_probes), "")(
      "max-steps", po::value(&o.max_steps)->default_value(o.max_steps), "")(
      "numeric", po::value(&numeric), "the numeric environment (JSON; default: the defaults)");
  parse("worker", args, d, "worker --db PATH --numeric JSON (started by 'dynfault run')");
  o.probes = !no_probes;
  if (!numeric.empty()) o.numeric = runner::NumericEnv::from_json(numeric);
  return runner::worker_main(o);
}

// --- status ------------------------------------------------------------------------------------

namespace {

/// The runs without a trace, each with why, and what retries them.
void print_unfinished(const std::vector<db::RunRow>& runs, const std::string& db,
                      const std::string& campaign) {
  int64_t failed = 0, killed = 0, most_attempts = 0;
  for (const auto& r : runs) {
    if (r.status != "FAILED" && r.status != "KILLED") continue;
    if (failed + killed == 0)
      std::printf("\n%-32s %-16s %-20s %-9s %8s  %s\n", "run without a trace", "program",
                  "operator", "status", "attempts", "why");
    (r.status == "FAILED" ? failed : killed) += 1;
    if (r.status == "FAILED") most_attempts = std::max(most_attempts, r.attempts);
    const std::string why =
        (r.outcome.empty() ? "" : r.outcome + ": ") + r.error.substr(0, r.error.find('\n'));
    std::printf("%-32s %-16s %-20s %-9s %8lld  %s\n", r.spec.run_uuid.c_str(),
                r.spec.program.c_str(),
                (r.spec.fault_ids.empty() ? "(clean)" : r.spec.fault_ids).c_str(), r.status.c_str(),
                static_cast<long long>(r.attempts), text::printable(why.substr(0, 160)).c_str());
  }
  if (failed > 0)
    std::cout << "retry the FAILED runs: " << runner::retry_command(db, campaign, most_attempts)
              << '\n';
  if (killed > 0)
    std::cout << "the KILLED runs were interrupted from outside: 'dynfault run --db " << db
              << "' retries them\n";
}

/// Per campaign: the numeric environment its runs compute in and how far the finished runs kept
/// to it (db/execution.h).
void print_execution(const db::Store& store, const std::string& campaign) {
  for (const auto& e : db::execution_summaries(store, campaign)) {
    std::cout << "\ncampaign " << e.campaign << ": numeric environment "
              << (e.environment.empty() ? "not recorded (planned before dynfault recorded it)"
                                        : e.environment)
              << "\n  libraries at planning: "
              << (e.libraries.empty() ? "not recorded" : e.libraries)
              << "\n  finished runs: " << e.finished << ", " << e.recorded
              << " with an execution record";
    if (e.recorded < e.finished)
      std::cout << " (" << e.finished - e.recorded << " executed before schema 2: unknown)";
    if (e.other_environment > 0)
      std::cout << "; " << e.other_environment << " in another numeric environment";
    if (e.other_libraries > 0) std::cout << "; " << e.other_libraries << " with other libraries";
    for (const auto& [cpu, n] : e.cpus) std::cout << "\n  on " << cpu << ": " << n;
    std::cout << '\n';
  }
}

}  // namespace

int cmd_status(const Args& args) {
  std::string dbp, campaign;
  auto d = db_option(dbp);
  d.add_options()("campaign", po::value(&campaign), "only this campaign");
  parse("status", args, d, "status [--db PATH] [--campaign NAME]");
  if (!fs::exists(dbp)) throw Error("no database '" + dbp + "'");
  db::Store store = db::Store::open(dbp, false);
  store.require_campaign(campaign);
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
    for (const auto& [k, counts] : m) {
      // Captures a reference, not the structured binding (C++20; clang refuses it in C++17).
      const auto get = [&s = counts](const char* st) {
        auto it = s.find(st);
        return it == s.end() ? int64_t{0} : it->second;
      };
      std::printf("%-34s %9lld %9lld %9lld %9lld\n", k.c_str(), (long long)get("SCHEDULED"),
                  (long long)get("RUNNING"), (long long)get("FINISHED"),
                  (long long)(get("FAILED") + get("KILLED")));
    }
  };
  print_execution(store, campaign);
  table("program", by_program);
  table("operator", by_fault);
  // Killing-test verdicts exist once `dynfault labels` has run.
  const auto eff = features::effectiveness_by_operator(store, campaign);
  if (!eff.empty()) {
    std::printf("\n%-34s %9s %9s %9s\n", "operator (killing test)", "mutants", "effective", "rate");
    for (const auto& e : eff)
      std::printf("%-34s %9lld %9lld %9.2f\n", e.mutator.c_str(), (long long)e.mutants,
                  (long long)e.effective, e.rate);
  }
  print_unfinished(runs, dbp, campaign);
  return 0;
}

// --- merge -------------------------------------------------------------------------------------

/// `dynfault merge --into A.db B.db ...`: joins shard databases (of a Slurm job array) into one.
int cmd_merge(const Args& args) {
  std::string into;
  po::options_description d("Options");
  d.add_options()("into", po::value(&into), "target database (created when missing)");
  auto p = parse("merge", args, d,
                 "merge --into TARGET.db SOURCE.db [SOURCE.db ...]\n\n"
                 "Joins the runs (with their metrics and labels) of each source into the target.\n"
                 "The shards of one campaign become that campaign; a source of another campaign\n"
                 "adds it beside the target's (a database may hold several campaigns, as 'plan'\n"
                 "of a second file makes it), and the output names it. A campaign name must mean\n"
                 "the same config everywhere: another config under a known name is refused.",
                 1 << 20);
  if (into.empty()) throw UsageError("merge: no target database given (--into FILE)");
  if (p.positional.empty()) throw UsageError("merge: no source databases given");
  // No coordinator or other merge writes the target meanwhile; a new target is created empty.
  runner::CoordinatorLock lock(into, false, {}, /*create=*/true);
  const bool created = !fs::exists(into);
  try {
    db::Store target = db::Store::open(into);  // checks the file's integrity first
    const auto before = target.campaigns();
    const auto report = db::merge_databases(target, p.positional);
    std::vector<std::string> known = before;
    for (const auto& r : report.sources) {
      std::cout << r.path << ": " << r.runs_new << " new runs, " << r.runs_replaced
                << " replaced (further in the source), " << r.runs_kept << " already present; "
                << r.metric_points << " metric points, " << r.labels << " labels";
      for (const auto& c : r.campaigns_added) {
        std::string beside;
        for (const auto& k : known) beside += (beside.empty() ? "'" : ", '") + k + "'";
        std::cout << (known.empty() ? "; brings campaign '" + c + "'"
                                    : "; adds campaign '" + c + "' beside " + beside);
        known.push_back(c);
      }
      std::cout << '\n';
    }
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

// --- demo --------------------------------------------------------------------------------------

namespace {

// One line per horizon, rung and learner: symptom-free curves with and without curvature, and
// their paired difference with its verdict.
void print_ahead(const diagnosis::EvaluationReport& report) {
  std::cout << std::left << std::setw(26) << "task at horizon" << std::setw(9) << "rung"
            << std::setw(21) << "diagnoser" << std::setw(24) << "curves" << std::setw(24)
            << "curves+curvature"
            << "difference (verdict)\n";
  for (const auto& t : report.tasks) {
    std::map<std::pair<std::string, std::string>, const diagnosis::RungScores*> score;
    for (const auto& r : t.results)
      for (const auto& s : r.rungs) score[{r.diagnoser + "|" + r.feature_set, s.rung}] = &s;
    for (const auto& c : t.paired) {
      const auto* a = score[{c.diagnoser + "|curves", c.rung}];
      const auto* b = score[{c.diagnoser + "|curves+curvature", c.rung}];
      if (!a || !b) continue;
      const auto ci = [](const diagnosis::Interval& v) {
        std::ostringstream s;
        s << std::fixed << std::setprecision(3) << v.value << " [" << v.low << ", " << v.high
          << "]";
        return s.str();
      };
      // Stored as a - b in the order the sets were listed; shown as curvature's gain.
      const bool curvature_first = c.set_a == "curves+curvature";
      diagnosis::Interval gain = c.difference;
      if (!curvature_first) gain = {-gain.value, -gain.high, -gain.low};
      std::cout << std::left << std::setw(26) << t.task << std::setw(9) << c.rung << std::setw(21)
                << c.diagnoser << std::setw(24) << ci(a->balanced_accuracy) << std::setw(24)
                << ci(b->balanced_accuracy) << std::showpos << std::fixed << std::setprecision(3)
                << gain.value << std::noshowpos << " [" << gain.low << ", " << gain.high << "] ("
                << diagnosis::comparison_word(diagnosis::judge(gain, report.options.margin()))
                << ")\n";
    }
    std::cout << "  " << t.task << ": " << t.n_traces << " runs still training without a "
              << "symptom, unstable ahead: "
              << (t.class_counts.count("unstable") ? t.class_counts.at("unstable") : 0) << '\n';
  }
}

}  // namespace

/// The demo's early-diagnosis step: features at H = 0.25 and 0.5, then instability_ahead from
/// symptom-free curves with and without curvature. Returns the evaluation id.
std::string demo_instability_ahead(db::Store& store, const std::string& campaign,
                                   const diagnosis::EvaluateOptions& eo) {
  const auto t0 = std::chrono::steady_clock::now();
  std::cout << "\n-- early diagnosis: instability ahead at H = 0.25 and 0.5 --\n";
  for (const char* h : {"0.25", "0.5"})
    print_extract(
        features::extract_features(store, features::ExtractOptions()
                                              .campaign(campaign)
                                              .feature_sets({"curves", "curvature"})
                                              .horizon(features::Horizon::parse(h))
                                              .thresholds_path(config_dir() + "/thresholds.yaml")
                                              .threads(eo.threads())));
  const auto report = diagnosis::evaluate(
      store, diagnosis::EvaluateOptions(eo)
                 .tasks({features::kTaskInstabilityAhead})
                 .feature_sets({"curves", "curves+curvature"})
                 .diagnosers({"logistic_regression", "random_forest"})
                 .protocols({"random", "program"})
                 .horizons({"0.25", "0.5"})
                 .program_structure(false)
                 .label_rule(false)  // on instability_ahead it says "stable": 0.5, known
                 .evaluation_id(""));
  print_ahead(report);
  std::cout << "(early diagnosis: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s)\n";
  return report.evaluation_id;
}

int cmd_demo(const Args& args) {
  RunOptions o;
  o.config = config_dir() + "/quick.yaml";
  o.jobs = 2;
  // The demo shows the finding: the fault-typing ladder for the linear model, a tree ensemble
  // and the two prior tools' baselines (DeepFD's vote, DEFault's forest), on their two feature
  // sets and the curve shapes.
  EvalFlags flags;
  flags.protocols = "random,config,value,fault,program,dataset";
  flags.diagnosers = "logistic_regression,random_forest,deepfd,default_rf";
  flags.sets = "deepfd,default,curves";
  auto d = run_flags(o);
  d.add(flags.describe());
  bool force = false;
  d.add_options()("force", po::bool_switch(&force), "overwrite an existing report");
  parse("demo", args, d, "demo [--db PATH] [--config FILE] [--jobs N] [--force]");
  const std::string campaign = runner::load_campaign(o.config).name;
  const auto eo = flags.options(campaign);
  const int threads = flags.threads;
  // Everything that can be refused is refused before the campaign runs (minutes to hours).
  diagnosis::check_options(eo);
  runner::check_options(o.execute_options());
  const std::string report = fs::path(o.db).replace_extension(".html").string();
  std::error_code ec;
  if (fs::weakly_canonical(report, ec) == fs::weakly_canonical(o.db, ec) ||
      fs::equivalent(report, o.db, ec))
    throw Error("demo: the demo's report would replace its database '" + o.db +
                "' (the report is named after the database, with .html): give --db a name "
                "ending in .db");
  files::check_output_file(report, force, "report");
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
  std::cout << "\n-- evaluation: the protocol ladder (" << flags.protocols << ") --\n";
  const auto ladder = diagnosis::evaluate(store, eo);
  std::cout << diagnosis::format_table(ladder);
  const std::string ahead_id = demo_instability_ahead(store, campaign, eo);
  std::cout << "\n-- report --\n";
  const std::string html =
      diagnosis::render_report_html(store, diagnosis::ReportOptions()
                                               .campaign(campaign)
                                               .evaluation_id(ladder.evaluation_id)
                                               .horizon_evaluation_id(ahead_id));
  write_output(report, html, force, "report");
  std::cout << "wrote " << report << " (" << html.size() << " bytes; open it in a browser)\n";
  return 0;
}

}  // namespace dynfault::cli
