#include "runner/executor.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <set>
#include <vector>

#include "common/check.h"
#include "common/clock.h"
#include "common/version.h"
#include "db/store.h"
#include "programs/recipe.h"
#include "runner/campaign.h"
#include "runner/probe_options.h"
#include "runner/worker_message.h"
#include "runner/worker_process.h"

// The coordinator of `dynfault run`; the workers' side is in runner/worker.cpp, the messages
// between them in runner/worker_message.h.
namespace dynfault::runner {
namespace {

double mono_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

using Log = std::function<void(const std::string&)>;

std::atomic<int> g_stop_signal{0};
void on_stop_signal(int sig) { g_stop_signal = sig; }

/// While it lives, SIGINT and SIGTERM set g_stop_signal (the coordinator's loop stops at its next
/// turn) and SIGPIPE is ignored (a worker gone mid-write is seen when it is reaped); restore()
/// puts the previous handlers back, at the latest on destruction.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old_pipe_);
  }
  ~StopSignals() { restore(); }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  void restore() {
    if (restored_) return;
    restored_ = true;
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGPIPE, &old_pipe_, nullptr);
  }

 private:
  struct sigaction old_int_ {
  }, old_term_{}, old_pipe_{};
  bool restored_ = false;
};

/// The numeric environment of each campaign with runs left to execute, decided before anything
/// is written (runner::execution_env refuses a campaign/database mismatch); then records the
/// environments of campaigns that had none and replaces the stale runs of `o.replace`.
std::map<std::string, NumericEnv> prepare_numeric(db::Store& store, const ExecuteOptions& o) {
  std::set<std::string> pending;
  for (const auto& r : store.runs(db::RunFilter{o.campaign, ""}))
    if (r.status != "FINISHED") pending.insert(r.spec.campaign);
  for (const auto& [old_uuid, spec] : o.replace) pending.insert(spec.campaign);
  std::map<std::string, ExecutionEnv> decided;
  for (const auto& campaign : pending)
    decided.emplace(
        campaign, execution_env(store, campaign, campaign == o.campaign ? o.numeric : std::nullopt,
                                o.allow_numeric_change, o.libraries));
  std::map<std::string, NumericEnv> envs;
  for (const auto& [campaign, e] : decided) {
    if (e.record) store.set_campaign_numeric(campaign, {e.numeric.to_json(), o.libraries});
    envs.emplace(campaign, e.numeric);
  }
  store.replace_runs(o.replace);
  return envs;
}

/// Puts back what earlier invocations left: RUNNING rows (their coordinator died), KILLED runs
/// and FAILED runs below the attempts cap; returns how many.
int64_t requeue(db::Store& store, const ExecuteOptions& o, const Log& log) {
  // We hold the lock, so no other coordinator is alive: every RUNNING row is left over from a
  // coordinator that died (its workers died with it: PR_SET_PDEATHSIG); KILLED runs and FAILED
  // runs below the attempts cap get another attempt.
  const int64_t requeued =
      store.requeue_stale(unix_ms() + 1) + store.requeue_unfinished(o.campaign, o.max_attempts);
  if (requeued > 0) log("requeued " + std::to_string(requeued) + " unfinished run(s)");
  if (o.max_attempts > 0) {
    int64_t exhausted = 0;
    for (const auto& r : store.runs(db::RunFilter{o.campaign, "FAILED"}))
      exhausted += shard_of(r.spec.run_uuid, o.shard_count) == o.shard_index ? 1 : 0;
    if (exhausted > 0)
      log(std::to_string(exhausted) + " FAILED run(s) failed " + std::to_string(o.max_attempts) +
          " times and are not retried (--max-attempts)");
  }
  return requeued;
}

/// The SCHEDULED runs of this campaign and shard, in the database's order, at most `o.limit`.
std::deque<db::RunRow> scheduled_runs(db::Store& store, const ExecuteOptions& o) {
  std::deque<db::RunRow> queue;
  for (auto& r : store.runs(db::RunFilter{o.campaign, "SCHEDULED"})) {
    if (shard_of(r.spec.run_uuid, o.shard_count) != o.shard_index) continue;
    queue.push_back(std::move(r));
    if (o.limit > 0 && static_cast<int64_t>(queue.size()) >= o.limit) break;
  }
  return queue;
}

