#pragma once
/// Comparing two traces key by key, step by step (`dynfault replay`). Torch-free, SQLite-free.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "db/trace.h"

namespace dynfault::db {

/// The series of `points` by key, sorted by step; a (key, step) given twice keeps the last
/// value, as Store::write_result does.
std::map<std::string, Series> series_of(const std::vector<MetricPoint>& points);

/// What differs between a stored and a replayed trace.
struct TraceDiff {
  int64_t keys_compared = 0;    ///< keys present in both (ignored ones aside)
  int64_t points_compared = 0;  ///< (key, step) present in both
  int64_t points_differing = 0;
  std::vector<std::string> only_stored;    ///< keys missing from the replay
  std::vector<std::string> only_replayed;  ///< keys the stored trace lacks
  std::vector<std::string> steps_differ;   ///< keys present in both with different step sets
  /// The largest absolute deviation over the common points (+Inf when one side is NaN or
  /// infinite and the other is not); meaningful when points_differing > 0.
  std::string worst_key;
  int64_t worst_step = 0;
  double worst_stored = 0, worst_replayed = 0, worst_deviation = 0;

  /// Same keys, same steps, every value equal (NaN equals NaN; -0.0 equals 0.0, which is all
  /// the store can keep of it): "reproduced bitwise".
  bool identical() const {
    return points_differing == 0 && only_stored.empty() && only_replayed.empty() &&
           steps_differ.empty();
  }
};

/// Compares `replayed` with `stored`. Keys starting with one of `ignored_prefixes` (wall-clock
/// metadata such as "time/") are left out on both sides.
TraceDiff compare_traces(const std::map<std::string, Series>& stored,
                         const std::map<std::string, Series>& replayed,
                         const std::vector<std::string>& ignored_prefixes = {"time/"});

}  // namespace dynfault::db
