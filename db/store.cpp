#include "db/store.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "db/database.h"
#include "db/schema.h"

namespace dynfault::db {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t current_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

/// Optional text (outcome, error): "" is stored as NULL, the SQL way of saying "none".
void bind_optional_text(Statement& statement, int index, const std::string& text) {
  if (text.empty()) {
    statement.bind_null(index);
  } else {
    statement.bind(index, text);
  }
}

/// A value that may be NaN, with its is_nan flag: SQLite would turn a bound NaN into NULL
/// anyway; the flag records that the NULL means NaN.
void bind_value(Statement& statement, int value_index, int is_nan_index, double value) {
  if (std::isnan(value)) {
    statement.bind_null(value_index).bind(is_nan_index, 1);
  } else {
    statement.bind(value_index, value).bind(is_nan_index, 0);
  }
}

/// A REAL that is NULL when NaN (evaluations: "no interval").
void bind_nullable(Statement& statement, int index, double value) {
  if (std::isnan(value)) {
    statement.bind_null(index);
  } else {
    statement.bind(index, value);
  }
}

double read_nullable(const Statement& statement, int column) {
  return statement.column_is_null(column) ? kNaN : statement.column_double(column);
}

bool is_run_uuid(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

/// Throws DbError naming `caller` unless `run_uuid` is a row of `runs`. The foreign keys would
/// refuse the write too, but without saying which run.
void require_run(Database& db, const std::string& run_uuid, const char* caller) {
  auto& exists = db.prepared("SELECT 1 FROM runs WHERE run_uuid = ?1");
  ResetGuard reset(exists);
  exists.bind(1, run_uuid);
  if (!exists.step()) {
    throw DbError(db.path() + ": " + caller + ": no run '" + run_uuid + "'");
  }
}

/// Sets a run's status, outcome, error and times from `result` (times of 0 keep the stored
/// ones), and how it was executed when `result.execution` is recorded; `condition` narrows the
/// WHERE clause.
void update_run_end(Database& db, const RunResult& result, const std::string& condition) {
  auto& update = db.prepared(
      "UPDATE runs SET status = ?2, outcome = ?3, error = ?4, "
      "start_time = coalesce(?5, start_time), end_time = coalesce(?6, end_time) "
      "WHERE run_uuid = ?1" + condition);
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

/// SQLite reports a read-only directory as "unable to open database file" and a full disk
/// (while creating the -shm file) as "disk I/O error": say which, when the directory shows it.
std::string storage_hint(const std::string& path) {
  if (path.empty() || path == ":memory:") return "";
  std::error_code ec;
  const std::string dir = std::filesystem::absolute(path, ec).parent_path().string();
  if (ec) return "";
  if (::access(dir.c_str(), W_OK) != 0) {
    return "; its directory '" + dir + "' is not writable (" + std::strerror(errno) + ")";
  }
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) == 0 && fs.f_bavail * fs.f_frsize < 64 * 1024) {
    return "; the file system of '" + dir + "' is full (" +
           std::to_string(fs.f_bavail * fs.f_frsize) + " bytes free)";
  }
  return "";
}

}  // namespace

// --- lifetime ----------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Database> db) : db_(std::move(db)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Store Store::open(const std::string& path, bool create, IntegrityCheck integrity) {
  try {
    return Store(open_database(path, create, integrity == IntegrityCheck::kCheck));
  } catch (const DbError& e) {
    throw DbError(e.what() + storage_hint(path), e.code());
  }
}

Store Store::memory() { return Store(open_memory_database()); }

