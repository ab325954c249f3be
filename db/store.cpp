#include "db/store.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <utility>

#include "db/database.h"
#include "db/schema.h"
#include "db/store_detail.h"

// The Store's lifetime, info, campaigns and programs, and the helpers of db/store_detail.h; its
// runs and traces are in db/store_runs.cpp, labels, features and evaluations in
// db/store_results.cpp.
namespace dynfault::db {

namespace detail {

int64_t current_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void bind_optional_text(Statement& statement, int index, const std::string& text) {
  if (text.empty()) {
    statement.bind_null(index);
  } else {
    statement.bind(index, text);
  }
}

void bind_value(Statement& statement, int value_index, int is_nan_index, double value) {
  if (std::isnan(value)) {
    statement.bind_null(value_index).bind(is_nan_index, 1);
  } else {
    statement.bind(value_index, value).bind(is_nan_index, 0);
  }
}

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

void require_run(Database& db, const std::string& run_uuid, const char* caller) {
  auto& exists = db.prepared("SELECT 1 FROM runs WHERE run_uuid = ?1");
  ResetGuard reset(exists);
  exists.bind(1, run_uuid);
  if (!exists.step()) {
    throw DbError(db.path() + ": " + caller + ": no run '" + run_uuid + "'");
  }
}

}  // namespace detail

using namespace detail;

namespace {

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
  if (!state.dynfault) throw DbError(path + ": not a dynfault database; refusing to read it");
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
  auto& update =
      db_->prepared("UPDATE campaigns SET numeric_json = ?2, libraries_json = ?3 WHERE name = ?1");
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

}  // namespace dynfault::db
