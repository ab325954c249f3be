#include "db/schema.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "common/input_file.h"
#include "common/version.h"
#include "db/database.h"
#include "db/store.h"

namespace dynfault::db {

namespace {

// Conventions: ids are TEXT, times are INTEGER ms since the Unix epoch (NULL = unset), NaN is
// data and is stored as value NULL with is_nan = 1 (SQLite turns a bound NaN into NULL; a CHECK
// keeps NULL from ever meaning NaN silently); +-Inf are stored as REAL and round-trip. No STRICT
// tables: the file must stay readable by the older SQLite builds inside pandas and R.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE info (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT
);

CREATE TABLE campaigns (
  name        TEXT PRIMARY KEY NOT NULL,
  config_text TEXT NOT NULL DEFAULT '',
  config_hash TEXT NOT NULL DEFAULT '',
  created_ms  INTEGER NOT NULL
);

CREATE TABLE programs (
  program_id   TEXT PRIMARY KEY NOT NULL,
  family       TEXT NOT NULL DEFAULT '',
  task         TEXT NOT NULL DEFAULT '',
  dataset      TEXT NOT NULL DEFAULT '',
  source       TEXT NOT NULL DEFAULT '',
  changes      TEXT NOT NULL DEFAULT '',
  metric       TEXT NOT NULL DEFAULT '',
  satisfactory REAL
);

-- campaign and program_id are not foreign keys: runs may be planned (and merged) before their
-- campaign and program rows are written.
CREATE TABLE runs (
  run_uuid        TEXT PRIMARY KEY NOT NULL
                  CHECK (length(run_uuid) = 32 AND run_uuid NOT GLOB '*[^0-9a-f]*'),
  campaign        TEXT NOT NULL,
  program_id      TEXT NOT NULL,
  family          TEXT NOT NULL DEFAULT '',
  task            TEXT NOT NULL DEFAULT '',
  faults_json     TEXT NOT NULL DEFAULT '[]',
  fault_ids       TEXT NOT NULL DEFAULT '',
  seed            INTEGER NOT NULL DEFAULT 0,
  repetition      INTEGER NOT NULL DEFAULT 0,
  recipe_json     TEXT NOT NULL DEFAULT '',
  timeout_s       REAL NOT NULL DEFAULT 0,
  status          TEXT NOT NULL DEFAULT 'SCHEDULED'
                  CHECK (status IN ('SCHEDULED', 'RUNNING', 'FINISHED', 'FAILED', 'KILLED')),
  outcome         TEXT,
  error           TEXT,
  start_time      INTEGER,
  end_time        INTEGER,
  heartbeat_time  INTEGER,
  attempts        INTEGER NOT NULL DEFAULT 0,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted'))
);
CREATE INDEX runs_campaign_status ON runs (campaign, status);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE metric_keys (
  key_id INTEGER PRIMARY KEY,
  key    TEXT NOT NULL UNIQUE
);

CREATE TABLE metrics (
  run_uuid  TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
  key_id    INTEGER NOT NULL REFERENCES metric_keys (key_id),
  step      INTEGER NOT NULL DEFAULT 0,
  value     REAL,
  timestamp INTEGER NOT NULL DEFAULT 0,
  is_nan    INTEGER NOT NULL DEFAULT 0 CHECK (is_nan IN (0, 1)),
  PRIMARY KEY (run_uuid, key_id, step),
  CHECK ((value IS NULL) = (is_nan = 1))
) WITHOUT ROWID;

CREATE TABLE labels (
  run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
  task     TEXT NOT NULL,
  label    TEXT NOT NULL DEFAULT '',
  details  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_uuid, task)
) WITHOUT ROWID;
CREATE INDEX labels_task ON labels (task);

CREATE TABLE feature_sets (
  feature_set TEXT PRIMARY KEY NOT NULL,
  created_ms  INTEGER NOT NULL
);

CREATE TABLE feature_names (
  feature_set TEXT NOT NULL REFERENCES feature_sets (feature_set) ON DELETE CASCADE,
  idx         INTEGER NOT NULL,
  name        TEXT NOT NULL,
  PRIMARY KEY (feature_set, idx),
  UNIQUE (feature_set, name)
) WITHOUT ROWID;

