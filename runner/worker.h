#pragma once
/// The worker side of `dynfault run`: the process that trains the runs the coordinator
/// (runner/executor.h, torch-free) hands it. It trains, so it is part of dynfault::runner.
#include <cstdint>
#include <string>

#include "runner/executor.h"
#include "runner/numeric.h"

namespace dynfault::runner {

struct WorkerOptions {
  std::string db_path;
  /// false records loss curves only; true applies each run's campaign `probes:` configuration.
  bool probes = true;
  int64_t max_steps = 0;
  /// The numeric environment the coordinator started this worker in (`worker --numeric JSON`).
  NumericEnv numeric;
};

/// Body of `dynfault worker`: puts `numeric` into effect (exit kExitNumericEnv, with the reason
/// on standard error, when the libraries did not take it), then reads "RUN <uuid>" lines on
/// stdin, trains, stores the result with how it was executed, answers "DONE <uuid> <status>
/// <outcome>" on stdout (runner/worker_message.h); exits 0 at end of input.
///
/// Debugging and tests: the environment variable `DYNFAULT_TEST_CRASH_RUN=<id>:<how>[,...]`
/// makes the worker die in each run whose id starts with `<id>`, before training, where `<how>`
/// is `segv` (SIGSEGV), `abort` (SIGABRT), `hang` (sleeps until the coordinator's deadline
/// kills it) or `kill` (SIGKILL, as `kill -9` or a cluster's preemption would); the worker
/// first writes one line about it to its standard error.
int worker_main(const WorkerOptions& options);

}  // namespace dynfault::runner