/// The FAILED and KILLED runs of this campaign and shard left at the end, for the last line of
/// `dynfault run`: a campaign is never reported done while runs of it have no trace.
void count_left(db::Store& store, const ExecuteOptions& o, ExecuteSummary& summary) {
  for (const char* status : {"FAILED", "KILLED"}) {
    for (const auto& r : store.runs(db::RunFilter{o.campaign, status})) {
      if (shard_of(r.spec.run_uuid, o.shard_count) != o.shard_index) continue;
      if (status[0] == 'K') {
        ++summary.killed_left;
        continue;
      }
      ++summary.failed_left;
      if (o.max_attempts > 0 && r.attempts >= o.max_attempts) {
        ++summary.failed_exhausted;
        summary.most_attempts = std::max(summary.most_attempts, r.attempts);
      }
    }
  }
}

/// Executes a queue of runs on the workers until it is empty or a stop signal arrives: gives
/// runs to idle workers, reads their replies (runner/worker_message.h) and diagnostics, records
/// a worker's death or a passed deadline as its run's end, keeps the heartbeats and reports
/// progress. Counts into the summary.
class Coordinator {
 public:
  Coordinator(const ExecuteOptions& o, db::Store& store,
              const std::map<std::string, NumericEnv>& envs, std::deque<db::RunRow> queue,
              ExecuteSummary& summary, Log log)
      : o_(o),
        store_(store),
        envs_(envs),
        queue_(std::move(queue)),
        summary_(summary),
        p_(summary.progress),
        log_(std::move(log)) {
    // A worker serves one numeric environment: runs of one environment go one after another.
    std::stable_sort(queue_.begin(), queue_.end(), [&](const db::RunRow& a, const db::RunRow& b) {
      return env_of(a).to_json() < env_of(b).to_json();
    });
  }

  /// Until the queue is done. Throws dynfault::Error, with no worker left, after a stop signal
  /// (runs in flight are marked KILLED first), when a worker cannot compute in its numeric
  /// environment or store a result, or when the database cannot be written.
  void run() {
    StopSignals signals;
    t0_ = mono_s();
    workers_.resize(static_cast<size_t>(std::min<int64_t>(o_.jobs, p_.total)));
    try {
      loop();
    } catch (const db::DbError& e) {
      // Typically a full disk or a file made read-only under us. Committed runs are safe; runs
      // in flight stay RUNNING and are requeued by the next invocation.
      for (auto& w : workers_) reap(w, true);
      signals.restore();
      throw Error(std::string("cannot record results: ") + e.what() +
                  "; the runs stored so far are kept: fix the cause (free disk space?) and run "
                  "'dynfault run' again to resume");
    } catch (...) {
      for (auto& w : workers_) reap(w, true);
      signals.restore();
      throw;
    }
    wind_down();
    p_.running = 0;
    p_.elapsed_s = mono_s() - t0_;
    if (o_.on_progress) o_.on_progress(p_);
    signals.restore();
    if (g_stop_signal != 0)
      throw Error("interrupted by signal " + std::to_string(g_stop_signal.load()) +
                  "; finished runs are stored, the rest resume on the next 'dynfault run'");
  }

 private:
  const NumericEnv& env_of(const db::RunRow& r) const {
    const auto it = envs_.find(r.spec.campaign);
    DYNFAULT_ASSERT(it != envs_.end());
    return it->second;
  }

  void loop() {
    while (true) {
      const bool stopping = g_stop_signal != 0;
      if (!stopping) dispatch();
      p_.running = 0;
      for (auto& w : workers_) p_.running += w.run ? 1 : 0;
      // A stop signal ends the campaign now: runs in flight are killed and marked KILLED after.
      if (stopping || (p_.running == 0 && queue_.empty())) return;
      read_output();
      const double now = mono_s();
      check_deadlines(now);
      keep_time(now);
    }
  }

