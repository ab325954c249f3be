#pragma once
/// Executes the SCHEDULED runs of a database with N long-lived worker processes.
///
/// Each worker is a fresh `dynfault worker` process (posix_spawn, never fork of a process with
/// running thread pools) with one intra-op thread; it trains one run at a time, re-seeding fully
/// per run, and writes each finished run in one transaction. The coordinator dispatches runs over
/// a pipe, keeps heartbeats, enforces each run's wall-clock limit (SIGKILL after a grace period),
/// and records a worker that crashes or hangs as that run's outcome, then respawns the worker. A
/// crash, abort or hang in one run costs that run only. Torch-free: this coordinator side is
/// part of dynfault::campaign; the worker side, which trains, is runner/worker.h.
///
/// A worker starts with exactly the numeric environment of its runs' campaign (runner/numeric.h),
/// whatever the coordinator's own: its environment holds that environment's variables,
/// DYNFAULT_COORDINATOR_PID and, when the coordinator has them, LD_LIBRARY_PATH (so that it loads
/// the libraries the coordinator checked), DYNFAULT_DATA_DIR, DYNFAULT_FASHION_MNIST_DIR,
/// DYNFAULT_TEST_CRASH_RUN and the sanitizers' ASAN_, LSAN_ and UBSAN_OPTIONS; nothing else. It
/// checks that its libraries took the environment before it trains anything, and records with
/// every run how it was executed (db::RunExecution).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/trace.h"
#include "runner/numeric.h"

