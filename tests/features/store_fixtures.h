#pragma once
// Writes hand-made traces into a db::Store, as the runner would (tests only).
#include <string>

#include "common/hash.h"
#include "db/store.h"
#include "tests/features/fixtures.h"

namespace dynfault::testing {

/// A 32-hex run id derived from `name`.
inline std::string run_id(const std::string& name) { return hash128_hex(name); }

/// Inserts `t` as a run of `campaign` with `seed` and, unless `status` is SCHEDULED, stores its
/// metrics with that status and t.outcome. Sets t.run_uuid to the stored id.
inline void store_trace(db::Store& store, db::Trace& t, const std::string& campaign,
                        const std::string& status = "FINISHED", int64_t seed = 0) {
  t.run_uuid = run_id(campaign + "/" + t.run_uuid + "/" + t.program);
  db::RunSpec spec;
  spec.run_uuid = t.run_uuid;
  spec.campaign = campaign;
  spec.program = t.program;
  spec.family = t.family;
  spec.task = t.task;
  spec.faults_json = t.faults_json;
  spec.fault_ids = t.fault_ids;
  spec.recipe_json = t.recipe_json;
  spec.seed = seed;
  store.insert_runs({spec});
  if (status == "SCHEDULED") return;
  db::RunResult r;
  r.run_uuid = t.run_uuid;
  r.status = status;
  r.outcome = t.outcome;
  for (const auto& [key, s] : t.series)
    for (size_t i = 0; i < s.values.size(); ++i)
      r.metrics.push_back(db::MetricPoint{key, s.steps[i], s.values[i], 0});
  store.write_result(r);
}

}  // namespace dynfault::testing
