#pragma once
/// The dynfault schema, its migrations, and the rules for opening a file as a dynfault database.
///
/// A dynfault database is recognised by its `info` row `schema = dynfault` (a marker every future
/// schema keeps) and versioned by `PRAGMA user_version`. Opening never modifies a file that is
/// not SQLite, not a dynfault database, corrupt, or written by a newer schema.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dynfault::db {

class Database;

/// One schema step: the SQL that brings a database from `version - 1` to `version`. Version 1
/// creates the schema in an empty database.
struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

/// All steps, ordered by version; the last one is kSchemaVersion.
const std::vector<Migration>& migrations();

/// The schema v1 creation script (tables, indexes, views).
std::string_view schema_v1_sql();

/// What a file holds, as found by `inspect`.
struct SchemaState {
  bool empty = false;     ///< no tables and user_version 0: may be initialised
  bool dynfault = false;  ///< has the info marker `schema = dynfault`
  int user_version = 0;   ///< PRAGMA user_version
  int table_count = 0;    ///< schema objects (tables, indexes, views, triggers), SQLite's excluded
};

/// Reads the state of an open connection (no writes). Throws DbError on a corrupt file.
SchemaState inspect(Database& db);

/// Creates (in an empty database) or migrates the schema to `steps.back().version`, in one
/// write transaction that re-inspects the file under the lock; a failing step leaves the file as
/// it was. `open_database` passes `migrations()`; tests pass their own steps.
void apply_migrations(Database& db, const std::vector<Migration>& steps);

/// Databases up to this size (file and write-ahead log) are checked with SQLite's full
/// `PRAGMA integrity_check` at every open; larger ones with `PRAGMA quick_check`, which checks
/// the same page structure but not that indexes agree with their tables (several times faster).
inline constexpr int64_t kFullIntegrityCheckBytes = 256ll << 20;

/// Throws DbError "<path>: failed its integrity check (...); <refusal>" unless `db` passes the
/// check `kFullIntegrityCheckBytes` picks for its size.
void require_integrity(Database& db, const std::string& refusal);

/// Throws DbError unless `path` names a regular file (symbolic links followed) or nothing:
/// "--db /dev/null" or a directory is refused before SQLite touches it.
void require_regular_or_missing(const std::string& path);

/// Throws DbError saying "read-only" unless this process may write the existing file `path`
/// and its directory (where SQLite keeps the -wal and -shm files).
void require_writable(const std::string& path);

/// Opens `path` as a dynfault database, creating it when missing and `create` is true,
/// initialising an empty SQLite file (an empty 0-byte file only when `create`) and migrating an
/// older schema in one transaction; then switches to WAL. Unless `check_integrity` is false (a
/// worker whose coordinator checked the file under its lock), the file must pass
/// `require_integrity` first. Throws DbError (file untouched) on anything else.
std::unique_ptr<Database> open_database(const std::string& path, bool create,
                                        bool check_integrity = true);

/// A read-only connection to the existing database `path`, also where this process cannot
/// write (a read-only directory or file system: then opened immutable, which is safe as no
/// process can be writing there). Throws DbError naming the cause, never a corruption hint for
/// a permission problem.
std::unique_ptr<Database> open_reader(const std::string& path);

/// A new in-memory dynfault database.
std::unique_ptr<Database> open_memory_database();

}  // namespace dynfault::db
