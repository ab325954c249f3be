#pragma once
/// How far each run's training went, read without loading its trace: what a horizon cut
/// (features/horizon.h) needs to place a run's records in time before the traces are read.
#include <cstdint>
#include <string>
#include <vector>

namespace dynfault::db {

class Store;

/// One FINISHED run's extent.
struct RunExtent {
  std::string run_uuid;
  std::string campaign;
  std::string program;
  std::string outcome;
  std::string recipe_json;
  int64_t steps = 0;   ///< optimizer steps taken: last `train/loss` step + 1 (0 = none)
  int64_t epochs = 0;  ///< epochs recorded: last `epoch/train_loss` step + 1 (0 = none)
};

/// The extent of every FINISHED run of `campaign` ("" = all), sorted by run_uuid: two indexed
/// look-ups per run (the metrics' primary key is run, key, step), no trace read.
std::vector<RunExtent> run_extents(Store& store, const std::string& campaign = "");

}  // namespace dynfault::db