  /// Gives each idle worker the next queued run; a worker started in another numeric
  /// environment than that run's exits first, and its successor takes the run.
  void dispatch() {
    for (auto& w : workers_) {
      if (w.run || queue_.empty()) continue;
      const NumericEnv& numeric = env_of(queue_.front());
      if (w.pid > 0 && w.numeric != numeric.to_json()) {
        close_fd(w.in);  // end of input: the worker exits; its successor takes the new one
        reap(w, false);
      }
      if (w.pid <= 0) w = spawn_worker(o_, numeric);
      db::RunRow r = std::move(queue_.front());
      queue_.pop_front();
      if (!store_.mark_running(r.spec.run_uuid, unix_ms())) continue;  // taken meanwhile
      r.start_time = unix_ms();
      w.run = std::move(r);
      w.started = mono_s();
      w.deadline = w.run->spec.timeout_s > 0 ? w.started + w.run->spec.timeout_s + o_.grace_s : 0;
      w.err_tail = Tail{};
      w.oom_kills_at_start = oom_kill_count();
      if (!write_all(w.in, encode(RunRequest{w.run->spec.run_uuid}))) {
        const std::string how = reap(w, true);
        finish_failed(w, "crashed", "worker could not take the run: " + how);
      }
    }
  }

  /// Waits up to 200 ms for output from any worker, then takes what arrived: diagnostics into
  /// the worker's tail, replies, and the end of a worker's output (it died).
  void read_output() {
    std::vector<pollfd> fds;
    std::vector<std::pair<size_t, bool>> who;  // worker index, is stdout
    for (size_t i = 0; i < workers_.size(); ++i) {
      if (workers_[i].pid <= 0) continue;
      fds.push_back({workers_[i].out, POLLIN, 0});
      who.emplace_back(i, true);
      fds.push_back({workers_[i].err, POLLIN, 0});
      who.emplace_back(i, false);
    }
    const int rc = ::poll(fds.data(), fds.size(), 200);
    if (rc < 0 && errno != EINTR) throw Error(std::string("poll: ") + std::strerror(errno));
    for (size_t k = 0; rc > 0 && k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Worker& w = workers_[who[k].first];
      if (w.pid <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
      if (!who[k].second) {  // stderr
        if (n > 0) w.err_tail.add(buf, static_cast<size_t>(n));
        continue;
      }
      if (n > 0) {
        w.out_buf.append(buf, static_cast<size_t>(n));
        take_replies(w);
      } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        on_exit(w);
      }
    }
  }

  /// The complete lines of a worker's standard output: a reply for its run in flight ends it.
  void take_replies(Worker& w) {
    size_t nl;
    while ((nl = w.out_buf.find('\n')) != std::string::npos) {
      const std::string line = w.out_buf.substr(0, nl);
      w.out_buf.erase(0, nl + 1);
      if (!is_worker_reply(line)) continue;  // no message: a library's output
      WorkerReply reply;
      try {
        reply = decode_worker_reply(line);
      } catch (const Error& e) {
        log_("worker " + std::to_string(w.pid) + ": " + e.what() + "; line ignored");
        continue;
      }
      if (!w.run || reply.run_uuid != w.run->spec.run_uuid) continue;
      if (reply.status == "FINISHED")
        ++p_.finished;
      else
        ++p_.failed;
      ++summary_.outcomes[reply.outcome.empty() ? "-" : reply.outcome];  // "-": no outcome
      w.run.reset();
    }
  }

