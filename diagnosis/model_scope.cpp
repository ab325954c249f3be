#include "diagnosis/model_scope.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "db/store.h"
#include "diagnosis/ladder.h"
#include "diagnosis/model_scope_io.h"
#include "diagnosis/preprocess.h"

namespace dynfault::diagnosis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string compact_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// RMS over the features both rows have; NaN when they share none.
double rms_distance(const double* a, const double* b, size_t d) {
  double sum = 0;
  size_t n = 0;
  for (size_t j = 0; j < d; ++j) {
    if (std::isnan(a[j]) || std::isnan(b[j])) continue;
    const double diff = a[j] - b[j];
    sum += diff * diff;
    ++n;
  }
  return n > 0 ? std::sqrt(sum / static_cast<double>(n)) : kNaN;
}

// Ladder position of a stored protocol: the rungs bottom to top (ladder.h), the protocols of
// evaluations stored before the ladder (within ~ random, heldout ~ program) at theirs; -1 for
// rows that are no score of one protocol (paired losses "loss/...", comparisons "paired/...",
// the old "gap").
int ladder_position(const std::string& protocol) {
  const std::vector<std::string> rungs = rung_names();
  const std::string as_rung = protocol == "within"    ? "random"
                              : protocol == "heldout" ? "program"
                                                      : protocol;
  const auto it = std::find(rungs.begin(), rungs.end(), as_rung);
  return it == rungs.end() ? -1 : static_cast<int>(it - rungs.begin());
}

std::vector<ProtocolScore> stored_scores(const db::Store& store, const std::string& task,
                                         const std::string& feature_set,
                                         const std::string& diagnoser, std::string& id) {
  // The latest evaluation that scored this (task, feature set, diagnoser): rows come in
  // insertion order, so the last matching id wins and only its rows are kept.
  std::map<std::string, std::vector<ProtocolScore>> by_id;
  for (const auto& row : store.evaluation("")) {
    if (row.task != task || row.feature_set != feature_set || row.diagnoser != diagnoser ||
        row.metric != "balanced_accuracy" || ladder_position(row.protocol) < 0)
      continue;
    id = row.evaluation_id;
    by_id[id].push_back(ProtocolScore{row.protocol, row.value, row.ci_low, row.ci_high, row.n});
  }
  std::vector<ProtocolScore> out = id.empty() ? std::vector<ProtocolScore>{} : by_id[id];
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return ladder_position(a.protocol) < ladder_position(b.protocol);
  });
  return out;
}

}  // namespace

std::string fault_setting(const std::string& faults_json) {
  if (faults_json.empty() || faults_json == "[]") return "clean";
  const auto j = nlohmann::json::parse(faults_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.empty()) return "clean";
  std::string out;
  for (const auto& f : j) {
    std::string s = f.value("mutator", std::string("?"));
    if (f.contains("params") && f["params"].is_object())
      for (const auto& [k, v] : f["params"].items())
        s += " " + k + "=" + (v.is_number() ? compact_number(v.get<double>()) : v.dump());
    out += (out.empty() ? "" : " + ") + s;
  }
  return out;
}

