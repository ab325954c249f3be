#include "features/trace_util.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "db/store.h"

namespace dynfault::features {

const std::vector<double>& series_values(const db::Trace& trace, const std::string& key) {
  static const std::vector<double> kEmpty;
  const db::Series* s = trace.find(key);
  return s ? s->values : kEmpty;
}

bool has_key_prefix(const db::Trace& trace, const std::string& prefix) {
  const auto it = trace.series.lower_bound(prefix);
  return it != trace.series.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

double value_at(const db::Trace& trace, const std::string& key, int64_t step) {
  const db::Series* s = trace.find(key);
  if (!s) return std::numeric_limits<double>::quiet_NaN();
  // Series are sorted by step (db/trace.h: every reader and writer keeps them so). No linear
  // fallback on a miss: it made each epoch without a point O(n), a sparse series O(n^2).
  auto it = std::lower_bound(s->steps.begin(), s->steps.end(), step);
  if (it != s->steps.end() && *it == step) {
    const size_t i = static_cast<size_t>(it - s->steps.begin());
    if (i < s->values.size()) return s->values[i];
  }
  return std::numeric_limits<double>::quiet_NaN();
}

std::vector<int64_t> epoch_steps(const db::Trace& trace) {
  std::vector<int64_t> steps;
  for (const char* key : {keys::kTrainLoss, keys::kTrainMetric, keys::kValLoss, keys::kValMetric})
    if (const db::Series* s = trace.find(key))
      steps.insert(steps.end(), s->steps.begin(), s->steps.end());
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

std::vector<std::string> param_names(const db::Trace& trace, const std::string& prefix,
                                     const std::string& stat) {
  std::vector<std::string> names;
  const std::string head = prefix + "/";
  const std::string tail = "/" + stat;
  for (const auto& kv : trace.series) {
    const std::string& k = kv.first;
    if (k.size() <= head.size() + tail.size()) continue;
    if (k.compare(0, head.size(), head) != 0) continue;
    if (k.compare(k.size() - tail.size(), tail.size(), tail) != 0) continue;
    names.push_back(k.substr(head.size(), k.size() - head.size() - tail.size()));
  }
  return names;  // std::map iteration order: already sorted
}

namespace {

// Natural order: digit runs compare by value, everything else bytewise.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      const std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      const size_t za = na.find_first_not_of('0'), zb = nb.find_first_not_of('0');
      const std::string va = za == std::string::npos ? "" : na.substr(za);
      const std::string vb = zb == std::string::npos ? "" : nb.substr(zb);
      if (va.size() != vb.size()) return va.size() < vb.size();
      if (va != vb) return va < vb;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

std::vector<std::string> param_names_natural(const db::Trace& trace, const std::string& prefix,
                                             const std::string& stat) {
  std::vector<std::string> names = param_names(trace, prefix, stat);
  std::stable_sort(names.begin(), names.end(), natural_less);
  return names;
}

std::vector<std::vector<double>> across_params(const db::Trace& trace, const std::string& prefix,
                                               const std::string& stat,
                                               const std::vector<int64_t>& steps) {
  std::vector<std::vector<double>> out(steps.size());
  for (const auto& p : param_names_natural(trace, prefix, stat)) {
    const db::Series* s = trace.find(prefix + "/" + p + "/" + stat);
    for (size_t e = 0; e < steps.size(); ++e) {
      auto it = std::lower_bound(s->steps.begin(), s->steps.end(), steps[e]);
      if (it == s->steps.end() || *it != steps[e]) continue;
      const size_t i = static_cast<size_t>(it - s->steps.begin());
      if (i < s->values.size()) out[e].push_back(s->values[i]);
    }
  }
  return out;
}

std::vector<int64_t> series_steps(const db::Trace& trace, const std::string& key) {
  const db::Series* s = trace.find(key);
  return s ? s->steps : std::vector<int64_t>{};
}

int64_t planned_epochs(const db::Trace& trace) {
  if (trace.recipe_json.empty()) return 0;
  const auto j = nlohmann::json::parse(trace.recipe_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return 0;
  const auto it = j.find("epochs");
  if (it == j.end() || !it->is_number()) return 0;
  const double e = it->get<double>();
  return std::isfinite(e) && e > 0 ? static_cast<int64_t>(e) : 0;
}

bool is_clean(const db::Trace& trace) {
  if (!trace.fault_ids.empty()) return false;
  if (trace.faults_json.empty()) return true;
  const auto j = nlohmann::json::parse(trace.faults_json, nullptr, /*allow_exceptions=*/false);
  return j.is_array() && j.empty();
}

void for_each_trace_chunk(db::Store& store, const std::string& campaign, int64_t chunk_size,
                          const std::function<void(std::vector<db::Trace>&)>& fn) {
  DYNFAULT_CHECK(chunk_size > 0, "for_each_trace_chunk(): chunk_size must be positive, got ",
                 chunk_size);
  db::RunFilter filter;
  filter.campaign = campaign;
  filter.status = "FINISHED";
  std::vector<std::string> ids;
  for (const auto& r : store.runs(filter)) ids.push_back(r.spec.run_uuid);
  std::sort(ids.begin(), ids.end());
  std::vector<db::Trace> chunk;
  for (size_t i = 0; i < ids.size(); i += static_cast<size_t>(chunk_size)) {
    chunk.clear();
    const size_t end = std::min(ids.size(), i + static_cast<size_t>(chunk_size));
    for (size_t j = i; j < end; ++j) chunk.push_back(store.trace(ids[j]));
    fn(chunk);
  }
}

}  // namespace dynfault::features
