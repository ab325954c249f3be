// Wall-clock helpers shared by the store, the runner and the exporters.
#pragma once

#include <chrono>
#include <cstdint>

namespace dynfault {

/// Milliseconds since the Unix epoch (the unit of every timestamp in the database, as MLflow).
inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Milliseconds from `a` to `b` on the monotonic clock (step and epoch durations).
inline double ms_between(std::chrono::steady_clock::time_point a,
                         std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace dynfault