TrainingScope build_scope(const db::Store& store, const std::vector<db::RunSpec>& runs,
                          const std::vector<std::string>& labels, const std::vector<double>& matrix,
                          size_t cols, const std::string& task, const std::string& feature_set,
                          const std::string& diagnoser) {
  TrainingScope s;
  s.known = true;
  const size_t n = runs.size();
  for (size_t i = 0; i < n; ++i) {
    const db::RunSpec& r = runs[i];
    ++s.settings[labels[i]][fault_setting(r.faults_json)];
    ++s.programs[r.program];
    ++s.families[r.family];
    const auto recipe = nlohmann::json::parse(r.recipe_json, nullptr, false);
    std::string kind = "unknown";
    if (recipe.is_object() && recipe.contains("provenance") && recipe["provenance"].is_object())
      kind = recipe["provenance"].value("kind", kind);
    ++s.data_kinds[kind];
  }
  s.coverage.assign(cols, 0);
  s.centre.assign(cols, 0);
  s.spread.assign(cols, 1);
  for (size_t j = 0; j < cols; ++j) {
    std::vector<double> v;
    for (size_t i = 0; i < n; ++i)
      if (std::isfinite(matrix[i * cols + j])) v.push_back(matrix[i * cols + j]);
    s.coverage[j] = n > 0 ? static_cast<double>(v.size()) / static_cast<double>(n) : 0;
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    s.centre[j] = quantile_sorted(v, 0.5);
    double mean = 0, ss = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    for (double x : v) ss += (x - mean) * (x - mean);
    const double sd = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0;
    s.spread[j] = sd > 0 && std::isfinite(sd) ? sd : 1;
  }
  // z values of every training trace, then the reference sample and its LOO distances.
  std::vector<double> z(n * cols);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < cols; ++j) {
      const double x = matrix[i * cols + j];
      z[i * cols + j] = std::isfinite(x) ? (x - s.centre[j]) / s.spread[j] : kNaN;
    }
  const size_t step = std::max<size_t>(1, (n + kReferenceRows - 1) / kReferenceRows);
  std::vector<size_t> ref;
  for (size_t i = 0; i < n; i += step) ref.push_back(i);
  s.reference_rows = static_cast<int64_t>(ref.size());
  for (size_t r : ref) s.reference.insert(s.reference.end(), &z[r * cols], &z[r * cols] + cols);
  std::vector<double> nn;
  for (size_t i = 0; i < n; ++i) {
    double best = kNaN;
    for (size_t r : ref) {
      if (r == i) continue;  // leave the trace itself out
      const double d = rms_distance(&z[i * cols], &z[r * cols], cols);
      if (!std::isnan(d) && (std::isnan(best) || d < best)) best = d;
    }
    if (!std::isnan(best)) nn.push_back(best);
  }
  std::sort(nn.begin(), nn.end());
  s.nn_p95 = nn.empty() ? kNaN : quantile_sorted(nn, 0.95);
  s.nn_p99 = nn.empty() ? kNaN : quantile_sorted(nn, 0.99);
  s.evaluated = stored_scores(store, task, feature_set, diagnoser, s.evaluation_id);
  return s;
}

std::string scope_line(const TrainingScope& s, int64_t traces) {
  if (!s.known) return "training scope not recorded (a model file of format 1)";
  std::set<std::string> settings;
  for (const auto& [cls, m] : s.settings)
    for (const auto& [setting, count] : m)
      if (setting != "clean") settings.insert(setting);
  std::string line =
      "trained on " + std::to_string(settings.size()) + " operator setting" +
      (settings.size() == 1 ? "" : "s") + " over " + std::to_string(s.programs.size()) +
      " program" + (s.programs.size() == 1 ? "" : "s") + " (" + std::to_string(s.families.size()) +
      " families, " + std::to_string(s.data_kinds.size()) + " data kinds), " +
      std::to_string(traces) + " traces";
  if (s.class_weight != "none") line += ", class weight " + s.class_weight;
  if (s.effective_only) line += ", effective faults only";
  return line;
}

ScopeCheck check_scope(const TrainingScope& s, const std::vector<std::string>& names,
                       const std::vector<double>& values, const db::Trace& trace) {
  ScopeCheck c;
  c.nn_distance = kNaN;
  if (!s.known) return c;
  const size_t d = values.size();
  if (s.reference_rows > 0 && s.centre.size() == d) {
    std::vector<double> z(d);
    for (size_t j = 0; j < d; ++j)
      z[j] = std::isfinite(values[j]) ? (values[j] - s.centre[j]) / s.spread[j] : kNaN;
    for (int64_t r = 0; r < s.reference_rows; ++r) {
      const double dist =
          rms_distance(z.data(), s.reference.data() + static_cast<size_t>(r) * d, d);
      if (!std::isnan(dist) && (std::isnan(c.nn_distance) || dist < c.nn_distance))
        c.nn_distance = dist;
    }
    if (std::isfinite(s.nn_p99) && c.nn_distance > s.nn_p99)
      c.reasons.push_back("its features lie far from every training trace (distance " +
                          compact_number(c.nn_distance) + " > " + compact_number(s.nn_p99) +
                          ", the 99th percentile of the training traces' own)");
  }
  for (size_t j = 0; j < d && j < s.coverage.size(); ++j)
    if (s.coverage[j] >= kUsuallyPresent && !std::isfinite(values[j]))
      c.missing_always_present.push_back(names[j]);
  if (!c.missing_always_present.empty() && c.missing_always_present.size() * 4 >= d)
    c.reasons.push_back(std::to_string(c.missing_always_present.size()) +
                        " features that at least 95% of the training traces had are missing");
  if (!trace.family.empty() && !s.families.count(trace.family))
    c.reasons.push_back("its family '" + trace.family + "' was never seen in training");
  c.program_seen = !trace.program.empty() && s.programs.count(trace.program) > 0;
  c.out_of_distribution = !c.reasons.empty();
  return c;
}

}  // namespace dynfault::diagnosis

