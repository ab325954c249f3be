#include "runner/worker_message.h"

#include <utility>
#include <vector>

#include "common/check.h"

namespace dynfault::runner {
namespace {

constexpr const char* kRun = "RUN";
constexpr const char* kDone = "DONE";

/// `word` and `fields`, one space apart, '\n' ended; throws naming the empty or unwritable field.
std::string line_of(const char* word,
                    const std::vector<std::pair<const char*, std::string>>& fields) {
  std::string line = word;
  for (const auto& [name, value] : fields) {
    DYNFAULT_CHECK(!value.empty() && value.find_first_of(" \n\r") == std::string::npos,
                   "worker message ", word, ": the ", name,
                   " must be non-empty without spaces or line breaks, got '", value, "'");
    line += ' ' + value;
  }
  return line + '\n';
}

/// The fields of `line` after its word, which must be `word` followed by exactly `count` fields.
std::vector<std::string> fields_of(const char* word, std::string line, size_t count,
                                   const char* layout) {
  if (!line.empty() && line.back() == '\n') line.pop_back();
  const auto malformed = [&](const std::string& why) {
    return Error("malformed worker message '" + line + "': " + why + " (expected '" + layout +
                 "')");
  };
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t space = line.find(' ', start);
    parts.push_back(line.substr(start, space - start));
    if (space == std::string::npos) break;
    start = space + 1;
  }
  if (parts[0] != word) throw malformed("it does not start with " + std::string(word));
  for (const auto& p : parts)
    if (p.empty()) throw malformed("an empty field (two spaces, or one at an end)");
  if (parts.size() != count + 1)
    throw malformed(std::to_string(parts.size() - 1) + " fields after " + word + ", not " +
                    std::to_string(count));
  parts.erase(parts.begin());
  return parts;
}

}  // namespace

std::string encode(const RunRequest& request) {
  return line_of(kRun, {{"run id", request.run_uuid}});
}

std::string encode(const WorkerReply& reply) {
  return line_of(kDone, {{"run id", reply.run_uuid},
                         {"status", reply.status},
                         {"outcome", reply.outcome.empty() ? "-" : reply.outcome}});
}

bool is_run_request(const std::string& line) { return line.rfind("RUN ", 0) == 0; }
bool is_worker_reply(const std::string& line) { return line.rfind("DONE ", 0) == 0; }

RunRequest decode_run_request(const std::string& line) {
  const auto f = fields_of(kRun, line, 1, "RUN <run id>");
  return RunRequest{f[0]};
}

WorkerReply decode_worker_reply(const std::string& line) {
  const auto f = fields_of(kDone, line, 3, "DONE <run id> <status> <outcome>");
  return WorkerReply{f[0], f[1], f[2] == "-" ? "" : f[2]};
}

}  // namespace dynfault::runner
