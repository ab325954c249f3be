#pragma once
/// The coordinator's side of one `dynfault worker` process (runner/executor.h): starting it with
/// its environment, its pipes, the run in flight, and how it ended. Internal to
/// runner/executor.cpp; the messages on its pipes are in runner/worker_message.h. Torch-free.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "db/trace.h"
#include "runner/executor.h"

namespace dynfault::runner {

/// Keeps the last `limit` bytes of a worker's standard error for crash reports.
struct Tail {
  std::string text;
  void add(const char* p, size_t n, size_t limit = 4000);
  std::string last_lines(int lines) const;
};

struct Worker {
  pid_t pid = -1;
  int in = -1;   // the coordinator writes requests
  int out = -1;  // the coordinator reads replies
  int err = -1;  // the coordinator reads diagnostics
  std::string out_buf;
  Tail err_tail;
  std::optional<db::RunRow> run;   // the run in flight
  double started = 0;              // monotonic start of the run in flight
  double deadline = 0;             // monotonic SIGKILL time, 0 = none
  int exit_status = 0;             // waitpid status once reaped
  int64_t oom_kills_at_start = 0;  // the kernel's OOM kill count when the run was dispatched
  std::string numeric;             // the numeric environment it was started in (JSON)
};

/// Starts `dynfault worker` for the database and options of `o` in `numeric`, with its standard
/// streams on pipes (the coordinator's ends non-blocking for reading) and SIGINT and SIGTERM
/// blocked. Throws dynfault::Error when it cannot be started.
Worker spawn_worker(const ExecuteOptions& o, const NumericEnv& numeric);

/// Reaps a worker (SIGKILL first when `kill_first`), keeping the rest of its standard error in
/// its tail and closing its pipes; returns how it ended ("killed by signal 9 (Killed)").
std::string reap(Worker& w, bool kill_first);

/// Closes `fd` when open and sets it to -1.
void close_fd(int& fd);

/// Writes all of `s` to `fd`; false when the other end is gone.
bool write_all(int fd, const std::string& s);

/// The kernel's count of OOM kills since boot (/proc/vmstat oom_kill), -1 when unknown.
int64_t oom_kill_count();

/// True when a worker that died of `status` was ended from outside dynfault (kill -9, a
/// cluster's preemption, a signal meant for someone else) rather than by its run: the signals
/// a run raises itself are SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP and SIGSYS. A
/// SIGKILL while the kernel's OOM killer was at work counts as the run's own (it used too much
/// memory), so that such a run is not retried without end.
bool killed_from_outside(int status, bool oom_kill_seen);

}  // namespace dynfault::runner
