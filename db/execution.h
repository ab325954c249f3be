#pragma once
/// How the runs of a campaign were executed, summarised from the records of schema 2 (the
/// campaign row's numeric environment and libraries, each run's db::RunExecution): what
/// `dynfault status` and the report show, so that a corpus says whether its traces can be
/// regenerated bit for bit and where they cannot.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "db/store.h"

namespace dynfault::db {

struct ExecutionSummary {
  std::string campaign;
  /// The campaign's recorded numeric environment as "key value, ..." text; "" = not recorded
  /// (planned before schema 2).
  std::string environment;
  std::string libraries;  ///< the planning build's library versions as text; "" = not recorded
  int64_t finished = 0;   ///< runs with a stored trace
  int64_t recorded = 0;   ///< of these: with an execution record
  /// Of `recorded`: computed in another environment than the campaign's (run
  /// --allow-numeric-change), or with other library versions than the planning build's.
  int64_t other_environment = 0;
  int64_t other_libraries = 0;
  std::map<std::string, int64_t> cpus;  ///< CPU model -> recorded runs that ran on it
};

/// One summary per campaign (`campaign`, or all when ""), in the order of Store::campaigns().
std::vector<ExecutionSummary> execution_summaries(const Store& store,
                                                  const std::string& campaign = "");

/// A JSON object as "key value, key value" (sorted keys; nested objects in braces) for
/// messages and reports; the text itself when it is not a JSON object.
std::string json_as_text(const std::string& json);

}  // namespace dynfault::db
