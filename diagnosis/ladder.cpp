#include "diagnosis/ladder.h"

#include <nlohmann/json.hpp>
#include <set>

#include "common/check.h"
#include "db/trace.h"

namespace dynfault::diagnosis {
namespace {

using nlohmann::json;

std::string canonical_faults(const std::string& faults_json) {
  if (faults_json.empty()) return "[]";
  const json f = json::parse(faults_json, nullptr, /*allow_exceptions=*/false);
  // nlohmann's objects are sorted maps: dump() is canonical whatever the key order written.
  return f.is_discarded() ? faults_json : f.dump();
}

// The injected faults as operator and parameters only: the record's "change" text names the
// program's own values ("optimizer.lr: 0.01 -> 1.0"), so it would make every value per program.
std::string fault_values(const std::string& faults_json) {
  const json f = json::parse(faults_json.empty() ? "[]" : faults_json, nullptr, false);
  if (!f.is_array()) return canonical_faults(faults_json);
  json out = json::array();
  for (const auto& e : f)
    out.push_back(e.is_object() ? json{{"mutator", e.value("mutator", "")},
                                       {"params", e.value("params", json::object())}}
                                : e);
  return out.dump();
}

// The operator ids of a run: fault_ids, else the mutators named in faults_json.
std::string operators_of(const db::RunSpec& spec) {
  if (!spec.fault_ids.empty()) return spec.fault_ids;
  const json f = json::parse(spec.faults_json.empty() ? "[]" : spec.faults_json, nullptr, false);
  std::string out;
  if (f.is_array())
    for (const auto& e : f)
      if (e.is_object() && e.contains("mutator") && e["mutator"].is_string())
        out += (out.empty() ? "" : "+") + e["mutator"].get<std::string>();
  return out;
}

std::string dataset_of(const db::RunSpec& spec) {
  const json r = json::parse(spec.recipe_json.empty() ? "{}" : spec.recipe_json, nullptr, false);
  if (r.is_object() && r.contains("data") && r["data"].is_object()) {
    const json& d = r["data"];
    if (d.contains("name") && d["name"].is_string() && !d["name"].get<std::string>().empty())
      return d["name"].get<std::string>();
  }
  return "program:" + spec.program;  // unknown: the program is its own data set
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

void TraceGroups::add(const db::RunSpec& spec) {
  const std::string faults = canonical_faults(spec.faults_json);
  const std::string config = spec.program + "|" + faults;
  const std::string ops = faults == "[]" ? "" : operators_of(spec);
  program.push_back(spec.program);
  configuration.push_back(config);
  value.push_back(faults == "[]" ? config : fault_values(spec.faults_json));
  // A clean run has no operator: it stays with its own clean configuration, so that holding out
  // an operator never holds out every clean run (an operator id never contains '|').
  fault.push_back(ops.empty() ? config : ops);
  dataset.push_back(dataset_of(spec));
}

const std::vector<std::string>& TraceGroups::by(const std::string& name) const {
  if (name == "program") return program;
  if (name == "configuration") return configuration;
  if (name == "value") return value;
  if (name == "fault") return fault;
  if (name == "dataset") return dataset;
  throw Error("TraceGroups: unknown grouping '" + name +
              "' (known: program, configuration, value, fault, dataset)");
}

TraceGroups TraceGroups::take(const std::vector<size_t>& idx) const {
  TraceGroups out;
  for (size_t i : idx) {
    DYNFAULT_CHECK(i < size(), "TraceGroups::take(): trace ", i, " of ", size());
    out.program.push_back(program[i]);
    out.configuration.push_back(configuration[i]);
    out.value.push_back(value[i]);
    out.fault.push_back(fault[i]);
    out.dataset.push_back(dataset[i]);
  }
  return out;
}

const std::vector<Rung>& ladder_rungs() {
  static const std::vector<Rung> kRungs = {
      {"random", "", "traces", false},
      {"config", "configuration", "configurations", false},
      {"value", "value", "fault values", true},
      {"fault", "fault", "operators", true},
      {"program", "program", "programs", true},
      {"dataset", "dataset", "data sets", true},
  };
  return kRungs;
}

std::vector<std::string> rung_names() {
  std::vector<std::string> out;
  for (const auto& r : ladder_rungs()) out.push_back(r.name);
  return out;
}

const Rung& rung(const std::string& name) {
  for (const auto& r : ladder_rungs())
    if (r.name == name) return r;
  throw Error("unknown protocol '" + name + "' (known: " + join(rung_names()) + ")");
}

size_t rung_groups(const Rung& r, const TraceGroups& g) {
  if (r.grouping.empty()) return g.size();
  const auto& groups = g.by(r.grouping);
  return std::set<std::string>(groups.begin(), groups.end()).size();
}

std::vector<Fold> rung_folds(const Rung& r, const Labels& y, const TraceGroups& g,
                             const RungOptions& o) {
  DYNFAULT_CHECK(y.size() == g.size(), "rung_folds(): ", y.size(), " labels, ", g.size(),
                 " traces");
  DYNFAULT_CHECK(y.size() >= 2, "protocol '", r.name, "': needs at least 2 traces, found ",
                 y.size());
  if (r.grouping.empty()) return stratified_kfold(y, o.k, o.seed);
  const auto& groups = g.by(r.grouping);
  const size_t n = rung_groups(r, g);
  DYNFAULT_CHECK(n >= 2, "protocol '", r.name, "': needs at least 2 ", r.unit,
                 " to hold one out, found ", n, n == 1 ? " (" + groups.front() + ")" : "");
  if (!r.leave_one_out) return group_kfold(groups, o.k, o.seed);
  return o.group_k <= 0 ? leave_one_group_out(groups) : group_kfold(groups, o.group_k, o.seed);
}

int64_t unseen_class_traces(const std::vector<Fold>& folds, const Labels& y) {
  int64_t n = 0;
  for (const auto& f : folds) {
    std::set<std::string> seen;
    for (size_t i : f.train) seen.insert(y[i]);
    for (size_t i : f.test) n += seen.count(y[i]) ? 0 : 1;
  }
  return n;
}

std::string describe_rung(const Rung& r, const RungOptions& o, size_t folds) {
  const std::string count = " (" + std::to_string(folds) + " folds)";
  if (r.grouping.empty()) return "stratified " + std::to_string(o.k) + "-fold over traces";
  std::string unit = r.unit.substr(0, r.unit.size() - 1);  // singular
  if (r.name == "fault") unit = "operator";
  if (r.name == "value") unit = "fault value";
  if (r.name == "dataset") unit = "data set";
  if (!r.leave_one_out || o.group_k > 0) return "k-fold by " + unit + count;
  return "leave one " + unit + " out" + count;
}

}  // namespace dynfault::diagnosis