CREATE TABLE feature_values (
  feature_set TEXT NOT NULL REFERENCES feature_sets (feature_set) ON DELETE CASCADE,
  run_uuid    TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
  idx         INTEGER NOT NULL,
  value       REAL,
  is_nan      INTEGER NOT NULL DEFAULT 0 CHECK (is_nan IN (0, 1)),
  PRIMARY KEY (feature_set, run_uuid, idx),
  CHECK ((value IS NULL) = (is_nan = 1))
) WITHOUT ROWID;

CREATE TABLE splits (
  evaluation_id TEXT NOT NULL,
  task          TEXT NOT NULL,
  protocol      TEXT NOT NULL,
  run_uuid      TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
  fold          INTEGER NOT NULL,
  PRIMARY KEY (evaluation_id, task, protocol, run_uuid)
) WITHOUT ROWID;

-- A rowid table: rows read back in the order they were written. NULL value / ci = NaN.
CREATE TABLE evaluations (
  evaluation_id TEXT NOT NULL,
  task          TEXT NOT NULL,
  protocol      TEXT NOT NULL,
  diagnoser     TEXT NOT NULL,
  feature_set   TEXT NOT NULL,
  metric        TEXT NOT NULL,
  value         REAL,
  ci_low        REAL,
  ci_high       REAL,
  n             INTEGER NOT NULL DEFAULT 0,
  details       TEXT NOT NULL DEFAULT '',
  created_ms    INTEGER NOT NULL,
  UNIQUE (evaluation_id, task, protocol, diagnoser, feature_set, metric)
);
CREATE INDEX evaluations_created ON evaluations (created_ms);

-- Views in MLflow's shape, for sqlite3, pandas and R users.
CREATE VIEW v_metrics AS
SELECT m.run_uuid AS run_uuid, k.key AS key, m.value AS value, m.step AS step,
       m.timestamp AS timestamp, m.is_nan AS is_nan
FROM metrics AS m JOIN metric_keys AS k ON k.key_id = m.key_id;

CREATE VIEW v_runs AS
SELECT r.run_uuid AS run_uuid, r.campaign AS campaign, r.program_id AS program_id,
       r.family AS family, r.task AS task, r.fault_ids AS fault_ids,
       r.faults_json AS faults_json, r.seed AS seed, r.repetition AS repetition,
       r.status AS status, r.outcome AS outcome, r.error AS error,
       r.start_time AS start_time, r.end_time AS end_time, r.attempts AS attempts,
       r.lifecycle_stage AS lifecycle_stage, ft.label AS fault_type,
       (SELECT json_group_object(l.task, l.label) FROM labels AS l
        WHERE l.run_uuid = r.run_uuid) AS labels_json
FROM runs AS r
LEFT JOIN labels AS ft ON ft.run_uuid = r.run_uuid AND ft.task = 'fault_type/default4';

CREATE VIEW v_features AS
SELECT v.run_uuid AS run_uuid, v.feature_set AS feature_set, n.name AS name,
       v.value AS value, v.is_nan AS is_nan
FROM feature_values AS v
JOIN feature_names AS n ON n.feature_set = v.feature_set AND n.idx = v.idx;
)sql";

// Schema 2 (2026-12-05): what a run computes must not depend on the machine. A campaign records
// the numeric environment its runs compute in and the library versions of the build that planned
// it (runner/numeric.h); a run records how it was last executed (db/trace.h RunExecution), so
// that `dynfault replay RUN_ID` needs no flags. NULL = not recorded (everything before schema 2).
constexpr std::string_view kSchemaV2 = R"sql(
ALTER TABLE campaigns ADD COLUMN numeric_json TEXT;
ALTER TABLE campaigns ADD COLUMN libraries_json TEXT;
ALTER TABLE runs ADD COLUMN exec_max_steps INTEGER;
ALTER TABLE runs ADD COLUMN exec_probes TEXT;
ALTER TABLE runs ADD COLUMN exec_numeric TEXT;
ALTER TABLE runs ADD COLUMN exec_libraries TEXT;
ALTER TABLE runs ADD COLUMN exec_cpu TEXT;
ALTER TABLE runs ADD COLUMN exec_build TEXT;
)sql";

/// Throws unless the file starts with SQLite's 16-byte magic string (an empty file is an empty
/// database for SQLite, and ours to initialise).
void check_header(const std::string& path, off_t size) {
  if (size == 0) return;
  static constexpr char kMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                      'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
  char header[16] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DbError(path + ": cannot read the file: " + std::strerror(errno));
  in.read(header, sizeof header);
  if (in.gcount() != static_cast<std::streamsize>(sizeof header) ||
      std::memcmp(header, kMagic, sizeof header) != 0) {
    throw DbError(path +
                  ": not an SQLite database (the file does not start with 'SQLite format "
                  "3'); refusing to open it");
  }
}

