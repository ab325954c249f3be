#include "common/registry.h"

#include <algorithm>

namespace dynfault {

size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment distance: three rows of the dynamic programme suffice.
  const size_t n = a.size(), m = b.size();
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::string closest_match(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = static_cast<size_t>(-1);
  for (const auto& c : candidates) {
    const size_t d = edit_distance(name, c);
    const size_t longer = std::max(name.size(), c.size());
    const bool contained =
        !name.empty() && (c.find(name) != std::string::npos || name.find(c) != std::string::npos);
    if ((3 * d <= longer || contained) && d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string unknown_name_message(const std::string& kind, const std::string& name,
                                 const std::vector<std::string>& known) {
  std::string out = "unknown " + kind + " '" + name + "' (";
  const std::string close = closest_match(name, known);
  if (!close.empty()) out += "did you mean '" + close + "'? ";
  out += "known: ";
  for (size_t i = 0; i < known.size(); ++i) out += (i ? ", " : "") + known[i];
  return out + ")";
}

}  // namespace dynfault
