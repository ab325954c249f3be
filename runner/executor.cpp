#include "runner/executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "common/clock.h"
#include "common/check.h"
#include "common/hash.h"
#include "common/version.h"
#include "db/store.h"
#include "runner/campaign.h"
#include "runner/trainer.h"

#include <torch/version.h>  // TORCH_VERSION only; cheap, unlike torch/torch.h

namespace dynfault::runner {
namespace {

double mono_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::atomic<int> g_stop_signal{0};
void on_stop_signal(int sig) { g_stop_signal = sig; }

/// Keeps the last `limit` bytes of a worker's standard error for crash reports.
struct Tail {
  std::string text;
  void add(const char* p, size_t n, size_t limit = 4000) {
    text.append(p, n);
    if (text.size() > limit) text.erase(0, text.size() - limit);
  }
  std::string last_lines(int lines) const {
    if (text.empty()) return text;
    size_t pos = text.size();
    for (int i = 0; i <= lines && pos > 0; ++i) {
      pos = text.rfind('\n', pos - 1);
      if (pos == std::string::npos) return text;
    }
    return text.substr(pos + 1);
  }
};

struct Worker {
  pid_t pid = -1;
  int in = -1;   // we write RUN lines
  int out = -1;  // we read DONE lines
  int err = -1;  // we read diagnostics
  std::string out_buf;
  Tail err_tail;
  std::optional<db::RunRow> run;  // the run in flight
  double started = 0;             // monotonic start of the run in flight
  double deadline = 0;            // monotonic SIGKILL time, 0 = none
  int exit_status = 0;            // waitpid status once reaped
  int64_t oom_kills_at_start = 0;  // the kernel's OOM kill count when the run was dispatched
  std::string numeric;             // the numeric environment it was started in (JSON)
};

/// The kernel's count of OOM kills since boot (/proc/vmstat oom_kill), -1 when unknown.
int64_t oom_kill_count() {
  std::ifstream in("/proc/vmstat");
  std::string key;
  int64_t value = 0;
  while (in >> key >> value)
    if (key == "oom_kill") return value;
  return -1;
}

/// True when a worker that died of `status` was ended from outside dynfault (kill -9, a
/// cluster's preemption, a signal meant for someone else) rather than by its run: the signals
/// a run raises itself are SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP and SIGSYS. A
/// SIGKILL while the kernel's OOM killer was at work counts as the run's own (it used too much
/// memory), so that such a run is not retried without end.
bool killed_from_outside(int status, bool oom_kill_seen) {
  if (!WIFSIGNALED(status)) return false;
  switch (WTERMSIG(status)) {
    case SIGKILL:
      return !oom_kill_seen;
    case SIGTERM:
    case SIGINT:
    case SIGHUP:
    case SIGQUIT:
    case SIGUSR1:
    case SIGUSR2:
    case SIGPWR:
      return true;
    default:
      return false;
  }
}

/// A worker's exit code when it could not store a result (disk full, file made read-only): the
/// database, not the run, failed, so the run is not charged with a crash.
constexpr int kExitStoreFailed = 75;  // EX_TEMPFAIL

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

/// The environment of a worker (executor.h says what it holds): built from scratch, so that no
/// variable of the coordinator's changes which kernels the worker's libraries pick.
std::vector<std::string> worker_environment(const NumericEnv& numeric) {
  std::vector<std::string> env = numeric_process_environment(numeric);
  env.push_back("DYNFAULT_COORDINATOR_PID=" + std::to_string(::getpid()));
  return env;
}

Worker spawn_worker(const ExecuteOptions& o, const NumericEnv& numeric) {
  int in[2], out[2], err[2];
  DYNFAULT_CHECK(::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0 &&
                     ::pipe2(err, O_CLOEXEC) == 0,
                 "cannot create worker pipes: ", std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<std::string> args = {o.worker_binary, "worker", "--db", o.db_path,
                                   "--numeric", numeric.to_json()};
  if (!o.probes) args.push_back("--no-probes");
  if (o.max_steps > 0) {
    args.push_back("--max-steps");
    args.push_back(std::to_string(o.max_steps));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store = worker_environment(numeric);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  Worker w;
  // SIGINT and SIGTERM reach the whole process group (Ctrl-C, scancel); a worker starts with
  // them blocked and ignores them once running, so that only the coordinator reacts.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &stop_signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const int rc = ::posix_spawn(&w.pid, o.worker_binary.c_str(), &fa, &attr, argv.data(),
                               envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    throw Error("cannot start worker '" + o.worker_binary + "': " + std::strerror(rc));
  }
  w.in = in[1];
  w.out = out[0];
  w.err = err[0];
  w.numeric = numeric.to_json();
  ::fcntl(w.out, F_SETFL, O_NONBLOCK);
  ::fcntl(w.err, F_SETFL, O_NONBLOCK);
  return w;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended (status " + std::to_string(status) + ")";
}

/// Reaps a worker, returning how it ended; kills it first when `kill_first`.
std::string reap(Worker& w, bool kill_first) {
  if (w.pid <= 0) return "not running";
  if (kill_first) ::kill(w.pid, SIGKILL);
  int status = 0;
  while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Drain what is left of its standard error for the report.
  char buf[4096];
  ssize_t n;
  while (w.err >= 0 && (n = ::read(w.err, buf, sizeof buf)) > 0) w.err_tail.add(buf, n);
  close_fd(w.in);
  close_fd(w.out);
  close_fd(w.err);
  w.pid = -1;
  w.exit_status = status;
  return describe_status(status);
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

/// The DYNFAULT_TEST_CRASH_RUN hook (see worker_main in executor.h): dies as asked when `uuid`
/// matches one of its entries, so that tests can show a crash costs that run only.
void simulate_crash_if_asked(const std::string& uuid) {
  const char* env = std::getenv("DYNFAULT_TEST_CRASH_RUN");
  if (env == nullptr) return;
  std::stringstream entries(env);
  for (std::string entry; std::getline(entries, entry, ',');) {
    const auto colon = entry.find(':');
    if (colon == 0 || colon == std::string::npos || uuid.rfind(entry.substr(0, colon), 0) != 0)
      continue;
    const std::string how = entry.substr(colon + 1);
    std::cerr << "worker: DYNFAULT_TEST_CRASH_RUN: simulating '" << how << "' in run " << uuid
              << std::endl;
    if (how == "segv") {
      ::signal(SIGSEGV, SIG_DFL);
      ::raise(SIGSEGV);
    } else if (how == "abort") {
      std::abort();
    } else if (how == "hang") {
      for (;;) ::pause();
    } else if (how == "kill") {
      ::raise(SIGKILL);
    }
  }
}

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
    decided.emplace(campaign,
                    execution_env(store, campaign,
                                  campaign == o.campaign ? o.numeric : std::nullopt,
                                  o.allow_numeric_change));
  std::map<std::string, NumericEnv> envs;
  for (const auto& [campaign, e] : decided) {
    if (e.record)
      store.set_campaign_numeric(campaign, {e.numeric.to_json(), library_versions_json()});
    envs.emplace(campaign, e.numeric);
  }
  store.replace_runs(o.replace);
  return envs;
}

/// The probe configuration a run executes with, as recorded (db::RunExecution::probes).
std::string probes_record(bool probes, const ProbeOptions& options) {
  return probes ? options.to_json() : "off";
}

}  // namespace

namespace {

/// The pid holding a flock on the file (device, inode), from /proc/locks; "?" when unknown.
std::string flock_holder(dev_t dev, ino_t ino) {
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%llu", major(dev), minor(dev),
                static_cast<unsigned long long>(ino));
  std::ifstream in("/proc/locks");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string number, kind, mode, access, pid, file;
    words >> number >> kind;
    if (kind == "->") continue;  // a process waiting for the lock, not holding it
    words >> mode >> access >> pid >> file;
    if (kind == "FLOCK" && file == id) return pid;
  }
  return "?";
}

}  // namespace

