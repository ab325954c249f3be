// The messages between the coordinator of `dynfault run` and its workers
// (runner/worker_message.h): every message decodes to what was encoded, and a malformed line is
// refused with a message that quotes it and says what is wrong.
#include <doctest/doctest.h>

#include <string>

#include "common/check.h"
#include "runner/worker_message.h"
#include "tests/test_check.h"

using namespace dynfault;
using dynfault::test::error_of;
using runner::RunRequest;
using runner::WorkerReply;

namespace {

const std::string kUuid = "0123456789abcdef0123456789abcdef";

/// The message of the dynfault::Error `f` throws ("" when it throws none).
}  // namespace

TEST_CASE("worker message: a run request round-trips") {
  const RunRequest request{kUuid};
  const std::string line = runner::encode(request);
  CHECK(line == "RUN " + kUuid + "\n");
  CHECK(runner::is_run_request(line));
  CHECK_FALSE(runner::is_worker_reply(line));
  CHECK(runner::decode_run_request(line) == request);
  // Read by std::getline, the line arrives without its '\n'.
  CHECK(runner::decode_run_request(line.substr(0, line.size() - 1)) == request);
}

TEST_CASE("worker message: a reply round-trips, an empty outcome as '-'") {
  for (const WorkerReply& reply :
       {WorkerReply{kUuid, "FINISHED", "completed"}, WorkerReply{kUuid, "FINISHED", "diverged"},
        WorkerReply{kUuid, "FAILED", "exception"}, WorkerReply{kUuid, "FAILED", ""}}) {
    CAPTURE(reply.outcome);
    const std::string line = runner::encode(reply);
    CHECK(line.back() == '\n');
    CHECK(runner::is_worker_reply(line));
    CHECK(runner::decode_worker_reply(line) == reply);
  }
  CHECK(runner::encode(WorkerReply{kUuid, "FINISHED", "nan_loss"}) ==
        "DONE " + kUuid + " FINISHED nan_loss\n");
  CHECK(runner::encode(WorkerReply{kUuid, "FAILED", ""}) == "DONE " + kUuid + " FAILED -\n");
}

TEST_CASE("worker message: a malformed line is refused with a clear error") {
  const auto reply_error = [](const std::string& line) {
    return error_of([&] { runner::decode_worker_reply(line); });
  };
  // A field missing: the error quotes the line, counts the fields and shows the layout.
  const std::string missing = reply_error("DONE " + kUuid + " FINISHED");
  CHECK(missing.find("malformed worker message 'DONE " + kUuid + " FINISHED'") !=
        std::string::npos);
  CHECK(missing.find("2 fields after DONE, not 3") != std::string::npos);
  CHECK(missing.find("DONE <run id> <status> <outcome>") != std::string::npos);
  // One too many, an empty field, another word, nothing at all.
  CHECK(reply_error("DONE " + kUuid + " FINISHED completed extra").find("4 fields after DONE") !=
        std::string::npos);
  CHECK(reply_error("DONE " + kUuid + "  FINISHED completed").find("an empty field") !=
        std::string::npos);
  CHECK(reply_error("DONE " + kUuid + " FINISHED completed ").find("an empty field") !=
        std::string::npos);
  CHECK(reply_error("RUN " + kUuid).find("does not start with DONE") != std::string::npos);
  CHECK(reply_error("").find("does not start with DONE") != std::string::npos);
  CHECK(reply_error("DONE").find("0 fields after DONE, not 3") != std::string::npos);
  // Requests likewise.
  const auto request_error = [](const std::string& line) {
    return error_of([&] { runner::decode_run_request(line); });
  };
  CHECK(request_error("RUN").find("0 fields after RUN, not 1") != std::string::npos);
  CHECK(request_error("RUN a b").find("2 fields after RUN, not 1") != std::string::npos);
  CHECK(request_error("DONE " + kUuid).find("does not start with RUN") != std::string::npos);
  // Lines that are no message at all are told apart before decoding.
  CHECK_FALSE(runner::is_worker_reply("loading data..."));
  CHECK_FALSE(runner::is_run_request("RUNNING"));
}

TEST_CASE("worker message: a field that cannot be written is refused") {
  CHECK(error_of([] { runner::encode(RunRequest{""}); }).find("the run id must be non-empty") !=
        std::string::npos);
  CHECK(error_of([] {
          runner::encode(WorkerReply{kUuid, "FINISHED", "two words"});
        }).find("the outcome must be non-empty without spaces") != std::string::npos);
  CHECK(error_of([] {
          runner::encode(WorkerReply{kUuid, "", "completed"});
        }).find("the status must be non-empty") != std::string::npos);
  CHECK(error_of([] { runner::encode(RunRequest{"a\nb"}); }).find("line breaks") !=
        std::string::npos);
}
