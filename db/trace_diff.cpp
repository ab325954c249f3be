#include "db/trace_diff.h"

#include <cmath>
#include <limits>

namespace dynfault::db {

std::map<std::string, Series> series_of(const std::vector<MetricPoint>& points) {
  std::map<std::string, std::map<int64_t, double>> by_key;
  for (const auto& p : points) by_key[p.key][p.step] = p.value;
  std::map<std::string, Series> out;
  for (const auto& [key, steps] : by_key) {
    Series& s = out[key];
    for (const auto& [step, value] : steps) {
      s.steps.push_back(step);
      s.values.push_back(value);
    }
  }
  return out;
}

namespace {

bool ignored(const std::string& key, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes)
    if (key.compare(0, p.size(), p) == 0) return true;
  return false;
}

bool same_value(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

double deviation(double a, double b) {
  if (same_value(a, b)) return 0;
  if (!std::isfinite(a) || !std::isfinite(b)) return std::numeric_limits<double>::infinity();
  return std::fabs(a - b);
}

}  // namespace

TraceDiff compare_traces(const std::map<std::string, Series>& stored,
                         const std::map<std::string, Series>& replayed,
                         const std::vector<std::string>& ignored_prefixes) {
  TraceDiff d;
  for (const auto& [key, s] : stored) {
    if (ignored(key, ignored_prefixes)) continue;
    auto it = replayed.find(key);
    if (it == replayed.end()) {
      d.only_stored.push_back(key);
      continue;
    }
    ++d.keys_compared;
    const Series& r = it->second;
    if (s.steps != r.steps) d.steps_differ.push_back(key);
    // Walk both step lists (sorted) and compare the common steps.
    size_t i = 0, j = 0;
    while (i < s.size() && j < r.size()) {
      if (s.steps[i] < r.steps[j]) {
        ++i;
      } else if (r.steps[j] < s.steps[i]) {
        ++j;
      } else {
        ++d.points_compared;
        const double a = s.values[i], b = r.values[j];
        if (!same_value(a, b)) {
          const double dev = deviation(a, b);
          if (d.points_differing == 0 || dev > d.worst_deviation) {
            d.worst_key = key;
            d.worst_step = s.steps[i];
            d.worst_stored = a;
            d.worst_replayed = b;
            d.worst_deviation = dev;
          }
          ++d.points_differing;
        }
        ++i;
        ++j;
      }
    }
  }
  for (const auto& [key, r] : replayed)
    if (!ignored(key, ignored_prefixes) && !stored.count(key)) d.only_replayed.push_back(key);
  return d;
}

}  // namespace dynfault::db