std::vector<std::string> numeric_process_environment(const NumericEnv& numeric) {
  std::vector<std::string> env;
  for (const char* name : {"LD_LIBRARY_PATH", "DYNFAULT_DATA_DIR", "DYNFAULT_FASHION_MNIST_DIR",
                           "DYNFAULT_TEST_CRASH_RUN", "ASAN_OPTIONS", "LSAN_OPTIONS",
                           "UBSAN_OPTIONS"})
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  for (const auto& [name, value] : numeric.variables()) env.push_back(name + "=" + value);
  return env;
}

db::RunExecution execution_record(int64_t max_steps, const std::string& probes,
                                  const NumericEnv& requested, const std::string& effective_json) {
  db::RunExecution e;
  e.max_steps = max_steps;
  e.probes = probes;
  programs::Json numeric = {{"requested", programs::Json::parse(requested.to_json())}};
  if (!effective_json.empty()) numeric["effective"] = programs::Json::parse(effective_json);
  e.numeric = numeric.dump();
  e.libraries = library_versions_json();
  e.cpu = CpuInfo::current().model;
  e.build = std::string("dynfault ") + kVersion + " (git " + DYNFAULT_GIT_COMMIT + ", gcc " +
            __VERSION__ + ")";
  return e;
}

CoordinatorLock::CoordinatorLock(const std::string& db_path, bool wait,
                                 const std::function<void(const std::string&)>& on_wait,
                                 bool create)
    : path_(db_path) {
  fd_ = ::open(db_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | (create ? O_CREAT : 0), 0644);
  if (fd_ < 0) {
    throw Error("cannot open '" + db_path + "' to lock it: " + std::strerror(errno) +
                (errno == ENOENT ? " (plan a campaign first: dynfault plan --config FILE)" : ""));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error("'" + db_path + "' is not a regular file; a database must be one");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string what = "another dynfault process (pid " + flock_holder(st.st_dev, st.st_ino) +
                             ") is using '" + db_path + "'";
    if (!wait) {
      ::close(fd_);
      throw Error(what + "; wait for it to finish, stop it, or pass --wait");
    }
    if (on_wait) on_wait(what + "; waiting for it to finish");
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int err = errno;
        ::close(fd_);
        throw Error("cannot lock '" + path_ + "': " + std::strerror(err));
      }
    }
  }
}