Store Store::open_read_only(const std::string& given) {
  struct stat info {};
  if (given.empty()) throw DbError("Store::open_read_only(): empty database path");
  const std::string path = given == ":memory:" ? "./:memory:" : given;  // a file name
  require_regular_or_missing(path);
  if (::stat(path.c_str(), &info) != 0) throw DbError(path + ": no such database");
  if (info.st_size == 0) throw DbError(path + ": an empty file, not a dynfault database");
  auto db = open_reader(path);
  const SchemaState state = inspect(*db);  // throws DbError for a file that is not SQLite
  if (!state.dynfault)
    throw DbError(path + ": not a dynfault database; refusing to read it");
  if (state.user_version > kSchemaVersion)
    throw DbError(path + ": written by a newer dynfault: schema version " +
                  std::to_string(state.user_version) + ", this build reads version " +
                  std::to_string(kSchemaVersion) + "; read it with the dynfault that wrote it");
  if (state.user_version != kSchemaVersion)
    throw DbError(path + ": schema version " + std::to_string(state.user_version) +
                  ", this build reads version " + std::to_string(kSchemaVersion) +
                  " (a writing command such as 'dynfault status' migrates it)");
  require_integrity(*db, "refusing to read it");
  return Store(std::move(db));
}

const std::string& Store::path() const { return db_->path(); }

Database& Store::database() { return *db_; }

// --- info --------------------------------------------------------------------------------------

