#include "features/trace_csv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "common/check.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

constexpr const char* kRequired[] = {"epoch", "train_loss", "train_metric", "val_loss",
                                     "val_metric"};
/// Short column names and the metric keys they stand for.
const std::map<std::string, std::string>& short_names() {
  static const std::map<std::string, std::string> kMap = {
      {"train_loss", keys::kTrainLoss}, {"train_metric", keys::kTrainMetric},
      {"val_loss", keys::kValLoss},     {"val_metric", keys::kValMetric},
      {"lr", keys::kLr}};
  return kMap;
}
/// Families of metric keys that may appear as per-epoch columns under their own name.
constexpr const char* kKeyPrefixes[] = {"epoch/", "grad/", "weight/", "act/",
                                        "opt/",   "curv/", "final/",  "probe/"};

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  const auto b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::stringstream ss(line);
  while (std::getline(ss, cell, ',')) out.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

std::string expected_columns() {
  return "expected columns: epoch,train_loss,train_metric,val_loss,val_metric, optionally lr "
         "and metric keys of db/trace.h (grad/..., weight/..., act/..., opt/..., curv/..., "
         "final/...)";
}

bool parse_number(const std::string& cell, double& v) {
  std::string c = cell;
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (c == "nan") {
    v = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (c == "inf" || c == "+inf" || c == "infinity") {
    v = std::numeric_limits<double>::infinity();
    return true;
  }
  if (c == "-inf" || c == "-infinity") {
    v = -std::numeric_limits<double>::infinity();
    return true;
  }
  char* end = nullptr;
  errno = 0;
  v = std::strtod(c.c_str(), &end);
  return !c.empty() && end != nullptr && *end == '\0';
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

db::Trace parse_trace_csv(const std::string& text, const std::string& name) {
  db::Trace trace;
  trace.run_uuid = "csv:" + name;
  trace.outcome = "completed";
  trace.faults_json = "";
  int64_t planned = 0;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  std::vector<std::string> header;
  std::vector<std::string> key_of;  // per column: metric key ("" for epoch)
  int64_t last_epoch = -1;
  int64_t rows = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    if (header.empty() && trim(line)[0] == '#') {
      const std::string body = trim(trim(line).substr(1));
      const auto colon = body.find(':');
      if (colon == std::string::npos) continue;  // a comment
      const std::string k = trim(body.substr(0, colon)), v = trim(body.substr(colon + 1));
      if (k == "outcome") {
        trace.outcome = v;
      } else if (k == "planned_epochs") {
        double e = 0;
        if (!parse_number(v, e) || !(e >= 0) || e != std::floor(e))
          throw ConfigError(name, line_no, "planned_epochs", v, "not a non-negative integer");
        planned = static_cast<int64_t>(e);
      } else if (k == "family") {
        trace.family = v;
      } else if (k == "program") {
        trace.program = v;
      } else if (k == "task") {
        trace.task = v;
      }
      continue;  // other '# key: value' lines are comments
    }
    const auto cells = split_cells(line);
    if (header.empty()) {
      header = cells;
      std::set<std::string> seen_keys;
      for (size_t c = 0; c < header.size(); ++c) {
        const std::string& h = header[c];
        const std::string col = "column " + std::to_string(c + 1);
        if (h.empty()) throw ConfigError(name, line_no, col, "", "empty column name; " + expected_columns());
        std::string key;
        if (h == "epoch") {
          key = "";
        } else if (short_names().count(h)) {
          key = short_names().at(h);
        } else if (h == "train/loss" || h.rfind("time/", 0) == 0) {
          throw ConfigError(name, line_no, col, h,
                            "a step-level series cannot be a per-epoch column");
        } else {
          bool known = false;
          for (const char* p : kKeyPrefixes) known = known || h.rfind(p, 0) == 0;
          if (!known || h.size() < 3 || h.back() == '/')
            throw ConfigError(name, line_no, col, h, "unknown column; " + expected_columns());
          key = h;
        }
        if (!seen_keys.insert(key.empty() ? std::string("epoch") : key).second)
          throw ConfigError(name, line_no, col, h, "column given twice");
        key_of.push_back(key);
      }
      for (const char* r : kRequired)
        if (std::find(header.begin(), header.end(), r) == header.end())
          throw ConfigError(name, line_no, "", "",
                            std::string("missing column '") + r + "'; " + expected_columns());
      continue;
    }
    if (cells.size() != header.size())
      throw ConfigError(name, line_no, "", "",
                        "row has " + std::to_string(cells.size()) + " cells, the header has " +
                            std::to_string(header.size()));
    int64_t epoch = 0;
    const size_t epoch_col =
        static_cast<size_t>(std::find(header.begin(), header.end(), "epoch") - header.begin());
    {
      double e = 0;
      if (!parse_number(cells[epoch_col], e) || !(e >= 0) || e != std::floor(e) || e > 1e12)
        throw ConfigError(name, line_no, "column " + std::to_string(epoch_col + 1) + " (epoch)",
                          cells[epoch_col], "epoch must be a non-negative integer");
      epoch = static_cast<int64_t>(e);
      if (epoch <= last_epoch)
        throw ConfigError(name, line_no, "column " + std::to_string(epoch_col + 1) + " (epoch)",
                          cells[epoch_col], "epochs must be strictly increasing");
      last_epoch = epoch;
    }
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c == epoch_col || cells[c].empty()) continue;
      double v = 0;
      if (!parse_number(cells[c], v))
        throw ConfigError(name, line_no,
                          "column " + std::to_string(c + 1) + " (" + header[c] + ")", cells[c],
                          "not a number (write nan, inf, -inf, or leave the cell empty)");
      db::Series& s = trace.series[key_of[c]];
      s.steps.push_back(epoch);
      s.values.push_back(v);
    }
    ++rows;
  }
  if (header.empty()) throw ConfigError(name, 0, "", "", "no header line; " + expected_columns());
  if (rows == 0) throw ConfigError(name, line_no, "", "", "no epoch rows after the header");
  if (planned > 0) trace.recipe_json = "{\"epochs\":" + std::to_string(planned) + "}";
  return trace;
}