/// Throws unless `state` is a database that can be used as it is, migrated to `known`, or
/// initialised.
void check_usable(const std::string& path, const SchemaState& state, int known) {
  if (state.dynfault) {
    if (state.user_version > known) {
      throw DbError(path + ": written by a newer dynfault: schema version " +
                    std::to_string(state.user_version) + ", this build knows " +
                    std::to_string(known) + "; refusing to open it");
    }
    if (state.user_version < 1) {
      throw DbError(path + ": dynfault database with unknown schema version " +
                    std::to_string(state.user_version) + "; refusing to open it");
    }
    return;
  }
  if (state.empty) return;
  throw DbError(path + ": not a dynfault database (" + std::to_string(state.table_count) +
                " schema objects, user_version " + std::to_string(state.user_version) +
                ", no info row schema=dynfault); refusing to modify it");
}

int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

/// Why SQLite could not read a file, when the cause is permissions rather than damage.
bool is_permission_error(int code) {
  const int primary = code & 0xff;
  return primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM ||
         primary == SQLITE_AUTH;
}

}  // namespace

void require_integrity(Database& db, const std::string& refusal) {
  const bool full =
      file_size(db.path()) + file_size(db.path() + "-wal") <= kFullIntegrityCheckBytes;
  std::string result;
  try {
    auto check = db.prepare(full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)");
    while (check.step()) result += (result.empty() ? "" : "; ") + check.column_text(0);
  } catch (const DbError& e) {
    if (is_permission_error(e.code())) throw;
    result = e.what();  // a page too damaged for the check itself to read
  }
  if (result == "ok") return;
  if (result.size() > 300) result = result.substr(0, 300) + "...";
  throw DbError(db.path() + ": failed its integrity check (" +
                (full ? "integrity_check" : "quick_check") + ": " + result + "); " + refusal +
                ". The file is damaged: restore it from a backup, or merge its shard files into a "
                "new database");
}

void require_writable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::absolute(path, ec).parent_path();
  const auto refuse = [&](const std::string& what, int err) {
    throw DbError(path + ": " + what + " is read-only here (" + std::strerror(err) +
                  "); a command that writes cannot use it (export, replay, train, diagnose, "
                  "trace-csv and report only read, and work here)");
  };
  if (::access(path.c_str(), W_OK) != 0) refuse("the file", errno);
  // SQLite writes its -wal and -shm files beside the database.
  if (::access(dir.c_str(), W_OK) != 0) refuse("its directory '" + dir.string() + "'", errno);
}

void require_regular_or_missing(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw DbError(path + ": cannot access: " + std::strerror(errno));
  }
  if (S_ISREG(st.st_mode)) return;
  throw DbError(path + ": is a " + files::file_type_name(st.st_mode) +
                ", not a database file; --db must name a regular file (or a new one)");
}

const std::vector<Migration>& migrations() {
  // Append-only: a released step never changes; a new version adds {N, "...", "ALTER ..."}.
  static const std::vector<Migration> steps = {
      {1, "create the schema", kSchemaV1},
      {2, "record numeric environments and how runs were executed", kSchemaV2},
  };
  return steps;
}

std::string_view schema_v1_sql() { return kSchemaV1; }

void apply_migrations(Database& db, const std::vector<Migration>& steps) {
  DYNFAULT_ASSERT(!steps.empty() && steps.front().version == 1);
  const int target = steps.back().version;
  // Re-inspect under the write lock: another process may have initialised the file since it was
  // first looked at.
  Transaction tx(db);
  const SchemaState state = inspect(db);
  check_usable(db.path(), state, target);
  const int from = state.empty ? 0 : state.user_version;
  if (from == target) return;  // nothing to do; the destructor ends the transaction
  if (from > 0) require_integrity(db, "refusing to migrate it");  // never build on damage
  for (const auto& migration : steps) {
    if (migration.version <= from) continue;
    db.exec(std::string(migration.sql));
    db.set_user_version(migration.version);
  }
  auto& put = db.prepared(
      "INSERT INTO info (key, value) VALUES (?1, ?2) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (from == 0) {
    put.bind_all("schema", "dynfault").step_and_reset();
    put.bind_all("tool_version", kVersion).step_and_reset();
    put.bind_all("created_ms", std::to_string(unix_ms())).step_and_reset();
  } else {
    put.bind_all("migrated_from", std::to_string(from)).step_and_reset();
  }
  put.bind_all("schema_version", std::to_string(target)).step_and_reset();
  tx.commit();
}

