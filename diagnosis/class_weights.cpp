#include "diagnosis/class_weights.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

#include "common/check.h"

namespace dynfault::diagnosis {

bool known_class_weight(const std::string& weight) {
  return weight == "none" || weight == "balanced";
}

WeightedRows weighted_rows(Matrix x, Labels y, const std::string& weight) {
  DYNFAULT_CHECK(known_class_weight(weight), "class weight must be none or balanced, got '", weight,
                 "'");
  DYNFAULT_CHECK(x.rows == y.size(), "weighted_rows(): ", x.rows, " rows but ", y.size(),
                 " labels");
  if (weight == "none") return WeightedRows{std::move(x), std::move(y)};
  std::map<std::string, int64_t> counts;
  for (const auto& c : y) ++counts[c];
  int64_t largest = 0;
  for (const auto& [c, n] : counts) largest = std::max(largest, n);
  std::map<std::string, int64_t> seen;
  std::vector<size_t> idx;
  WeightedRows out;
  for (size_t i = 0; i < y.size(); ++i) {
    const int64_t n = counts.at(y[i]);
    const int64_t k = seen[y[i]]++;
    const size_t reps = static_cast<size_t>(largest / n + (k < largest % n ? 1 : 0));
    idx.insert(idx.end(), reps, i);
    out.y.insert(out.y.end(), reps, y[i]);
  }
  out.x = x.take_rows(idx);
  return out;
}

}  // namespace dynfault::diagnosis