db::Trace read_trace_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, 0, "", "", "cannot read the trace file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_trace_csv(text, path);
}

std::string write_trace_csv(const db::Trace& trace, std::vector<std::string>* left_out) {
  const std::vector<int64_t> epochs = epoch_steps(trace);
  const std::set<int64_t> epoch_set(epochs.begin(), epochs.end());
  std::vector<std::pair<std::string, std::string>> columns = {  // (header, key)
      {"train_loss", keys::kTrainLoss},
      {"train_metric", keys::kTrainMetric},
      {"val_loss", keys::kValLoss},
      {"val_metric", keys::kValMetric},
      {"lr", keys::kLr}};
  std::set<std::string> used;
  for (const auto& c : columns) used.insert(c.second);
  for (const auto& [key, s] : trace.series) {
    if (used.count(key)) continue;
    bool ok = key != keys::kStepLoss && key.rfind("time/", 0) != 0;
    bool prefixed = false;
    for (const char* p : kKeyPrefixes) prefixed = prefixed || key.rfind(p, 0) == 0;
    ok = ok && prefixed && key.find(',') == std::string::npos;
    for (size_t i = 0; ok && i < s.steps.size(); ++i) ok = epoch_set.count(s.steps[i]) > 0;
    // One point per epoch at most.
    for (size_t i = 1; ok && i < s.steps.size(); ++i) ok = s.steps[i] > s.steps[i - 1];
    if (ok) {
      columns.emplace_back(key, key);
    } else if (left_out) {
      left_out->push_back(key);
    }
  }
  std::ostringstream out;
  out << "# dynfault per-epoch trace of run " << trace.run_uuid << " (docs/diagnose.md)\n";
  out << "# outcome: " << trace.outcome << '\n';
  if (const int64_t p = planned_epochs(trace); p > 0) out << "# planned_epochs: " << p << '\n';
  if (!trace.family.empty()) out << "# family: " << trace.family << '\n';
  if (!trace.program.empty()) out << "# program: " << trace.program << '\n';
  if (!trace.task.empty()) out << "# task: " << trace.task << '\n';
  out << "epoch";
  for (const auto& c : columns) out << ',' << c.first;
  out << '\n';
  for (int64_t e : epochs) {
    out << e;
    for (const auto& c : columns) {
      out << ',';
      const db::Series* s = trace.find(c.second);
      if (!s) continue;
      const auto it = std::lower_bound(s->steps.begin(), s->steps.end(), e);
      if (it != s->steps.end() && *it == e)
        out << csv_number(s->values[static_cast<size_t>(it - s->steps.begin())]);
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace dynfault::features
