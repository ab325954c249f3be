#include "runner/worker.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "common/check.h"
#include "common/clock.h"
#include "db/store.h"
#include "runner/campaign.h"
#include "runner/executor.h"
#include "runner/numeric_libraries.h"
#include "runner/trainer.h"
#include "runner/worker_message.h"

// The body of `dynfault worker` (runner/worker.h): it answers the coordinator's requests in the
// format of runner/worker_message.h.
namespace dynfault::runner {
namespace {

/// The DYNFAULT_TEST_CRASH_RUN hook (see worker_main in runner/worker.h): dies as asked when `uuid`
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

/// Makes this process a worker of the coordinator that started it: it dies with it and leaves
/// SIGINT and SIGTERM to it. False when that coordinator is gone already.
bool attach_to_coordinator() {
  // A worker never outlives its coordinator: an orphan would race the next coordinator.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The coordinator may have died before the line above took effect: we are an orphan already.
  const char* coordinator = std::getenv("DYNFAULT_COORDINATOR_PID");
  if (coordinator ? std::to_string(::getppid()) != coordinator : ::getppid() == 1) return false;
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
  return true;
}

/// Trains the runs of one database as a worker started with `options` was asked to.
class RunTrainer {
 public:
  RunTrainer(const WorkerOptions& options, db::Store& store, std::string effective_json,
             std::string libraries)
      : o_(options),
        store_(store),
        effective_(std::move(effective_json)),
        libraries_(std::move(libraries)) {}

  /// The result of `row` with how it was executed: trained, or FAILED with the reason when its
  /// recipe or its campaign's probe configuration is invalid (nothing was trained then).
  db::RunResult train(const db::RunRow& row) {
    TrainOptions to;
    to.timeout_s = row.spec.timeout_s;
    to.probes = o_.probes;
    to.max_steps = o_.max_steps;
    to.threads = o_.numeric.intra_op_threads;
    const int64_t start = unix_ms();
    db::RunResult res;
    db::RunExecution execution;
    try {
      if (to.probes) to.probe = probes_of(row.spec.campaign);
      execution = execution_record(o_.max_steps, probes_record(to.probes, to.probe), o_.numeric,
                                   effective_, libraries_);
      res = train_spec(row.spec, to);
    } catch (const std::exception& e) {
      res = db::RunResult{};
      res.status = "FAILED";
      res.outcome = "exception";
      res.error = e.what();
    }
    res.run_uuid = row.spec.run_uuid;
    res.execution = execution.recorded()
                        ? execution
                        : execution_record(o_.max_steps, "", o_.numeric, effective_, libraries_);
    if (res.start_time == 0) res.start_time = start;
    if (res.end_time == 0) res.end_time = unix_ms();
    return res;
  }

 private:
  /// The probe configuration travels in the campaign's stored text (not in the run spec: probes
  /// never change training, so they are no part of the run id); read once per campaign.
  const ProbeOptions& probes_of(const std::string& campaign) {
    auto it = probe_options_.find(campaign);
    if (it != probe_options_.end()) return it->second;
    const auto text = store_.campaign_config(campaign);
    ProbeOptions po;
    if (text) po = probe_options_of_campaign(*text, o_.db_path + ": campaign '" + campaign + "'");
    return probe_options_.emplace(campaign, po).first->second;
  }

  const WorkerOptions& o_;
  db::Store& store_;
  const std::string effective_;
  const std::string libraries_;
  std::map<std::string, ProbeOptions> probe_options_;
};

}  // namespace

int worker_main(const WorkerOptions& o) {
  if (!attach_to_coordinator()) return 1;
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
  RunTrainer trainer(o, store, effective, library_versions_json());
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!is_run_request(line)) continue;
    RunRequest request;
    try {
      request = decode_run_request(line);
    } catch (const Error& e) {
      std::cerr << "worker: " << e.what() << '\n';
      continue;
    }
    const auto row = store.run(request.run_uuid);
    if (!row) {
      std::cerr << "worker: unknown run " << request.run_uuid << '\n';
      continue;
    }
    simulate_crash_if_asked(request.run_uuid);
    const db::RunResult res = trainer.train(*row);
    try {
      store.write_result(res);
    } catch (const std::exception& e) {
      // Disk full or file gone read-only: the coordinator stops the campaign with these lines;
      // the run stays RUNNING and is requeued by the next invocation.
      std::cerr << "worker: cannot store the result of run " << res.run_uuid << ": " << e.what()
                << '\n';
      return kExitStoreFailed;
    }
    std::cout << encode(WorkerReply{res.run_uuid, res.status, res.outcome}) << std::flush;
  }
  return 0;
}

}  // namespace dynfault::runner