void Store::set_info(const std::string& key, const std::string& value) {
  Transaction tx(*db_);
  db_->prepared(
         "INSERT INTO info (key, value) VALUES (?1, ?2) "
         "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .bind_all(key, value)
      .step_and_reset();
  tx.commit();
}

std::optional<std::string> Store::info(const std::string& key) const {
  auto& select = db_->prepared("SELECT value FROM info WHERE key = ?1");
  ResetGuard reset(select);
  select.bind(1, key);
  if (!select.step()) return std::nullopt;
  return select.column_text(0);
}

// --- campaign and programs ---------------------------------------------------------------------

void Store::upsert_campaign(const std::string& name, const std::string& config_text,
                            const std::string& config_hash) {
  Transaction tx(*db_);
  {
    auto& select = db_->prepared("SELECT config_hash FROM campaigns WHERE name = ?1");
    ResetGuard reset(select);
    select.bind(1, name);
    if (select.step()) {
      const std::string stored = select.column_text(0);
      if (stored != config_hash) {
        throw DbError(db_->path() + ": campaign '" + name + "' already exists with config hash " +
                      stored + ", but this config hashes to " + config_hash +
                      ": a different campaign under the same name (rename it or use another "
                      "database)");
      }
      return;  // same campaign: keep the first creation time
    }
  }
  db_->prepared(
         "INSERT INTO campaigns (name, config_text, config_hash, created_ms) "
         "VALUES (?1, ?2, ?3, ?4)")
      .bind_all(name, config_text, config_hash, current_time_ms())
      .step_and_reset();
  tx.commit();
}

std::optional<CampaignNumeric> Store::campaign_numeric(const std::string& name) const {
  auto& select =
      db_->prepared("SELECT numeric_json, libraries_json FROM campaigns WHERE name = ?1");
  ResetGuard reset(select);
  select.bind(1, name);
  if (!select.step()) return std::nullopt;
  return CampaignNumeric{select.column_text(0), select.column_text(1)};
}

void Store::set_campaign_numeric(const std::string& name, const CampaignNumeric& numeric) {
  Transaction tx(*db_);
  auto& update = db_->prepared(
      "UPDATE campaigns SET numeric_json = ?2, libraries_json = ?3 WHERE name = ?1");
  update.bind(1, name);
  bind_optional_text(update, 2, numeric.numeric_json);
  bind_optional_text(update, 3, numeric.libraries_json);
  update.step_and_reset();
  if (db_->last_changes() != 1)
    throw DbError(db_->path() + ": Store::set_campaign_numeric(): no campaign '" + name + "'");
  tx.commit();
}

std::vector<std::string> Store::campaigns() const {
  std::vector<std::string> names;
  auto& select = db_->prepared("SELECT name FROM campaigns ORDER BY created_ms, name");
  ResetGuard reset(select);
  while (select.step()) names.push_back(select.column_text(0));
  return names;
}

void Store::require_campaign(const std::string& name) const {
  if (name.empty()) return;
  auto& select = db_->prepared(
      "SELECT 1 WHERE EXISTS (SELECT 1 FROM campaigns WHERE name = ?1) "
      "OR EXISTS (SELECT 1 FROM runs WHERE campaign = ?1)");
  {
    ResetGuard reset(select);
    select.bind(1, name);
    if (select.step()) return;
  }
  std::vector<std::string> known = campaigns();
  auto& others = db_->prepared("SELECT DISTINCT campaign FROM runs ORDER BY campaign");
  ResetGuard reset(others);
  while (others.step()) {
    std::string c = others.column_text(0);
    if (std::find(known.begin(), known.end(), c) == known.end()) known.push_back(std::move(c));
  }
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw DbError("no campaign '" + name + "' in " + db_->path() +
                (list.empty() ? std::string(" (it has none)") : " (it has: " + list + ")"));
}

std::optional<std::string> Store::campaign_config(const std::string& name) const {
  auto& select = db_->prepared("SELECT config_text FROM campaigns WHERE name = ?1");
  ResetGuard reset(select);
  select.bind(1, name);
  if (!select.step()) return std::nullopt;
  return select.column_text(0);
}

void Store::upsert_program(const ProgramRow& p) {
  Transaction tx(*db_);
  auto& upsert = db_->prepared(
      "INSERT INTO programs (program_id, family, task, dataset, source, changes, metric, "
      "satisfactory) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (program_id) DO UPDATE SET family = excluded.family, task = excluded.task, "
      "dataset = excluded.dataset, source = excluded.source, changes = excluded.changes, "
      "metric = excluded.metric, satisfactory = excluded.satisfactory");
  upsert.bind_all(p.id, p.family, p.task, p.dataset, p.source, p.changes, p.metric);
  bind_nullable(upsert, 8, p.satisfactory);
  upsert.step_and_reset();
  tx.commit();
}

std::vector<ProgramRow> Store::programs() const {
  std::vector<ProgramRow> rows;
  auto& select = db_->prepared(
      "SELECT program_id, family, task, dataset, source, changes, metric, satisfactory "
      "FROM programs ORDER BY program_id");
  ResetGuard reset(select);
  while (select.step()) {
    ProgramRow p;
    p.id = select.column_text(0);
    p.family = select.column_text(1);
    p.task = select.column_text(2);
    p.dataset = select.column_text(3);
    p.source = select.column_text(4);
    p.changes = select.column_text(5);
    p.metric = select.column_text(6);
    p.satisfactory = read_nullable(select, 7);
    rows.push_back(std::move(p));
  }
  return rows;
}

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

// --- labels ------------------------------------------------------------------------------------

void Store::write_labels(const std::string& task, const std::vector<LabelRow>& rows) {
  Transaction tx(*db_);
  db_->prepared("DELETE FROM labels WHERE task = ?1").bind(1, task).step_and_reset();
  auto& insert =
      db_->prepared("INSERT INTO labels (run_uuid, task, label, details) VALUES (?1, ?2, ?3, ?4)");
  for (const auto& row : rows) {
    require_run(*db_, row.run_uuid, "Store::write_labels()");
    insert.bind_all(row.run_uuid, task, row.label, row.details).step_and_reset();
  }
  tx.commit();
}

std::vector<LabelRow> Store::labels(const std::string& task) const {
  std::vector<LabelRow> rows;
  auto& select = db_->prepared(
      "SELECT run_uuid, label, details FROM labels WHERE task = ?1 ORDER BY run_uuid");
  ResetGuard reset(select);
  select.bind(1, task);
  while (select.step()) {
    rows.push_back({select.column_text(0), select.column_text(1), select.column_text(2)});
  }
  return rows;
}

// --- features ----------------------------------------------------------------------------------

void Store::write_features(const FeatureTable& table) {
  const std::string where = db_->path() + ": Store::write_features('" + table.feature_set + "')";
  if (table.feature_set.empty()) throw DbError(where + ": empty feature set name");
  if (table.rows.size() != table.run_uuids.size()) {
    throw DbError(where + ": " + std::to_string(table.rows.size()) + " rows for " +
                  std::to_string(table.run_uuids.size()) + " runs");
  }
  if (table.names.empty() && !table.rows.empty()) {
    throw DbError(where + ": rows without feature names");
  }
  for (size_t i = 0; i < table.rows.size(); ++i) {
    if (table.rows[i].size() != table.names.size()) {
      throw DbError(where + ": row of run '" + table.run_uuids[i] + "' has " +
                    std::to_string(table.rows[i].size()) + " values for " +
                    std::to_string(table.names.size()) + " features");
    }
  }
  Transaction tx(*db_);
  // Cascades to feature_names and feature_values.
  db_->prepared("DELETE FROM feature_sets WHERE feature_set = ?1")
      .bind(1, table.feature_set)
      .step_and_reset();
  db_->prepared("INSERT INTO feature_sets (feature_set, created_ms) VALUES (?1, ?2)")
      .bind_all(table.feature_set, current_time_ms())
      .step_and_reset();
  auto& name =
      db_->prepared("INSERT INTO feature_names (feature_set, idx, name) VALUES (?1, ?2, ?3)");
  for (size_t j = 0; j < table.names.size(); ++j) {
    name.bind_all(table.feature_set, j, table.names[j]).step_and_reset();
  }
  auto& value = db_->prepared(
      "INSERT INTO feature_values (feature_set, run_uuid, idx, value, is_nan) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  for (size_t i = 0; i < table.rows.size(); ++i) {
    require_run(*db_, table.run_uuids[i], "Store::write_features()");
    for (size_t j = 0; j < table.names.size(); ++j) {
      value.bind(1, table.feature_set).bind(2, table.run_uuids[i]).bind(3, j);
      bind_value(value, 4, 5, table.rows[i][j]);
      value.step_and_reset();
    }
  }
  tx.commit();
}

FeatureTable Store::features(const std::string& feature_set) const {
  Transaction snapshot(*db_, Transaction::Mode::kDeferred);
  FeatureTable table;
  table.feature_set = feature_set;
  {
    auto& exists = db_->prepared("SELECT 1 FROM feature_sets WHERE feature_set = ?1");
    ResetGuard reset(exists);
    exists.bind(1, feature_set);
    if (!exists.step()) {
      throw DbError(db_->path() + ": feature set '" + feature_set +
                    "' was never extracted (run `dynfault features` first)");
    }
  }
  {
    auto& names =
        db_->prepared("SELECT name FROM feature_names WHERE feature_set = ?1 ORDER BY idx");
    ResetGuard reset(names);
    names.bind(1, feature_set);
    while (names.step()) table.names.push_back(names.column_text(0));
  }
  auto& values = db_->prepared(
      "SELECT run_uuid, idx, value, is_nan FROM feature_values WHERE feature_set = ?1 "
      "ORDER BY run_uuid, idx");
  ResetGuard reset(values);
  values.bind(1, feature_set);
  const size_t width = table.names.size();
  while (values.step()) {
    if (table.run_uuids.empty() || values.column_view(0) != table.run_uuids.back()) {
      table.run_uuids.push_back(values.column_text(0));
      table.rows.emplace_back(width, kNaN);
    }
    const int64_t j = values.column_int64(1);
    if (j < 0 || static_cast<size_t>(j) >= width) {
      throw DbError(db_->path() + ": feature set '" + feature_set + "' has a value at index " +
                    std::to_string(j) + " beyond its " + std::to_string(width) + " names");
    }
    const bool nan = values.column_int64(3) != 0 || values.column_is_null(2);
    table.rows.back()[static_cast<size_t>(j)] = nan ? kNaN : values.column_double(2);
  }
  return table;
}

std::vector<std::string> Store::feature_sets() const {
  std::vector<std::string> names;
  auto& select = db_->prepared("SELECT feature_set FROM feature_sets ORDER BY feature_set");
  ResetGuard reset(select);
  while (select.step()) names.push_back(select.column_text(0));
  return names;
}

// --- evaluation --------------------------------------------------------------------------------

void Store::write_splits(const std::string& evaluation_id, const std::string& task,
                         const std::string& protocol, const std::vector<SplitRow>& rows) {
  Transaction tx(*db_);
  db_->prepared("DELETE FROM splits WHERE evaluation_id = ?1 AND task = ?2 AND protocol = ?3")
      .bind_all(evaluation_id, task, protocol)
      .step_and_reset();
  auto& insert = db_->prepared(
      "INSERT INTO splits (evaluation_id, task, protocol, run_uuid, fold) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  for (const auto& row : rows) {
    require_run(*db_, row.run_uuid, "Store::write_splits()");
    insert.bind_all(evaluation_id, task, protocol, row.run_uuid, row.fold).step_and_reset();
  }
  tx.commit();
}

std::vector<SplitRow> Store::splits(const std::string& evaluation_id, const std::string& task,
                                    const std::string& protocol) const {
  std::vector<SplitRow> rows;
  auto& select = db_->prepared(
      "SELECT run_uuid, fold FROM splits WHERE evaluation_id = ?1 AND task = ?2 "
      "AND protocol = ?3 ORDER BY run_uuid");
  ResetGuard reset(select);
  select.bind_all(evaluation_id, task, protocol);
  while (select.step()) rows.push_back({select.column_text(0), select.column_int64(1)});
  return rows;
}

void Store::write_evaluation(const std::vector<EvaluationRow>& rows) {
  if (rows.empty()) return;
  const int64_t created = current_time_ms();
  Transaction tx(*db_);
  auto& insert = db_->prepared(
      "INSERT OR REPLACE INTO evaluations (evaluation_id, task, protocol, diagnoser, "
      "feature_set, metric, value, ci_low, ci_high, n, details, created_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  for (const auto& r : rows) {
    insert.bind_all(r.evaluation_id, r.task, r.protocol, r.diagnoser, r.feature_set, r.metric);
    bind_nullable(insert, 7, r.value);
    bind_nullable(insert, 8, r.ci_low);
    bind_nullable(insert, 9, r.ci_high);
    insert.bind(10, r.n).bind(11, r.details).bind(12, created);
    insert.step_and_reset();
  }
  tx.commit();
}

std::vector<EvaluationRow> Store::evaluation(const std::string& evaluation_id) const {
  Transaction snapshot(*db_, Transaction::Mode::kDeferred);
  std::string id = evaluation_id;
  if (id.empty()) {
    auto& latest = db_->prepared(
        "SELECT evaluation_id FROM evaluations ORDER BY created_ms DESC, rowid DESC LIMIT 1");
    ResetGuard reset(latest);
    if (!latest.step()) return {};
    id = latest.column_text(0);
  }
  std::vector<EvaluationRow> rows;
  auto& select = db_->prepared(
      "SELECT evaluation_id, task, protocol, diagnoser, feature_set, metric, value, ci_low, "
      "ci_high, n, details FROM evaluations WHERE evaluation_id = ?1 ORDER BY rowid");
  ResetGuard reset(select);
  select.bind(1, id);
  while (select.step()) {
    EvaluationRow r;
    r.evaluation_id = select.column_text(0);
    r.task = select.column_text(1);
    r.protocol = select.column_text(2);
    r.diagnoser = select.column_text(3);
    r.feature_set = select.column_text(4);
    r.metric = select.column_text(5);
    r.value = read_nullable(select, 6);
    r.ci_low = read_nullable(select, 7);
    r.ci_high = read_nullable(select, 8);
    r.n = select.column_int64(9);
    r.details = select.column_text(10);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace dynfault::db
