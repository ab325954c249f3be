#pragma once
/// Merging dynfault databases: the shards of a campaign run as a Slurm job array (each task
/// writes its own SQLite file, never one file over a network filesystem) become one database.
/// A database may hold several campaigns (as `dynfault plan` of a second campaign file makes
/// it); a source of another campaign adds that campaign beside the target's (reported in
/// MergeSourceReport::campaigns_added), while a campaign name must mean one config everywhere.
///
/// Run ids are hashes of the run spec, so a run has the same id in every shard and merging is
/// idempotent: a run is copied when the target lacks it or holds it in a less advanced status
/// (FINISHED > FAILED > KILLED > RUNNING > SCHEDULED); a FINISHED run in the target is never
/// replaced. A copied run brings its metrics and labels. Derived tables (feature vectors, splits,
/// evaluations) are not merged: re-run `dynfault features` and `evaluate` on the result.
///
/// Example:
///   Store target = Store::open("campaign.db");
///   MergeReport report = merge_databases(target, {"shards/shard_0.db", "shards/shard_1.db"});
#include <cstdint>
#include <string>
#include <vector>

#include "db/store.h"

namespace dynfault::db {

/// What merging one source changed in the target.
struct MergeSourceReport {
  std::string path;
  int64_t runs_new = 0;       ///< runs the target did not have
  int64_t runs_replaced = 0;  ///< runs the target had in a less advanced status
  int64_t runs_kept = 0;      ///< runs of the source the target already had as far or further
  int64_t metric_points = 0;  ///< metric rows copied
  int64_t labels = 0;         ///< label rows copied
  /// Campaigns of the source the target did not hold (its first source brings the shards'
  /// campaign; a later one names another campaign, which joins the target beside the others).
  std::vector<std::string> campaigns_added;
};

struct MergeReport {
  std::vector<MergeSourceReport> sources;
};

/// Merges each of `sources` into `target`, one transaction per source. Every source is checked
/// first, and nothing is written when one is refused (DbError naming it): a file that is missing,
/// not a dynfault database, corrupt (quick_check), of another schema version than this build's,
/// the target itself, or holding a campaign whose name exists in the target or another source
/// with a different config hash or another recorded numeric environment (schema 2). Sources are
/// only read.
MergeReport merge_databases(Store& target, const std::vector<std::string>& sources);

}  // namespace dynfault::db