CoordinatorLock::~CoordinatorLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

std::map<std::string, std::string> environment_info() {
  return {{"tool_version", kVersion},
          {"libtorch_version", TORCH_VERSION},
          {"git_commit", DYNFAULT_GIT_COMMIT},
          {"compiler", std::string("gcc ") + __VERSION__}};
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
    add(runs(s.failed_left - s.failed_exhausted) +
        "FAILED: the next 'dynfault run' retries them");
  if (s.killed_left > 0)
    add(runs(s.killed_left) +
        "KILLED (interrupted from outside): the next 'dynfault run' retries them");
  return line + "; see 'dynfault status --db " + o.db_path + "'";
}

namespace {

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

}  // namespace

ExecuteSummary execute(const ExecuteOptions& o) {
  check_options(o);
  DYNFAULT_CHECK(!o.worker_binary.empty(), "execute(): no worker binary given");
  const auto log = [&](const std::string& s) {
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
  for (const auto& [k, v] : environment_info()) store.set_info(k, v);
  ExecuteSummary summary;
  // We hold the lock, so no other coordinator is alive: every RUNNING row is left over from a
  // coordinator that died (its workers died with it: PR_SET_PDEATHSIG); KILLED runs and FAILED
  // runs below the attempts cap get another attempt.
  summary.requeued =
      store.requeue_stale(unix_ms() + 1) + store.requeue_unfinished(o.campaign, o.max_attempts);
  if (summary.requeued > 0) log("requeued " + std::to_string(summary.requeued) + " unfinished run(s)");
  if (o.max_attempts > 0) {
    int64_t exhausted = 0;
    for (const auto& r : store.runs(db::RunFilter{o.campaign, "FAILED"}))
      exhausted += shard_of(r.spec.run_uuid, o.shard_count) == o.shard_index ? 1 : 0;
    if (exhausted > 0)
      log(std::to_string(exhausted) + " FAILED run(s) failed " + std::to_string(o.max_attempts) +
          " times and are not retried (--max-attempts)");
  }

  std::deque<db::RunRow> queue;
  for (auto& r : store.runs(db::RunFilter{o.campaign, "SCHEDULED"})) {
    if (shard_of(r.spec.run_uuid, o.shard_count) != o.shard_index) continue;
    queue.push_back(std::move(r));
    if (o.limit > 0 && static_cast<int64_t>(queue.size()) >= o.limit) break;
  }
  Progress& p = summary.progress;
  p.total = static_cast<int64_t>(queue.size());
  if (queue.empty()) {
    count_left(store, o, summary);
    return summary;
  }
  // A worker serves one numeric environment: runs of one environment go one after another.
  const auto env_of = [&](const db::RunRow& r) -> const NumericEnv& {
    const auto it = envs.find(r.spec.campaign);
    DYNFAULT_ASSERT(it != envs.end());
    return it->second;
  };
  std::stable_sort(queue.begin(), queue.end(), [&](const db::RunRow& a, const db::RunRow& b) {
    return env_of(a).to_json() < env_of(b).to_json();
  });
  // Probe configurations of the campaigns, for the record of runs that die with their worker.
  std::map<std::string, std::string> probes;
  const auto failed_record = [&](const db::RunRow& r) {
    auto it = probes.find(r.spec.campaign);
    if (it == probes.end()) {
      const auto text = store.campaign_config(r.spec.campaign);
      ProbeOptions po;
      if (text)
        po = probe_options_of_campaign(*text, o.db_path + ": campaign '" + r.spec.campaign + "'");
      it = probes.emplace(r.spec.campaign, probes_record(o.probes, po)).first;
    }
    return execution_record(o.max_steps, it->second, env_of(r), "");
  };

  g_stop_signal = 0;
  struct sigaction sa{}, old_int{}, old_term{}, old_pipe{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  struct sigaction ign{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old_pipe);

  const auto restore_signals = [&] {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    ::sigaction(SIGPIPE, &old_pipe, nullptr);
  };
  const double t0 = mono_s();
  std::vector<Worker> workers(static_cast<size_t>(std::min<int64_t>(o.jobs, p.total)));
  double last_heartbeat = 0, last_progress = 0;

  const auto finish_failed = [&](Worker& w, const std::string& outcome, const std::string& why) {
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
    if (store.finish_running(res)) {
      ++p.failed;
      ++summary.outcomes[outcome];
      log("run " + res.run_uuid + " (" + w.run->spec.program + " " + w.run->spec.fault_ids +
          "): " + outcome + ": " + why);
    } else {
      // The worker stored its result just before it died or was killed: that result stands.
      const auto row = store.run(res.run_uuid);
      const bool finished = row && row->status == "FINISHED";
      ++(finished ? p.finished : p.failed);
      ++summary.outcomes[row && !row->outcome.empty() ? row->outcome : outcome];
    }
    w.run.reset();
  };
  // A worker ended from outside (kill -9, preemption): the run is KILLED, an interruption that
  // the next invocation retries without counting it as a failed attempt.
  const auto finish_killed = [&](Worker& w, const std::string& why) {
    db::RunResult res;
    res.run_uuid = w.run->spec.run_uuid;
    res.status = "KILLED";
    res.error = why;
    res.start_time = w.run->start_time;
    res.end_time = unix_ms();
    res.execution = failed_record(*w.run);
    if (store.finish_running(res)) {
      ++p.failed;
      log("run " + res.run_uuid + " (" + w.run->spec.program + " " + w.run->spec.fault_ids +
          "): " + why);
    } else {
      const auto row = store.run(res.run_uuid);
      ++(row && row->status == "FINISHED" ? p.finished : p.failed);
    }
    w.run.reset();
  };

  try {
    while (true) {
      const bool stopping = g_stop_signal != 0;
      // Dispatch work to idle workers.
      for (auto& w : workers) {
        if (stopping || w.run || queue.empty()) continue;
        const NumericEnv& numeric = env_of(queue.front());
        if (w.pid > 0 && w.numeric != numeric.to_json()) {
          close_fd(w.in);  // end of input: the worker exits; its successor takes the new one
          reap(w, false);
        }
        if (w.pid <= 0) w = spawn_worker(o, numeric);
        db::RunRow r = std::move(queue.front());
        queue.pop_front();
        if (!store.mark_running(r.spec.run_uuid, unix_ms())) continue;  // taken meanwhile
        r.start_time = unix_ms();
        w.run = std::move(r);
        w.started = mono_s();
        w.deadline = w.run->spec.timeout_s > 0 ? w.started + w.run->spec.timeout_s + o.grace_s : 0;
        w.err_tail = Tail{};
        w.oom_kills_at_start = oom_kill_count();
        if (!write_all(w.in, "RUN " + w.run->spec.run_uuid + "\n")) {
          const std::string how = reap(w, true);
          finish_failed(w, "crashed", "worker could not take the run: " + how);
        }
      }
      p.running = 0;
      for (auto& w : workers) p.running += w.run ? 1 : 0;
      // A stop signal ends the campaign now: runs in flight are killed and marked KILLED below.
      if (stopping || (p.running == 0 && queue.empty())) break;

      // Wait for output from any worker.
      std::vector<pollfd> fds;
      std::vector<std::pair<size_t, bool>> who;  // worker index, is stdout
      for (size_t i = 0; i < workers.size(); ++i) {
        if (workers[i].pid <= 0) continue;
        fds.push_back({workers[i].out, POLLIN, 0});
        who.emplace_back(i, true);
        fds.push_back({workers[i].err, POLLIN, 0});
        who.emplace_back(i, false);
      }
      const int rc = ::poll(fds.data(), fds.size(), 200);
      if (rc < 0 && errno != EINTR) throw Error(std::string("poll: ") + std::strerror(errno));
      for (size_t k = 0; rc > 0 && k < fds.size(); ++k) {
        if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Worker& w = workers[who[k].first];
        if (w.pid <= 0) continue;
        char buf[4096];
        const ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
        if (!who[k].second) {  // stderr
          if (n > 0) w.err_tail.add(buf, static_cast<size_t>(n));
          continue;
        }
        if (n > 0) {
          w.out_buf.append(buf, static_cast<size_t>(n));
          size_t nl;
          while ((nl = w.out_buf.find('\n')) != std::string::npos) {
            const std::string line = w.out_buf.substr(0, nl);
            w.out_buf.erase(0, nl + 1);
            // "DONE <uuid> <status> <outcome>"
            if (line.rfind("DONE ", 0) == 0 && w.run && line.size() >= 37 &&
                line.compare(5, 32, w.run->spec.run_uuid) == 0) {
              std::istringstream is(line.substr(38));
              std::string status, outcome;
              is >> status >> outcome;
              if (status == "FINISHED") ++p.finished; else ++p.failed;
              ++summary.outcomes[outcome];
              w.run.reset();
            }
          }
        } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          // The worker died: its run in flight is recorded as crashed, the worker respawned.
          const std::string how = reap(w, false);
          if (WIFEXITED(w.exit_status) && WEXITSTATUS(w.exit_status) == kExitNumericEnv) {
            // Its run stays RUNNING and is requeued by the next invocation.
            throw Error("a worker could not compute in the campaign's numeric environment: " +
                        w.err_tail.last_lines(3) + "no run was computed in another one; fix the "
                        "cause and run 'dynfault run' again to resume");
          }
          if (WIFEXITED(w.exit_status) && WEXITSTATUS(w.exit_status) == kExitStoreFailed) {
            // Its run stays RUNNING and is requeued by the next invocation.
            throw Error("cannot record results: " + w.err_tail.last_lines(3) +
                        "the runs stored so far are kept: fix the cause (free disk space?) and "
                        "run 'dynfault run' again to resume");
          }
          // While stopping, a worker killed by the same signal is an interruption (KILLED below).
          if (w.run && g_stop_signal == 0) {
            const int64_t oom = oom_kill_count();
            const bool oom_seen = oom >= 0 && w.oom_kills_at_start >= 0 &&
                                  oom > w.oom_kills_at_start;
            if (killed_from_outside(w.exit_status, oom_seen)) {
              finish_killed(w, "worker " + how +
                                   " from outside dynfault: an interruption, not a failure of "
                                   "the run; the next 'dynfault run' retries it");
            } else {
              finish_failed(w, "crashed",
                            "worker " + how +
                                (oom_seen && WIFSIGNALED(w.exit_status) &&
                                         WTERMSIG(w.exit_status) == SIGKILL
                                     ? " while the kernel's OOM killer was at work (out of "
                                       "memory?)"
                                     : ""));
            }
          }
        }
      }

      const double now = mono_s();
      for (auto& w : workers) {
        if (w.run && w.deadline > 0 && now > w.deadline) {
          const std::string how = reap(w, true);
          finish_failed(w, "timeout",
                        "exceeded the wall-clock limit of " +
                            std::to_string(static_cast<int64_t>(w.run->spec.timeout_s)) +
                            " s (+" + std::to_string(static_cast<int64_t>(o.grace_s)) +
                            " s grace); worker " + how);
        }
      }
      if (now - last_heartbeat >= o.heartbeat_s) {
        std::vector<std::string> ids;
        for (auto& w : workers)
          if (w.run) ids.push_back(w.run->spec.run_uuid);
        if (!ids.empty()) store.heartbeat(ids, unix_ms());
        last_heartbeat = now;
      }
      p.elapsed_s = now - t0;
      if (o.on_progress && now - last_progress >= 0.5) {
        o.on_progress(p);
        last_progress = now;
      }
    }
  } catch (const db::DbError& e) {
    // Typically a full disk or a file made read-only under us. Committed runs are safe; runs in
    // flight stay RUNNING and are requeued by the next invocation.
    for (auto& w : workers) reap(w, true);
    restore_signals();
    throw Error(std::string("cannot record results: ") + e.what() +
                "; the runs stored so far are kept: fix the cause (free disk space?) and run "
                "'dynfault run' again to resume");
  } catch (...) {
    for (auto& w : workers) reap(w, true);
    restore_signals();
    throw;
  }

  // Interrupted: runs in flight are marked KILLED (requeued by the next invocation).
  for (auto& w : workers) {
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
      if (store.finish_running(res)) ++p.failed; else ++p.finished;
      w.run.reset();
    } else if (w.pid > 0) {
      close_fd(w.in);  // end of input: the worker exits by itself
      reap(w, false);
    }
  }
  p.running = 0;
  p.elapsed_s = mono_s() - t0;
  if (o.on_progress) o.on_progress(p);
  restore_signals();
  if (g_stop_signal != 0)
    throw Error("interrupted by signal " + std::to_string(g_stop_signal.load()) +
                "; finished runs are stored, the rest resume on the next 'dynfault run'");
  count_left(store, o, summary);
  return summary;
}

