#pragma once
/// The messages between the coordinator of `dynfault run` and its `dynfault worker` processes
/// (runner/executor.h). Torch-free.
///
/// Each message is one line of text, fields separated by single spaces, ended by '\n'; no field
/// is empty or holds a space or a line break:
///
///   coordinator -> worker (the worker's standard input):   RUN <run id>
///   worker -> coordinator (the worker's standard output):  DONE <run id> <status> <outcome>
///
/// A worker answers each RUN with one DONE once the run's result is stored: <status> is the
/// stored status (FINISHED, or FAILED for a recipe that could not be trained), <outcome> the
/// stored outcome or "-" when it has none. Lines that do not start with the message's word are
/// no message (a library may print to standard output) and are ignored by the receiver. The end
/// of the worker's input asks it to exit (status 0); its other exit statuses are
/// kExitNumericEnv (runner/executor.h) and kExitStoreFailed below.
#include <string>

namespace dynfault::runner {

/// A worker's exit status when it could not store a result (disk full, file made read-only):
/// the database, not the run, failed, so the run is not charged with a crash.
inline constexpr int kExitStoreFailed = 75;  // EX_TEMPFAIL

/// "RUN <run id>": train and store this run.
struct RunRequest {
  std::string run_uuid;
  bool operator==(const RunRequest& o) const { return run_uuid == o.run_uuid; }
};

/// "DONE <run id> <status> <outcome>": the run's result is stored.
struct WorkerReply {
  std::string run_uuid;
  std::string status;   ///< FINISHED or FAILED
  std::string outcome;  ///< "" = none (written "-")
  bool operator==(const WorkerReply& o) const {
    return run_uuid == o.run_uuid && status == o.status && outcome == o.outcome;
  }
};

/// The line of a message, '\n' included. Throws dynfault::Error when a field cannot be written
/// (empty, or holding a space or a line break).
std::string encode(const RunRequest& request);
std::string encode(const WorkerReply& reply);

/// True when `line` (without its '\n') is meant as that message: it starts with "RUN " or
/// "DONE ". Other lines are no message.
bool is_run_request(const std::string& line);
bool is_worker_reply(const std::string& line);

/// The message of `line` (with or without its '\n'). Throws dynfault::Error quoting the line and
/// saying what is wrong (another word, a missing, extra or empty field).
RunRequest decode_run_request(const std::string& line);
WorkerReply decode_worker_reply(const std::string& line);

}  // namespace dynfault::runner
