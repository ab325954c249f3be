#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/database.h"
#include "db/store.h"
#include "db/store_detail.h"

// db::Store: runs (planning, execution states, results) and their traces.
namespace dynfault::db {

using namespace detail;

namespace {

/// Times: 0 means unset and is stored as NULL.
void bind_time(Statement& statement, int index, int64_t ms) {
  if (ms == 0) {
    statement.bind_null(index);
  } else {
    statement.bind(index, ms);
  }
}

int64_t read_time(const Statement& statement, int column) {
  return statement.column_is_null(column) ? 0 : statement.column_int64(column);
}

bool is_run_uuid(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

/// Sets a run's status, outcome, error and times from `result` (times of 0 keep the stored
/// ones), and how it was executed when `result.execution` is recorded; `condition` narrows the
/// WHERE clause.
void update_run_end(Database& db, const RunResult& result, const std::string& condition) {
  auto& update = db.prepared(
      "UPDATE runs SET status = ?2, outcome = ?3, error = ?4, "
      "start_time = coalesce(?5, start_time), end_time = coalesce(?6, end_time) "
      "WHERE run_uuid = ?1" +
      condition);
  update.bind_all(result.run_uuid, result.status);
  bind_optional_text(update, 3, result.outcome);
  bind_optional_text(update, 4, result.error);
  bind_time(update, 5, result.start_time);
  bind_time(update, 6, result.end_time);
  update.step_and_reset();
  const RunExecution& e = result.execution;
  if (!e.recorded() || db.last_changes() == 0) return;
  auto& record = db.prepared(
      "UPDATE runs SET exec_max_steps = ?2, exec_probes = ?3, exec_numeric = ?4, "
      "exec_libraries = ?5, exec_cpu = ?6, exec_build = ?7 WHERE run_uuid = ?1");
  record.bind_all(result.run_uuid, e.max_steps, e.probes);
  bind_optional_text(record, 4, e.numeric);
  bind_optional_text(record, 5, e.libraries);
  bind_optional_text(record, 6, e.cpu);
  record.bind(7, e.build);
  record.step_and_reset();
}

constexpr const char* kRunColumns =
    "SELECT run_uuid, campaign, program_id, family, task, faults_json, fault_ids, seed, "
    "repetition, recipe_json, timeout_s, status, outcome, error, start_time, end_time, "
    "heartbeat_time, attempts, exec_max_steps, exec_probes, exec_numeric, exec_libraries, "
    "exec_cpu, exec_build FROM runs";

RunRow read_run(const Statement& s) {
  RunRow row;
  row.spec.run_uuid = s.column_text(0);
  row.spec.campaign = s.column_text(1);
  row.spec.program = s.column_text(2);
  row.spec.family = s.column_text(3);
  row.spec.task = s.column_text(4);
  row.spec.faults_json = s.column_text(5);
  row.spec.fault_ids = s.column_text(6);
  row.spec.seed = s.column_int64(7);
  row.spec.repetition = s.column_int64(8);
  row.spec.recipe_json = s.column_text(9);
  row.spec.timeout_s = s.column_double(10);
  row.status = s.column_text(11);
  row.outcome = s.column_text(12);
  row.error = s.column_text(13);
  row.start_time = read_time(s, 14);
  row.end_time = read_time(s, 15);
  row.heartbeat_time = read_time(s, 16);
  row.attempts = s.column_int64(17);
  row.execution.max_steps = s.column_int64(18);
  row.execution.probes = s.column_text(19);
  row.execution.numeric = s.column_text(20);
  row.execution.libraries = s.column_text(21);
  row.execution.cpu = s.column_text(22);
  row.execution.build = s.column_text(23);
  return row;
}

/// The run facts of a trace, from columns (run_uuid, program_id, family, task, fault_ids,
/// faults_json, outcome, recipe_json).
constexpr const char* kTraceColumns =
    "SELECT run_uuid, program_id, family, task, fault_ids, faults_json, outcome, recipe_json "
    "FROM runs";

Trace read_trace_facts(const Statement& s) {
  Trace trace;
  trace.run_uuid = s.column_text(0);
  trace.program = s.column_text(1);
  trace.family = s.column_text(2);
  trace.task = s.column_text(3);
  trace.fault_ids = s.column_text(4);
  trace.faults_json = s.column_text(5);
  trace.outcome = s.column_text(6);
  trace.recipe_json = s.column_text(7);
  return trace;
}

void append_point(Series& series, const Statement& s, int step_column, int value_column,
                  int is_nan_column) {
  series.steps.push_back(s.column_int64(step_column));
  // is_nan = 1 <=> value IS NULL (a CHECK holds it); NULL is read as NaN either way.
  const bool nan = s.column_int64(is_nan_column) != 0 || s.column_is_null(value_column);
  series.values.push_back(nan ? kNaN : s.column_double(value_column));
}

}  // namespace

// --- runs --------------------------------------------------------------------------------------

int64_t Store::insert_runs(const std::vector<RunSpec>& runs) {
  for (const auto& r : runs) {
    if (!is_run_uuid(r.run_uuid)) {
      throw DbError(db_->path() + ": Store::insert_runs(): run_uuid '" + r.run_uuid +
                    "' is not 32 lowercase hex characters");
    }
  }
  if (runs.empty()) return 0;  // no write lock for nothing
  Transaction tx(*db_);
  auto& insert = db_->prepared(
      "INSERT INTO runs (run_uuid, campaign, program_id, family, task, faults_json, fault_ids, "
      "seed, repetition, recipe_json, timeout_s, status) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'SCHEDULED') "
      "ON CONFLICT (run_uuid) DO NOTHING");
  int64_t added = 0;
  for (const auto& r : runs) {
    insert
        .bind_all(r.run_uuid, r.campaign, r.program, r.family, r.task, r.faults_json, r.fault_ids,
                  r.seed, r.repetition, r.recipe_json, r.timeout_s)
        .step_and_reset();
    added += db_->last_changes();
  }
  tx.commit();
  return added;
}

int64_t Store::replace_runs(const std::vector<std::pair<std::string, RunSpec>>& replacements) {
  for (const auto& [old_uuid, spec] : replacements) {
    if (!is_run_uuid(spec.run_uuid)) {
      throw DbError(db_->path() + ": Store::replace_runs(): run_uuid '" + spec.run_uuid +
                    "' is not 32 lowercase hex characters");
    }
  }
  if (replacements.empty()) return 0;
  Transaction tx(*db_);
  auto& remove = db_->prepared("DELETE FROM runs WHERE run_uuid = ?1");
  int64_t replaced = 0;
  std::vector<RunSpec> specs;
  for (const auto& [old_uuid, spec] : replacements) {
    // The foreign keys cascade: metrics, labels, feature values and splits of the old run go.
    remove.bind(1, old_uuid).step_and_reset();
    replaced += db_->last_changes();
    specs.push_back(spec);
  }
  insert_runs(specs);  // a SAVEPOINT inside this transaction
  tx.commit();
  return replaced;
}

std::vector<RunRow> Store::runs(const RunFilter& filter) const {
  std::vector<RunRow> rows;
  auto& select = db_->prepared(std::string(kRunColumns) +
                               " WHERE (?1 = '' OR campaign = ?1) AND (?2 = '' OR status = ?2) "
                               "ORDER BY run_uuid");
  ResetGuard reset(select);
  select.bind_all(filter.campaign, filter.status);
  while (select.step()) rows.push_back(read_run(select));
  return rows;
}

std::optional<RunRow> Store::run(const std::string& run_uuid) const {
  auto& select = db_->prepared(std::string(kRunColumns) + " WHERE run_uuid = ?1");
  ResetGuard reset(select);
  select.bind(1, run_uuid);
  if (!select.step()) return std::nullopt;
  return read_run(select);
}

bool Store::mark_running(const std::string& run_uuid, int64_t now_ms) {
  Transaction tx(*db_);
  // The WHERE clause makes the claim atomic: of two workers, one changes the row, one sees 0.
  db_->prepared(
         "UPDATE runs SET status = 'RUNNING', attempts = attempts + 1, start_time = ?2, "
         "heartbeat_time = ?2, end_time = NULL, outcome = NULL, error = NULL "
         "WHERE run_uuid = ?1 AND status = 'SCHEDULED'")
      .bind_all(run_uuid, now_ms)
      .step_and_reset();
  const bool claimed = db_->last_changes() == 1;
  tx.commit();
  return claimed;
}

void Store::heartbeat(const std::vector<std::string>& run_uuids, int64_t now_ms) {
  if (run_uuids.empty()) return;
  Transaction tx(*db_);
  auto& update = db_->prepared(
      "UPDATE runs SET heartbeat_time = ?2 WHERE run_uuid = ?1 AND status = 'RUNNING'");
  for (const auto& id : run_uuids) update.bind_all(id, now_ms).step_and_reset();
  tx.commit();
}

int64_t Store::requeue_stale(int64_t stale_before_ms) {
  Transaction tx(*db_);
  db_->prepared(
         "UPDATE runs SET status = 'SCHEDULED', attempts = max(attempts - 1, 0) "
         "WHERE status = 'RUNNING' AND coalesce(heartbeat_time, start_time, 0) < ?1")
      .bind_all(stale_before_ms)
      .step_and_reset();
  const int64_t changed = db_->last_changes();
  tx.commit();
  return changed;
}

int64_t Store::requeue_unfinished(const std::string& campaign, int64_t max_attempts) {
  Transaction tx(*db_);
  db_->prepared(
         "UPDATE runs SET status = 'SCHEDULED', "
         "attempts = CASE WHEN status = 'KILLED' THEN max(attempts - 1, 0) ELSE attempts END "
         "WHERE (?1 = '' OR campaign = ?1) AND "
         "(status = 'KILLED' OR (status = 'FAILED' AND (?2 <= 0 OR attempts < ?2)))")
      .bind_all(campaign, max_attempts)
      .step_and_reset();
  const int64_t changed = db_->last_changes();
  tx.commit();
  return changed;
}

void Store::write_result(const RunResult& result) {
  // Ids of keys first seen in this transaction; cached only once it commits.
  std::unordered_map<std::string, int64_t> new_keys;
  auto key_id = [&](const std::string& key) -> int64_t {
    if (auto it = key_ids_.find(key); it != key_ids_.end()) return it->second;
    if (auto it = new_keys.find(key); it != new_keys.end()) return it->second;
    if (key.empty()) {
      throw DbError(db_->path() + ": Store::write_result(): run '" + result.run_uuid +
                    "' has a metric with an empty key");
    }
    int64_t id = 0;
    auto& select = db_->prepared("SELECT key_id FROM metric_keys WHERE key = ?1");
    {
      ResetGuard reset(select);
      select.bind(1, key);
      if (select.step()) id = select.column_int64(0);
    }
    if (id == 0) {
      db_->prepared("INSERT INTO metric_keys (key) VALUES (?1)").bind(1, key).step_and_reset();
      id = db_->last_insert_rowid();
    }
    new_keys.emplace(key, id);
    return id;
  };

  Transaction tx(*db_);
  require_run(*db_, result.run_uuid, "Store::write_result()");
  db_->prepared("DELETE FROM metrics WHERE run_uuid = ?1")
      .bind(1, result.run_uuid)
      .step_and_reset();
  // OR REPLACE: a (key, step) recorded twice keeps the last value.
  auto& insert = db_->prepared(
      "INSERT OR REPLACE INTO metrics (run_uuid, key_id, step, value, timestamp, is_nan) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  const std::string* last_key = nullptr;  // metrics arrive grouped by key: skip the lookups
  int64_t last_id = 0;
  for (const auto& m : result.metrics) {
    if (last_key == nullptr || *last_key != m.key) {
      last_id = key_id(m.key);
      last_key = &m.key;
    }
    insert.bind(1, result.run_uuid).bind(2, last_id).bind(3, m.step).bind(5, m.timestamp_ms);
    bind_value(insert, 4, 6, m.value);
    insert.step_and_reset();
  }
  // Last, so that a refused status (CHECK) also exercises the rollback of the metrics above.
  update_run_end(*db_, result, "");
  tx.commit();
  key_ids_.insert(new_keys.begin(), new_keys.end());
}

bool Store::finish_running(const RunResult& result) {
  Transaction tx(*db_);
  update_run_end(*db_, result, " AND status = 'RUNNING'");
  const bool changed = db_->last_changes() == 1;
  tx.commit();
  return changed;
}

std::string Store::check_integrity(bool full) {
  std::string out;
  try {
    auto check = db_->prepare(full ? "PRAGMA integrity_check" : "PRAGMA quick_check");
    while (check.step()) out += (out.empty() ? "" : "\n") + check.column_text(0);
  } catch (const DbError& e) {
    return e.what();  // a page too damaged for the check itself to read
  }
  return out;
}

std::vector<std::pair<std::string, int64_t>> Store::status_counts(
    const std::string& campaign) const {
  std::vector<std::pair<std::string, int64_t>> counts;
  auto& select = db_->prepared(
      "SELECT status, count(*) FROM runs WHERE (?1 = '' OR campaign = ?1) "
      "GROUP BY status ORDER BY status");
  ResetGuard reset(select);
  select.bind(1, campaign);
  while (select.step()) counts.emplace_back(select.column_text(0), select.column_int64(1));
  return counts;
}

// --- traces ------------------------------------------------------------------------------------

Trace Store::trace(const std::string& run_uuid) const {
  Transaction snapshot(*db_, Transaction::Mode::kDeferred);  // run row and metrics agree
  Trace trace;
  {
    auto& select = db_->prepared(std::string(kTraceColumns) + " WHERE run_uuid = ?1");
    ResetGuard reset(select);
    select.bind(1, run_uuid);
    if (!select.step()) throw DbError(db_->path() + ": Store::trace(): no run '" + run_uuid + "'");
    trace = read_trace_facts(select);
  }
  auto& select = db_->prepared(
      "SELECT k.key, m.step, m.value, m.is_nan FROM metrics AS m "
      "JOIN metric_keys AS k ON k.key_id = m.key_id "
      "WHERE m.run_uuid = ?1 ORDER BY m.key_id, m.step");
  ResetGuard reset(select);
  select.bind(1, run_uuid);
  Series* series = nullptr;
  std::string key;
  while (select.step()) {
    if (series == nullptr || select.column_view(0) != key) {
      key = select.column_text(0);
      series = &trace.series[key];
    }
    append_point(*series, select, 1, 2, 3);
  }
  return trace;
}

std::vector<Trace> Store::traces(const std::string& campaign) const {
  // Three queries in one read snapshot, merged by run_uuid: never one query per run.
  Transaction snapshot(*db_, Transaction::Mode::kDeferred);
  std::unordered_map<int64_t, std::string> key_names;
  {
    auto& select = db_->prepared("SELECT key_id, key FROM metric_keys");
    ResetGuard reset(select);
    while (select.step()) key_names.emplace(select.column_int64(0), select.column_text(1));
  }
  std::vector<Trace> traces;
  {
    auto& select = db_->prepared(std::string(kTraceColumns) +
                                 " WHERE status = 'FINISHED' AND (?1 = '' OR campaign = ?1) "
                                 "ORDER BY run_uuid");
    ResetGuard reset(select);
    select.bind(1, campaign);
    while (select.step()) traces.push_back(read_trace_facts(select));
  }
  // Runs in primary-key order, each followed by a range of the metrics' primary key: the rows
  // arrive sorted with no temporary B-tree. The unary + keeps the planner off the status index,
  // which would force a sort of every metric row.
  auto& select = db_->prepared(
      "SELECT r.run_uuid, m.key_id, m.step, m.value, m.is_nan "
      "FROM runs AS r JOIN metrics AS m ON m.run_uuid = r.run_uuid "
      "WHERE +r.status = 'FINISHED' AND (?1 = '' OR r.campaign = ?1) "
      "ORDER BY r.run_uuid, m.key_id, m.step");
  ResetGuard reset(select);
  select.bind(1, campaign);
  size_t current = 0;
  Series* series = nullptr;
  int64_t series_key = -1;
  while (select.step()) {
    const std::string_view id = select.column_view(0);
    if (current >= traces.size() || traces[current].run_uuid != id) {
      // Both lists are sorted by run_uuid; advance to this row's trace.
      while (current < traces.size() && traces[current].run_uuid < id) ++current;
      if (current >= traces.size() || traces[current].run_uuid != id) {
        // Only possible if the two queries disagree, which the snapshot rules out.
        throw DbError(db_->path() + ": Store::traces(): metrics of run '" + std::string(id) +
                      "' without its run row");
      }
      series = nullptr;
    }
    const int64_t key = select.column_int64(1);
    if (series == nullptr || key != series_key) {
      auto name = key_names.find(key);
      if (name == key_names.end()) {
        throw DbError(db_->path() + ": Store::traces(): unknown metric key id " +
                      std::to_string(key));
      }
      series = &traces[current].series[name->second];
      series_key = key;
    }
    append_point(*series, select, 2, 3, 4);
  }
  return traces;
}

}  // namespace dynfault::db
