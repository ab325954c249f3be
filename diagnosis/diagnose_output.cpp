#include "diagnosis/diagnose_output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

namespace dynfault::diagnosis {
namespace {

using Json = nlohmann::json;

std::string shown_number(double v, int precision = 4) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

std::string full_number(double v) {
  if (!std::isfinite(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string input_value(const TraceDiagnoses& d, const std::string& key) {
  for (const auto& [k, v] : d.input)
    if (k == key) return v;
  return "";
}

std::string input_line(const TraceDiagnoses& d) {
  const std::string trace = input_value(d, "trace");
  std::string out;
  if (!trace.empty()) {
    out = "trace " + trace + " (";
    const std::string format = input_value(d, "format");
    if (!format.empty() && format != "dynfault") out += format + " log, ";
    out += input_value(d, "epochs") + " epochs, outcome " + input_value(d, "outcome") + ")";
  } else {
    const std::string faults = input_value(d, "faults");
    out = "run " + input_value(d, "run") + " of " + input_value(d, "db") + " (" +
          input_value(d, "program") + ", " + (faults.empty() ? "clean" : "faults " + faults) +
          ", outcome " + input_value(d, "outcome") + ")";
  }
  return out;
}

std::string score_text(const ProtocolScore& e) {
  std::string out = e.protocol + " " + shown_number(e.balanced_accuracy, 3);
  if (std::isfinite(e.ci_low) && std::isfinite(e.ci_high))
    out += " [" + shown_number(e.ci_low, 3) + ", " + shown_number(e.ci_high, 3) + "]";
  return out;
}

/// The model's limits for this trace: its stored evaluation scores, and whether the trace lies
/// outside what it was trained on.
void scope_text(std::ostringstream& text, const SavedModel& m, const Diagnosis& dx) {
  const TrainingScope& s = m.scope;
  if (!s.evaluated.empty()) {
    text << "evaluated (balanced accuracy, dynfault evaluate):";
    for (size_t i = 0; i < s.evaluated.size(); ++i)
      text << (i ? "," : "") << ' ' << score_text(s.evaluated[i]);
    text << '\n';
  }
  if (dx.scope.out_of_distribution) {
    text << "OUT OF DISTRIBUTION: ";
    for (size_t i = 0; i < dx.scope.reasons.size(); ++i)
      text << (i ? "; " : "") << dx.scope.reasons[i];
    const std::string consequence = held_out_consequence(s);
    text << ".\n  The scores above were measured on traces like the training ones; expect at "
            "most the held-out ones"
         << (consequence.empty() ? "" : " (" + consequence + ")")
         << (s.evaluated.empty() ? " (none stored: run 'dynfault evaluate' before 'train')" : "")
         << ".\n";
  } else if (dx.scope.program_seen) {
    text << "this run's program was in the training set: the prediction is optimistic (compare "
            "the within-program score with the held-out one)\n";
  }
}

void missing_text(std::ostringstream& text, const SavedModel& m, const Diagnosis& dx) {
  if (dx.n_missing == 0) return;
  text << "missing: " << dx.n_missing << " of " << m.feature_names.size() << " features ("
       << shown_number(100 * dx.imputed_share, 3)
       << "% of the model's input) imputed with their training medians\n";
  // Which probe families would fill them (python/dynfault_recorder.py records every one).
  std::map<std::string, size_t> families;
  for (const auto& g : dx.missing_by_input)
    families[g.input.substr(0, g.input.find('/') + 1)] += g.columns.size();
  if (families.size() > 1 || dx.missing_by_input.size() > 3) {
    text << "  by series family:";
    for (const auto& [family, n] : families) text << ' ' << family << "... " << n;
    text << '\n';
  }
  for (const auto& g : dx.missing_by_input)
    text << "  add " << g.input << " to get " << g.columns.size() << " more feature"
         << (g.columns.size() == 1 ? "" : "s") << " (" << summarise_columns(g.columns) << ")\n";
  if (!dx.missing_undefined.empty())
    text << "  undefined on this trace although their inputs are there: "
         << dx.missing_undefined.size() << " (" << summarise_columns(dx.missing_undefined) << ")\n";
}

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json scope_json(const SavedModel& m) {
  const TrainingScope& s = m.scope;
  Json scores = Json::array();
  for (const auto& e : s.evaluated)
    scores.push_back({{"protocol", e.protocol},
                      {"balanced_accuracy", number_or_null(e.balanced_accuracy)},
                      {"ci_low", number_or_null(e.ci_low)},
                      {"ci_high", number_or_null(e.ci_high)},
                      {"n", e.n}});
  return {{"summary", scope_line(s, m.n_traces)},
          {"known", s.known},
          {"settings", s.settings},
          {"programs", s.programs},
          {"families", s.families},
          {"data_kinds", s.data_kinds},
          {"class_weight", s.class_weight},
          {"effective_only", s.effective_only},
          {"evaluated", scores},
          {"evaluation_id", s.evaluation_id}};
}

}  // namespace

std::string summarise_columns(const std::vector<std::string>& columns) {
  if (columns.empty()) return "";
  if (columns.size() == 1) return columns[0];
  // Columns of one statistic family share a stem: print it once.
  std::string prefix = columns[0];
  for (const auto& c : columns) {
    size_t n = 0;
    while (n < prefix.size() && n < c.size() && prefix[n] == c[n]) ++n;
    prefix.resize(n);
  }
  if (prefix.size() >= 4 && prefix.back() == '_') return prefix + "*";
  std::string out;
  for (size_t i = 0; i < columns.size() && i < 3; ++i) out += (i ? ", " : "") + columns[i];
  return columns.size() > 3 ? out + ", ..." : out;
}

std::string diagnosis_text(const std::vector<LoadedModel>& models, const TraceDiagnoses& d,
                           int top) {
  std::ostringstream text;
  text << input_line(d) << '\n';
  if (!d.error.empty()) {
    text << "error: " << d.error << '\n';
    return text.str();
  }
  for (size_t i = 0; i < models.size() && i < d.diagnoses.size(); ++i) {
    const SavedModel& m = models[i].model;
    const Diagnosis& dx = d.diagnoses[i];
    text << "\n== " << m.task << " (" << m.diagnoser->name() << " on " << m.feature_set << ", "
         << m.feature_names.size() << " features; " << models[i].path << ", trained on "
         << m.n_traces << " traces) ==\n"
         << scope_line(m.scope, m.n_traces) << '\n'
         << "predicted: " << dx.predicted << '\n';
    for (const auto& [c, p] : dx.proba)
      text << "  " << std::left << std::setw(24) << c << std::right << std::fixed
           << std::setprecision(4) << p << '\n';
    text.unsetf(std::ios::floatfield);
    if (dx.top.empty() && top > 0)
      text << "top features: none (" << dx.method
           << ": no single feature changes the predicted class's score)\n";
    if (!dx.top.empty()) {
      text << "top features (" << describe_method(dx.method) << "):\n";
      text << "  " << std::left << std::setw(40) << "feature" << std::right << std::setw(12)
           << "value" << std::setw(10) << "z" << std::setw(14) << "contribution" << '\n';
      for (const auto& f : dx.top)
        text << "  " << std::left << std::setw(40) << f.feature << std::right << std::setw(12)
             << shown_number(f.value) << std::setw(10) << shown_number(f.z, 3) << std::setw(14)
             << shown_number(f.contribution) << '\n';
    }
    missing_text(text, m, dx);
    scope_text(text, m, dx);
  }
  return text.str();
}

std::string diagnosis_json(const std::vector<LoadedModel>& models, const TraceDiagnoses& d,
                           int indent) {
  Json input = Json::object();
  for (const auto& [k, v] : d.input) input[k] = v;
  Json all = Json::object();
  all["input"] = input;
  if (!d.error.empty()) {
    all["error"] = d.error;
    return all.dump(indent);
  }
  Json results = Json::array();
  for (size_t i = 0; i < models.size() && i < d.diagnoses.size(); ++i) {
    const SavedModel& m = models[i].model;
    const Diagnosis& dx = d.diagnoses[i];
    Json proba = Json::array();
    for (const auto& [c, p] : dx.proba) proba.push_back({{"class", c}, {"p", p}});
    Json feats = Json::array();
    for (const auto& f : dx.top)
      feats.push_back({{"feature", f.feature},
                       {"value", std::isfinite(f.value) ? Json(f.value) : Json(nullptr)},
                       {"z", f.z},
                       {"contribution", f.contribution}});
    Json by_input = Json::array();
    for (const auto& g : dx.missing_by_input)
      by_input.push_back(
          {{"input", g.input}, {"count", g.columns.size()}, {"features", g.columns}});
    results.push_back({{"model", models[i].path},
                       {"task", m.task},
                       {"task_classes", m.task_classes},
                       {"diagnoser", m.diagnoser->name()},
                       {"feature_set", m.feature_set},
                       {"n_features", m.feature_names.size()},
                       {"trained_on", m.n_traces},
                       {"predicted", dx.predicted},
                       {"probabilities", proba},
                       {"explanation",
                        {{"method", dx.method},
                         {"description", describe_method(dx.method)},
                         {"features", feats}}},
                       {"missing_features", dx.n_missing},
                       {"imputed_share", dx.imputed_share},
                       {"missing_by_input", by_input},
                       {"missing_undefined", dx.missing_undefined},
                       {"training_scope", scope_json(m)},
                       {"out_of_distribution", dx.scope.out_of_distribution},
                       {"scope_check",
                        {{"nn_distance", number_or_null(dx.scope.nn_distance)},
                         {"nn_threshold", number_or_null(m.scope.nn_p99)},
                         {"reasons", dx.scope.reasons},
                         {"held_out", held_out_consequence(m.scope)},
                         {"missing_always_present", dx.scope.missing_always_present},
                         {"program_seen", dx.scope.program_seen}}}});
  }
  all["diagnoses"] = results;
  return all.dump(indent);
}

std::string diagnosis_csv_header(const std::vector<LoadedModel>& models,
                                 const std::vector<std::string>& input_keys) {
  std::string out;
  for (const auto& k : input_keys) out += (out.empty() ? "" : ",") + csv_cell(k);
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string m = "m" + std::to_string(i + 1) + "_";
    out += "," + m + "predicted";
    for (const auto& c : models[i].model.classes) out += "," + csv_cell(m + "p_" + c);
    out += "," + m + "missing," + m + "imputed_share," + m + "out_of_distribution";
  }
  return out + ",error\n";
}

std::string diagnosis_csv_row(const std::vector<LoadedModel>& models, const TraceDiagnoses& d,
                              const std::vector<std::string>& input_keys) {
  std::string out;
  for (size_t k = 0; k < input_keys.size(); ++k)
    out += (k ? "," : "") + csv_cell(input_value(d, input_keys[k]));
  for (size_t i = 0; i < models.size(); ++i) {
    const auto& classes = models[i].model.classes;
    if (i >= d.diagnoses.size()) {  // not diagnosed: empty cells
      out += std::string(classes.size() + 4, ',');
      continue;
    }
    const Diagnosis& dx = d.diagnoses[i];
    out += "," + csv_cell(dx.predicted);
    for (const auto& c : classes) {
      double p = 0;
      for (const auto& [name, q] : dx.proba)
        if (name == c) p = q;
      out += "," + full_number(p);
    }
    out += "," + std::to_string(dx.n_missing) + "," + full_number(dx.imputed_share) + "," +
           (dx.scope.out_of_distribution ? "1" : "0");
  }
  return out + "," + csv_cell(d.error) + "\n";
}

}  // namespace dynfault::diagnosis