// --- the model file record (model_scope_io.h) ---------------------------------------------------

namespace dynfault::diagnosis {
namespace {

using Json = nlohmann::json;

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }
double number_of(const Json& j) { return j.is_number() ? j.get<double>() : kNaN; }

}  // namespace

std::string scope_to_text(const TrainingScope& s) {
  Json j;
  j["settings"] = s.settings;
  j["programs"] = s.programs;
  j["families"] = s.families;
  j["data_kinds"] = s.data_kinds;
  j["coverage"] = s.coverage;
  j["centre"] = s.centre;
  j["spread"] = s.spread;
  std::string ref;
  char buf[32];
  for (double v : s.reference) {
    if (std::isnan(v)) {
      ref += ref.empty() ? "nan" : " nan";
      continue;
    }
    std::snprintf(buf, sizeof buf, "%.7g", v);
    ref += (ref.empty() ? "" : " ") + std::string(buf);
  }
  j["reference_rows"] = s.reference_rows;
  j["reference"] = ref;
  j["nn_p95"] = number_or_null(s.nn_p95);
  j["nn_p99"] = number_or_null(s.nn_p99);
  j["evaluation_id"] = s.evaluation_id;
  Json scores = Json::array();
  for (const auto& e : s.evaluated)
    scores.push_back({{"protocol", e.protocol},
                      {"balanced_accuracy", number_or_null(e.balanced_accuracy)},
                      {"ci_low", number_or_null(e.ci_low)},
                      {"ci_high", number_or_null(e.ci_high)},
                      {"n", e.n}});
  j["evaluated"] = scores;
  j["class_weight"] = s.class_weight;
  j["effective_only"] = s.effective_only;
  return j.dump();
}

TrainingScope scope_from_text(const std::string& text, size_t dims, const std::string& who) {
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw Error(who + ": the 'scope' record is not a JSON object");
  try {
    TrainingScope s;
    s.known = true;
    s.settings = j.at("settings").get<decltype(s.settings)>();
    s.programs = j.at("programs").get<decltype(s.programs)>();
    s.families = j.at("families").get<decltype(s.families)>();
    s.data_kinds = j.at("data_kinds").get<decltype(s.data_kinds)>();
    s.coverage = j.at("coverage").get<std::vector<double>>();
    s.centre = j.at("centre").get<std::vector<double>>();
    s.spread = j.at("spread").get<std::vector<double>>();
    s.reference_rows = j.at("reference_rows").get<int64_t>();
    std::istringstream ref(j.at("reference").get<std::string>());
    for (std::string cell; ref >> cell;) s.reference.push_back(std::strtod(cell.c_str(), nullptr));
    s.nn_p95 = number_of(j.at("nn_p95"));
    s.nn_p99 = number_of(j.at("nn_p99"));
    s.evaluation_id = j.at("evaluation_id").get<std::string>();
    for (const auto& e : j.at("evaluated"))
      s.evaluated.push_back(ProtocolScore{
          e.at("protocol").get<std::string>(), number_of(e.at("balanced_accuracy")),
          number_of(e.at("ci_low")), number_of(e.at("ci_high")), e.at("n").get<int64_t>()});
    s.class_weight = j.at("class_weight").get<std::string>();
    s.effective_only = j.at("effective_only").get<bool>();
    const bool sizes = s.coverage.size() == dims && s.centre.size() == dims &&
                       s.spread.size() == dims && s.reference_rows >= 0 &&
                       s.reference.size() == static_cast<size_t>(s.reference_rows) * dims;
    if (!sizes) throw Error("sizes do not match the model's " + std::to_string(dims) + " features");
    return s;
  } catch (const std::exception& e) {
    throw Error(who + ": damaged 'scope' record: " + e.what());
  }
}

std::string held_out_consequence(const TrainingScope& scope) {
  // The rungs that hold out what an out-of-distribution trace brings new: its fault (operator)
  // and its program; "heldout" is the program rung of evaluations stored before the ladder.
  std::string out;
  for (const char* rung : {"fault", "program", "heldout"})
    for (const auto& e : scope.evaluated)
      if (e.protocol == rung && std::isfinite(e.balanced_accuracy)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", e.balanced_accuracy);
        out += (out.empty() ? "" : " next to ") +
               std::string(e.protocol == "heldout" ? "program" : e.protocol) + "-held-out " + buf;
      }
  return out;
}

}  // namespace dynfault::diagnosis
