#pragma once
/// Executes the SCHEDULED runs of a database with N long-lived worker processes.
///
/// Each worker is a fresh `dynfault worker` process (posix_spawn, never fork of a process with
/// running thread pools) with one intra-op thread; it trains one run at a time, re-seeding fully
/// per run, and writes each finished run in one transaction. The coordinator dispatches runs over
/// a pipe, keeps heartbeats, enforces each run's wall-clock limit (SIGKILL after a grace period),
/// and records a worker that crashes or hangs as that run's outcome, then respawns the worker. A
/// crash, abort or hang in one run costs that run only. Torch-free.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

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
  std::string campaign;          ///< only runs of this campaign ("" = all)
  int jobs = 1;                  ///< worker processes
  std::string worker_binary;     ///< the dynfault executable
  int64_t shard_index = 0;       ///< run only runs with shard_of(run) == shard_index ...
  int64_t shard_count = 1;       ///< ... of shard_count
  int64_t limit = 0;             ///< execute at most this many runs (0 = all)
  double grace_s = 15;           ///< extra time past a run's timeout before SIGKILL
  double heartbeat_s = 2;
  bool probes = true;
  int64_t max_steps = 0;         ///< passed to the trainer (tests); 0 = full training
  std::function<void(const Progress&)> on_progress;  ///< called about twice a second
  std::function<void(const std::string&)> log;       ///< one line per event worth telling
};

struct ExecuteSummary {
  Progress progress;
  std::map<std::string, int64_t> outcomes;  ///< outcome -> count over the executed runs
  int64_t requeued = 0;                     ///< stale or unfinished runs put back at start
};

/// Runs the SCHEDULED runs (after requeueing RUNNING/FAILED/KILLED ones left by an earlier
/// invocation). Throws dynfault::Error when another coordinator holds the database or the
/// database cannot be opened; never throws because a run failed.
ExecuteSummary execute(const ExecuteOptions& options);

/// Facts about this build stored in every database's `info` table: tool_version,
/// libtorch_version, git_commit (at configure time), compiler.
std::map<std::string, std::string> environment_info();

/// The shard (0..count-1) of a run id: a stable partition by id.
int64_t shard_of(const std::string& run_uuid, int64_t count);

struct WorkerOptions {
  std::string db_path;
  bool probes = true;
  int64_t max_steps = 0;
};

/// Body of `dynfault worker`: reads "RUN <uuid>" lines on stdin, trains, stores the result,
/// answers "DONE <uuid> <outcome>" on stdout; exits 0 at end of input.
int worker_main(const WorkerOptions& options);

}  // namespace dynfault::runner