  /// The worker died: its run in flight is recorded as crashed (or KILLED, when it was ended
  /// from outside); the next dispatch starts another worker.
  void on_exit(Worker& w) {
    const std::string how = reap(w, false);
    if (WIFEXITED(w.exit_status) && WEXITSTATUS(w.exit_status) == kExitNumericEnv) {
      // Its run stays RUNNING and is requeued by the next invocation.
      throw Error("a worker could not compute in the campaign's numeric environment: " +
                  w.err_tail.last_lines(3) +
                  "no run was computed in another one; fix the "
                  "cause and run 'dynfault run' again to resume");
    }
    if (WIFEXITED(w.exit_status) && WEXITSTATUS(w.exit_status) == kExitStoreFailed) {
      // Its run stays RUNNING and is requeued by the next invocation.
      throw Error("cannot record results: " + w.err_tail.last_lines(3) +
                  "the runs stored so far are kept: fix the cause (free disk space?) and "
                  "run 'dynfault run' again to resume");
    }
    // While stopping, a worker killed by the same signal is an interruption (KILLED after).
    if (!w.run || g_stop_signal != 0) return;
    const int64_t oom = oom_kill_count();
    const bool oom_seen = oom >= 0 && w.oom_kills_at_start >= 0 && oom > w.oom_kills_at_start;
    if (killed_from_outside(w.exit_status, oom_seen)) {
      finish_killed(w, "worker " + how +
                           " from outside dynfault: an interruption, not a failure of "
                           "the run; the next 'dynfault run' retries it");
    } else {
      finish_failed(
          w, "crashed",
          "worker " + how +
              (oom_seen && WIFSIGNALED(w.exit_status) && WTERMSIG(w.exit_status) == SIGKILL
                   ? " while the kernel's OOM killer was at work (out of memory?)"
                   : ""));
    }
  }

  /// Kills the workers whose run passed its wall-clock limit and its grace period.
  void check_deadlines(double now) {
    for (auto& w : workers_) {
      if (w.run && w.deadline > 0 && now > w.deadline) {
        const std::string how = reap(w, true);
        finish_failed(w, "timeout",
                      "exceeded the wall-clock limit of " +
                          std::to_string(static_cast<int64_t>(w.run->spec.timeout_s)) + " s (+" +
                          std::to_string(static_cast<int64_t>(o_.grace_s)) + " s grace); worker " +
                          how);
      }
    }
  }

  /// The heartbeats of the runs in flight, and the progress report.
  void keep_time(double now) {
    if (now - last_heartbeat_ >= o_.heartbeat_s) {
      std::vector<std::string> ids;
      for (auto& w : workers_)
        if (w.run) ids.push_back(w.run->spec.run_uuid);
      if (!ids.empty()) store_.heartbeat(ids, unix_ms());
      last_heartbeat_ = now;
    }
    p_.elapsed_s = now - t0_;
    if (o_.on_progress && now - last_progress_ >= 0.5) {
      o_.on_progress(p_);
      last_progress_ = now;
    }
  }

  /// How a run that died with its worker was executed (its campaign's probe configuration is
  /// read once per campaign).
  db::RunExecution failed_record(const db::RunRow& r) {
    auto it = probes_.find(r.spec.campaign);
    if (it == probes_.end()) {
      const auto text = store_.campaign_config(r.spec.campaign);
      ProbeOptions po;
      if (text)
        po = probe_options_of_campaign(*text, o_.db_path + ": campaign '" + r.spec.campaign + "'");
      it = probes_.emplace(r.spec.campaign, probes_record(o_.probes, po)).first;
    }
    return execution_record(o_.max_steps, it->second, env_of(r), "", o_.libraries);
  }

  /// The run of `w` FAILED with `outcome` (its worker crashed, hung or could not take it).
  void finish_failed(Worker& w, const std::string& outcome, const std::string& why) {
    db::RunResult res;
    res.run_uuid = w.run->spec.run_uuid;
    res.status = "FAILED";
    res.outcome = outcome;
    res.error = why;
    const std::string tail = w.err_tail.last_lines(20);
    if (!tail.empty()) res.error += "\n--- last lines of the worker's error output ---\n" + tail;
    res.start_time = w.run->start_time;
    res.end_time = unix_ms();
    res.execution = failed_record(*w.run);
    if (store_.finish_running(res)) {
      ++p_.failed;
      ++summary_.outcomes[outcome];
      log_("run " + res.run_uuid + " (" + w.run->spec.program + " " + w.run->spec.fault_ids +
           "): " + outcome + ": " + why);
    } else {
      // The worker stored its result just before it died or was killed: that result stands.
      const auto row = store_.run(res.run_uuid);
      const bool finished = row && row->status == "FINISHED";
      ++(finished ? p_.finished : p_.failed);
      ++summary_.outcomes[row && !row->outcome.empty() ? row->outcome : outcome];
    }
    w.run.reset();
  }