namespace dynfault::runner {

/// Progress of a campaign execution, passed to ExecuteOptions::on_progress.
struct Progress {
  int64_t total = 0;     ///< runs to execute in this invocation
  int64_t finished = 0;  ///< FINISHED (a trace was stored)
  int64_t failed = 0;    ///< FAILED or KILLED
  int64_t running = 0;
  double elapsed_s = 0;
};

struct ExecuteOptions {
  std::string db_path = "dynfault.db";
  std::string campaign;       ///< only runs of this campaign ("" = all)
  int jobs = 1;               ///< worker processes
  std::string worker_binary;  ///< the dynfault executable
  int64_t shard_index = 0;    ///< run only runs with shard_of(run) == shard_index ...
  int64_t shard_count = 1;    ///< ... of shard_count
  int64_t limit = 0;          ///< execute at most this many runs (0 = all)
  double grace_s = 15;        ///< extra time past a run's timeout before SIGKILL
  double heartbeat_s = 2;
  /// A FAILED run (crash, timeout, exception) is retried by later invocations until it has
  /// failed this many times; 0 = no cap. KILLED and stale RUNNING runs (interrupted from
  /// outside: the coordinator or a worker was killed) are always requeued, and their
  /// interrupted attempt does not count (db::Store::requeue_unfinished).
  int64_t max_attempts = 3;
  bool wait_for_lock = false;  ///< wait for another coordinator of the database to finish
  bool probes = true;
  int64_t max_steps = 0;  ///< passed to the trainer (tests); 0 = full training
  /// The numeric environment for the runs of `campaign` when its file asks for another than the
  /// recorded one (StoredPlan::numeric_change); used only with allow_numeric_change.
  std::optional<NumericEnv> numeric;
  /// Run although the campaign recorded another numeric environment or other library versions
  /// (`run --allow-numeric-change`); each run records its own. Otherwise such a campaign is
  /// refused before anything is written (runner::execution_env).
  bool allow_numeric_change = false;
  /// This build's library versions as JSON (runner::library_versions_json(), filled by the
  /// caller: reading them needs LibTorch, which the coordinator does without). Compared with the
  /// versions a campaign recorded, recorded for a campaign that had none, and recorded with a
  /// run that dies with its worker. Required.
  std::string libraries;
  /// Stale runs to replace by this build's spec, as (old id, new spec), before runs are queued
  /// (`run --rerun-stale`; runner::replacements).
  std::vector<std::pair<std::string, db::RunSpec>> replace;
  std::function<void(const Progress&)> on_progress;  ///< called about twice a second
  std::function<void(const std::string&)> log;       ///< one line per event worth telling
};

struct ExecuteSummary {
  Progress progress;
  std::map<std::string, int64_t> outcomes;  ///< outcome -> count over the executed runs
  int64_t requeued = 0;                     ///< stale or unfinished runs put back at start
  /// At the end, among the runs of this campaign and shard: FAILED runs (their own crash,
  /// timeout or exception; retried by later invocations while below max_attempts) and KILLED
  /// runs (interrupted from outside; retried by the next invocation).
  int64_t failed_left = 0;
  int64_t failed_exhausted = 0;  ///< of failed_left: failed max_attempts times, not retried
  int64_t most_attempts = 0;     ///< the most attempts among those (retry above it)
  int64_t killed_left = 0;
};

/// The command that retries FAILED runs of `db_path` (and `campaign`, "" = all) that failed
/// `most_attempts` times: `dynfault run --db <db_path> [--campaign C] --max-attempts <n + 1>`.
std::string retry_command(const std::string& db_path, const std::string& campaign,
                          int64_t most_attempts);

/// The last line of `dynfault run` when runs of the campaign are left without a trace (FAILED
/// or KILLED), saying how many, why and what retries them; "" when none is.
std::string unfinished_line(const ExecuteSummary& summary, const ExecuteOptions& options);

/// Throws dynfault::Error naming the first option out of range (--jobs, --shard, --limit,
/// --max-steps, --max-attempts, --grace); `execute` calls it first, commands call it before
/// planning.
void check_options(const ExecuteOptions& options);

/// Runs the SCHEDULED runs (after requeueing RUNNING/FAILED/KILLED ones left by an earlier
/// invocation). Refuses a database that fails `PRAGMA quick_check`. Throws dynfault::Error when
/// another coordinator holds the database (unless `wait_for_lock`), the database cannot be
/// opened, or a result cannot be written (disk full, read-only file): runs stored until then
/// stay, the rest resume on the next invocation. SIGINT or SIGTERM (to the coordinator or its
/// process group) stops at once: runs in flight are killed and marked KILLED, then it throws.
/// Never throws because a run failed.
ExecuteSummary execute(const ExecuteOptions& options);

/// An exclusive lock on the database file itself (flock on its inode, released by the kernel
/// when its holder dies, even by SIGKILL), so that two coordinators (or a merge and a
/// coordinator) never share one database, whatever path, symbolic link or hard link names it.
/// SQLite locks with fcntl, which is independent of flock. The holder's pid for the error
/// message comes from /proc/locks.
///
/// Destroy it only after every connection of this process to the file is closed: closing any
/// descriptor of a file drops the process's fcntl locks on it, SQLite's included.
class CoordinatorLock {
 public:
  /// Throws dynfault::Error naming the holder when the lock is taken and `wait` is false; else
  /// calls `on_wait` once and blocks until the holder releases it. A missing file is created
  /// empty when `create` (merge into a new database), else refused.
  explicit CoordinatorLock(const std::string& db_path, bool wait = false,
                           const std::function<void(const std::string&)>& on_wait = {},
                           bool create = false);
  ~CoordinatorLock();
  CoordinatorLock(const CoordinatorLock&) = delete;
  CoordinatorLock& operator=(const CoordinatorLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

/// Facts about this build stored in every database's `info` table: tool_version,
/// libtorch_version (the "libtorch" entry of `libraries`, runner::library_versions_json()),
/// git_commit (at configure time), compiler.
std::map<std::string, std::string> environment_info(const std::string& libraries);

/// The shard (0..count-1) of a run id: a stable partition by id.
int64_t shard_of(const std::string& run_uuid, int64_t count);

/// The environment a process computing in `numeric` starts with (the worker's, executor.h,
/// without DYNFAULT_COORDINATOR_PID), as NAME=VALUE strings; `dynfault replay` starts itself
/// again with it.
std::vector<std::string> numeric_process_environment(const NumericEnv& numeric);

/// A worker's exit code when its libraries did not take the numeric environment it was started
/// in (runner::numeric_mismatch): the machine, not the run, failed, and the campaign stops.
inline constexpr int kExitNumericEnv = 78;  // EX_CONFIG

struct ProbeOptions;  // runner/probe_options.h

/// The probe configuration a run executes with, as recorded (db::RunExecution::probes): the
/// options' JSON, or "off" when `probes` is false.
std::string probes_record(bool probes, const ProbeOptions& options);

/// How this process executes a run: the record stored with its result (db::RunExecution).
/// `effective_json` is effective_numeric_env()'s JSON, "" when unknown (a worker that died);
/// `libraries` is library_versions_json() of the process that records (both
/// runner/numeric_libraries.h).
db::RunExecution execution_record(int64_t max_steps, const std::string& probes,
                                  const NumericEnv& requested, const std::string& effective_json,
                                  const std::string& libraries);

}  // namespace dynfault::runner