int worker_main(const WorkerOptions& o) {
  // A worker never outlives its coordinator: an orphan would race the next coordinator.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The coordinator may have died before the line above took effect: we are an orphan already.
  const char* coordinator = std::getenv("DYNFAULT_COORDINATOR_PID");
  if (coordinator ? std::to_string(::getppid()) != coordinator : ::getppid() == 1) return 1;
  // Ctrl-C and Slurm's scancel signal the whole process group: the coordinator alone decides,
  // and marks the runs in flight KILLED (requeued) rather than crashed. The coordinator started
  // us with both blocked; ignoring them discards any that arrived meanwhile.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  ::sigprocmask(SIG_UNBLOCK, &stop_signals, nullptr);
  // Nothing is computed in another numeric environment than the one the coordinator chose.
  apply_in_process(o.numeric);
  const std::string mismatch = numeric_mismatch(o.numeric);
  if (!mismatch.empty()) {
    std::cerr << "worker: the numeric environment " << o.numeric.describe()
              << " is not in effect: " << mismatch << std::endl;
    return kExitNumericEnv;
  }
  const std::string effective = effective_numeric_env(o.numeric).to_json();
  // The coordinator checked the file's integrity under its lock before starting us.
  db::Store store = db::Store::open(o.db_path, /*create=*/false, db::IntegrityCheck::kTrusted);
  // The probe configuration travels in the campaign's stored text (not in the run spec: probes
  // never change training, so they are no part of the run id); read once per campaign.
  std::map<std::string, ProbeOptions> probe_options;
  const auto probes_of = [&](const std::string& campaign) -> const ProbeOptions& {
    auto it = probe_options.find(campaign);
    if (it != probe_options.end()) return it->second;
    const auto text = store.campaign_config(campaign);
    ProbeOptions po;
    if (text) po = probe_options_of_campaign(*text, o.db_path + ": campaign '" + campaign + "'");
    return probe_options.emplace(campaign, po).first->second;
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.rfind("RUN ", 0) != 0) continue;
    const std::string uuid = line.substr(4);
    db::RunResult res;
    const auto row = store.run(uuid);
    if (!row) {
      std::cerr << "worker: unknown run " << uuid << '\n';
      continue;
    }
    simulate_crash_if_asked(uuid);
    TrainOptions to;
    to.timeout_s = row->spec.timeout_s;
    to.probes = o.probes;
    to.max_steps = o.max_steps;
    to.threads = o.numeric.intra_op_threads;
    const int64_t start = unix_ms();
    db::RunExecution execution;
    try {
      if (to.probes) to.probe = probes_of(row->spec.campaign);
      execution = execution_record(o.max_steps, probes_record(to.probes, to.probe), o.numeric,
                                   effective);
      res = train_spec(row->spec, to);
    } catch (const std::exception& e) {
      // An invalid recipe: nothing was trained, so nothing is stored but the reason.
      res = db::RunResult{};
      res.status = "FAILED";
      res.outcome = "exception";
      res.error = e.what();
    }
    res.run_uuid = uuid;
    res.execution = execution.recorded()
                        ? execution
                        : execution_record(o.max_steps, "", o.numeric, effective);
    if (res.start_time == 0) res.start_time = start;
    if (res.end_time == 0) res.end_time = unix_ms();
    try {
      store.write_result(res);
    } catch (const std::exception& e) {
      // Disk full or file gone read-only: the coordinator stops the campaign with these lines;
      // the run stays RUNNING and is requeued by the next invocation.
      std::cerr << "worker: cannot store the result of run " << uuid << ": " << e.what() << '\n';
      return kExitStoreFailed;
    }
    std::cout << "DONE " << uuid << ' ' << res.status << ' '
              << (res.outcome.empty() ? "-" : res.outcome) << std::endl;
  }
  return 0;
}

}  // namespace dynfault::runner