  /// A worker ended from outside (kill -9, preemption): the run is KILLED, an interruption that
  /// the next invocation retries without counting it as a failed attempt.
  void finish_killed(Worker& w, const std::string& why) {
    db::RunResult res;
    res.run_uuid = w.run->spec.run_uuid;
    res.status = "KILLED";
    res.error = why;
    res.start_time = w.run->start_time;
    res.end_time = unix_ms();
    res.execution = failed_record(*w.run);
    if (store_.finish_running(res)) {
      ++p_.failed;
      log_("run " + res.run_uuid + " (" + w.run->spec.program + " " + w.run->spec.fault_ids +
           "): " + why);
    } else {
      const auto row = store_.run(res.run_uuid);
      ++(row && row->status == "FINISHED" ? p_.finished : p_.failed);
    }
    w.run.reset();
  }

  /// After the loop: runs in flight (interrupted) are marked KILLED, requeued by the next
  /// invocation; idle workers exit at the end of their input.
  void wind_down() {
    for (auto& w : workers_) {
      if (w.run) {
        reap(w, true);
        db::RunResult res;
        res.run_uuid = w.run->spec.run_uuid;
        res.status = "KILLED";
        res.outcome = "";
        res.error = "interrupted by signal " + std::to_string(g_stop_signal.load());
        res.start_time = w.run->start_time;
        res.end_time = unix_ms();
        res.execution = failed_record(*w.run);
        if (store_.finish_running(res))
          ++p_.failed;
        else
          ++p_.finished;
        w.run.reset();
      } else if (w.pid > 0) {
        close_fd(w.in);  // end of input: the worker exits by itself
        reap(w, false);
      }
    }
  }

  const ExecuteOptions& o_;
  db::Store& store_;
  const std::map<std::string, NumericEnv>& envs_;
  std::deque<db::RunRow> queue_;
  ExecuteSummary& summary_;
  Progress& p_;
  const Log log_;
  /// Probe configurations of the campaigns, for the record of runs that die with their worker.
  std::map<std::string, std::string> probes_;
  std::vector<Worker> workers_;
  double t0_ = 0, last_heartbeat_ = 0, last_progress_ = 0;
};

}  // namespace

std::map<std::string, std::string> environment_info(const std::string& libraries) {
  // The version of the LibTorch this process loaded, as the library-versions record has it
  // (that record is read through LibTorch, which this torch-free library does without).
  const programs::Json versions = programs::Json::parse(libraries);
  return {{"tool_version", kVersion},
          {"libtorch_version", versions.value("libtorch", "unknown")},
          {"git_commit", DYNFAULT_GIT_COMMIT},
          {"compiler", std::string("gcc ") + __VERSION__}};
}

std::string probes_record(bool probes, const ProbeOptions& options) {
  return probes ? options.to_json() : "off";
}

