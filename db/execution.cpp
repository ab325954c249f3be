#include "db/execution.h"

#include <nlohmann/json.hpp>

namespace dynfault::db {
namespace {

using Json = nlohmann::json;

std::string text_of(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (!j.is_object()) return j.dump();
  std::string out;
  for (const auto& [k, v] : j.items())
    out +=
        (out.empty() ? "" : ", ") + k + " " + (v.is_object() ? "{" + text_of(v) + "}" : text_of(v));
  return out;
}

/// The "requested" environment of a run's record, as the canonical JSON the campaign row holds.
std::string requested_of(const std::string& numeric) {
  try {
    const Json j = Json::parse(numeric);
    return j.contains("requested") ? j["requested"].dump() : "";
  } catch (const Json::exception&) {
    return "";
  }
}

}  // namespace

std::string json_as_text(const std::string& json) {
  try {
    return text_of(Json::parse(json));
  } catch (const Json::exception&) {
    return json;
  }
}

std::vector<ExecutionSummary> execution_summaries(const Store& store, const std::string& campaign) {
  std::vector<ExecutionSummary> out;
  for (const auto& name : store.campaigns()) {
    if (!campaign.empty() && name != campaign) continue;
    ExecutionSummary s;
    s.campaign = name;
    const auto numeric = store.campaign_numeric(name);
    const std::string env = numeric ? numeric->numeric_json : "";
    const std::string libs = numeric ? numeric->libraries_json : "";
    s.environment = env.empty() ? "" : json_as_text(env);
    s.libraries = libs.empty() ? "" : json_as_text(libs);
    for (const auto& r : store.runs(RunFilter{name, "FINISHED"})) {
      ++s.finished;
      if (!r.execution.recorded()) continue;
      ++s.recorded;
      ++s.cpus[r.execution.cpu];
      if (!env.empty() && requested_of(r.execution.numeric) != env) ++s.other_environment;
      if (!libs.empty() && r.execution.libraries != libs) ++s.other_libraries;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace dynfault::db