SchemaState inspect(Database& db) {
  SchemaState state;
  try {
    state.user_version = db.user_version();
    auto count = db.prepare(
        "SELECT count(*), coalesce(sum(type = 'table' AND name = 'info'), 0) FROM sqlite_schema "
        "WHERE name NOT LIKE 'sqlite_%'");
    if (!count.step()) throw DbError(db.path() + ": cannot read sqlite_schema");
    state.table_count = static_cast<int>(count.column_int64(0));
    const bool has_info = count.column_int64(1) > 0;
    count.reset();
    if (has_info) {
      auto marker = db.prepare("SELECT value FROM info WHERE key = 'schema'");
      state.dynfault = marker.step() && marker.column_text(0) == "dynfault";
      marker.reset();
    }
  } catch (const DbError& e) {
    // A permission problem (a read-only place) is said as such, never as damage.
    if (is_permission_error(e.code()))
      throw DbError(std::string(e.what()) + "; cannot read it here (permissions?)", e.code());
    throw DbError(std::string(e.what()) + " (corrupt or not a database?); refusing to open it",
                  e.code());
  }
  state.empty = state.table_count == 0 && state.user_version == 0;
  return state;
}

std::unique_ptr<Database> open_database(const std::string& given, bool create,
                                        bool check_integrity) {
  DYNFAULT_ASSERT(!migrations().empty() && migrations().back().version == kSchemaVersion);
  if (given.empty()) throw DbError("Store::open(): empty database path");
  // A database path is a file name; Store::memory() is the way to an in-memory database.
  const std::string path = given == ":memory:" ? "./:memory:" : given;
  require_regular_or_missing(path);

  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) throw DbError(path + ": cannot access: " + std::strerror(errno));
    if (!create) throw DbError(path + ": no such database");
    auto db = std::make_unique<Database>(path, OpenMode::kReadWriteCreate);
    apply_migrations(*db, migrations());
    db->configure_for_writing();
    return db;
  }
  if (info.st_size == 0 && !create)
    throw DbError(path +
                  ": an empty file, not a dynfault database; refusing to turn it into one "
                  "(a command that creates databases, such as 'dynfault plan', does)");
  require_writable(path);
  check_header(path, info.st_size);

  // Look first through a read-only connection, so that refusing cannot change a byte.
  SchemaState state;
  {
    Database reader(path, OpenMode::kReadOnly);
    state = inspect(reader);
    check_usable(path, state, kSchemaVersion);
    if (state.empty && !create)
      throw DbError(path +
                    ": an SQLite database without tables, not a dynfault database; "
                    "refusing to turn it into one (a command that creates databases, "
                    "such as 'dynfault plan', does)");
    if (check_integrity && !state.empty) require_integrity(reader, "refusing to write to it");
  }

  auto db = std::make_unique<Database>(path, OpenMode::kReadWrite);
  if (state.empty || state.user_version < kSchemaVersion) apply_migrations(*db, migrations());
  db->configure_for_writing();
  return db;
}

std::unique_ptr<Database> open_reader(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::absolute(path, ec).parent_path();
  struct stat st {};
  const bool shm_exists = ::stat((path + "-shm").c_str(), &st) == 0;
  if (shm_exists || ::access(dir.c_str(), W_OK) == 0)
    return std::make_unique<Database>(path, OpenMode::kReadOnly);
  // SQLite reads a WAL database through its -shm file, which it cannot create here. Without
  // WAL content nothing is missed by reading the file as immutable, and nobody can be writing
  // to a file in a place that is not writable.
  if (::stat((path + "-wal").c_str(), &st) == 0 && st.st_size > 0)
    throw DbError(path + ": its write-ahead log '" + path +
                  "-wal' holds changes that SQLite can read only by creating '" + path +
                  "-shm', and the directory '" + dir.string() +
                  "' is not writable; copy the database with its -wal file to a writable place");
  return std::make_unique<Database>(path, OpenMode::kReadOnlyImmutable);
}

std::unique_ptr<Database> open_memory_database() {
  auto db = std::make_unique<Database>(":memory:", OpenMode::kReadWriteCreate);
  apply_migrations(*db, migrations());
  return db;
}

}  // namespace dynfault::db