std::vector<std::string> numeric_process_environment(const NumericEnv& numeric) {
  std::vector<std::string> env;
  for (const char* name :
       {"LD_LIBRARY_PATH", "DYNFAULT_DATA_DIR", "DYNFAULT_FASHION_MNIST_DIR",
        "DYNFAULT_TEST_CRASH_RUN", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"})
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  for (const auto& [name, value] : numeric.variables())
    env.push_back(std::string(name) + "=" + value);
  return env;
}

db::RunExecution execution_record(int64_t max_steps, const std::string& probes,
                                  const NumericEnv& requested, const std::string& effective_json,
                                  const std::string& libraries) {
  db::RunExecution e;
  e.max_steps = max_steps;
  e.probes = probes;
  programs::Json numeric = {{"requested", programs::Json::parse(requested.to_json())}};
  if (!effective_json.empty()) numeric["effective"] = programs::Json::parse(effective_json);
  e.numeric = numeric.dump();
  e.libraries = libraries;
  e.cpu = CpuInfo::current().model;
  e.build = std::string("dynfault ") + kVersion + " (git " + DYNFAULT_GIT_COMMIT + ", gcc " +
            __VERSION__ + ")";
  return e;
}

int64_t shard_of(const std::string& run_uuid, int64_t count) {
  DYNFAULT_CHECK(count >= 1, "shard_of(): shard count must be >= 1, got ", count);
  // Run ids are already uniform hashes; their first 12 hex digits give a stable partition.
  const uint64_t v = std::stoull(run_uuid.substr(0, 12), nullptr, 16);
  return static_cast<int64_t>(v % static_cast<uint64_t>(count));
}

void check_options(const ExecuteOptions& o) {
  DYNFAULT_CHECK(o.jobs >= 1 && o.jobs <= kMaxThreads, "--jobs must be in [1, ", kMaxThreads,
                 "], got ", o.jobs);
  DYNFAULT_CHECK(o.shard_count >= 1 && o.shard_index >= 0 && o.shard_index < o.shard_count,
                 "invalid shard ", o.shard_index, "/", o.shard_count);
  DYNFAULT_CHECK(o.limit >= 0, "--limit must be >= 0 (0 = every scheduled run), got ", o.limit);
  DYNFAULT_CHECK(o.max_steps >= 0, "--max-steps must be >= 0 (0 = full training), got ",
                 o.max_steps);
  DYNFAULT_CHECK(o.max_attempts >= 0, "--max-attempts must be >= 0 (0 = no cap), got ",
                 o.max_attempts);
  DYNFAULT_CHECK(o.grace_s >= 0 && o.grace_s <= 86400, "--grace must be in [0, 86400] s, got ",
                 o.grace_s);
  DYNFAULT_CHECK(o.heartbeat_s > 0, "execute(): heartbeat_s must be > 0, got ", o.heartbeat_s);
}

std::string retry_command(const std::string& db_path, const std::string& campaign,
                          int64_t most_attempts) {
  return "dynfault run --db " + db_path + (campaign.empty() ? "" : " --campaign " + campaign) +
         " --max-attempts " + std::to_string(most_attempts + 1);
}

std::string unfinished_line(const ExecuteSummary& s, const ExecuteOptions& o) {
  if (s.failed_left == 0 && s.killed_left == 0) return "";
  const auto runs = [](int64_t n) { return std::to_string(n) + (n == 1 ? " run " : " runs "); };
  std::string line;
  const auto add = [&](const std::string& part) { line += (line.empty() ? "" : "; ") + part; };
  if (s.failed_exhausted > 0)
    add(runs(s.failed_exhausted) + "FAILED and not retried (--max-attempts " +
        std::to_string(o.max_attempts) + " reached): retry with '" +
        retry_command(o.db_path, o.campaign, s.most_attempts) + "'");
  if (s.failed_left > s.failed_exhausted)
    add(runs(s.failed_left - s.failed_exhausted) + "FAILED: the next 'dynfault run' retries them");
  if (s.killed_left > 0)
    add(runs(s.killed_left) +
        "KILLED (interrupted from outside): the next 'dynfault run' retries them");
  return line + "; see 'dynfault status --db " + o.db_path + "'";
}

ExecuteSummary execute(const ExecuteOptions& o) {
  check_options(o);
  DYNFAULT_CHECK(!o.worker_binary.empty(), "execute(): no worker binary given");
  DYNFAULT_CHECK(!o.libraries.empty(),
                 "execute(): no library versions given (ExecuteOptions::libraries)");
  const Log log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  CoordinatorLock lock(o.db_path, o.wait_for_lock, log);
  // Store::open checks the file's integrity: thousands of writes never land on a damaged one.
  db::Store store = db::Store::open(o.db_path, /*create=*/false);
  store.require_campaign(o.campaign);
  // A campaign/database mismatch is refused here, before the first write.
  const std::map<std::string, NumericEnv> envs = prepare_numeric(store, o);
  if (!o.replace.empty())
    log("replaced " + std::to_string(o.replace.size()) + " stale run(s) by this build's");
  for (const auto& [k, v] : environment_info(o.libraries)) store.set_info(k, v);
  ExecuteSummary summary;
  summary.requeued = requeue(store, o, log);
  std::deque<db::RunRow> queue = scheduled_runs(store, o);
  summary.progress.total = static_cast<int64_t>(queue.size());
  if (!queue.empty()) Coordinator(o, store, envs, std::move(queue), summary, log).run();
  count_left(store, o, summary);
  return summary;
}

}  // namespace dynfault::runner
