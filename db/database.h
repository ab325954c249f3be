#pragma once
/// A thin RAII layer over the SQLite C API: `Database` (one connection), `Statement` (one
/// prepared statement) and `Transaction` (BEGIN IMMEDIATE ... COMMIT, rolled back unless
/// committed). Every SQLite return code is checked; failures throw DbError naming the file.
///
/// A connection is used by one thread at a time. Several connections (in one or several
/// processes) may share a file: WAL mode and a 30 s busy timeout serialise their writers.
///
/// Example:
///   Database db("runs.db", OpenMode::kReadWriteCreate);
///   Transaction tx(db);
///   auto& insert = db.prepared("INSERT INTO info(key, value) VALUES (?1, ?2)");
///   insert.bind_all("host", "node1").step_and_reset();
///   tx.commit();
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "common/output_file.h"
#include "db/store.h"  // DbError

struct sqlite3;  // sqlite3.h stays out of our public headers
struct sqlite3_stmt;

namespace dynfault::db {

/// How `Database` opens its file.
enum class OpenMode {
  kReadOnly,         ///< never writes; fails when the file does not exist
  kReadWrite,        ///< fails when the file does not exist
  kReadWriteCreate,  ///< creates an empty file when missing
  /// Read-only, and SQLite may assume that nobody changes the file meanwhile: no locks, no
  /// -shm file, no -wal file read. For a database in a place this process cannot write (a
  /// read-only directory or file system), which therefore has no WAL content to miss.
  kReadOnlyImmutable,
};

/// Busy timeout of every connection: how long a writer waits for another writer's lock.
inline constexpr int kBusyTimeoutMs = 30'000;

/// One prepared statement. Parameters are bound by 1-based index (SQLite's convention), columns
/// are read by 0-based index. Move-only; finalised by the destructor.
class Statement {
 public:
  /// Prepares `sql` (a single statement) on `db`; throws DbError on a syntax error.
  Statement(Database& db, std::string_view sql, bool persistent = false);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  /// Binds an integer (any integral type, bool included) as INTEGER.
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  Statement& bind(int index, T value) {
    return bind_int64(index, static_cast<int64_t>(value));
  }
  /// Binds a REAL. NaN is stored by SQLite as NULL; +-Inf round-trip.
  Statement& bind(int index, double value);
  /// Binds TEXT (copied).
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  /// Binds TEXT, or NULL when `value` is nullptr.
  Statement& bind(int index, const char* value);
  Statement& bind(int index, std::nullptr_t) { return bind_null(index); }
  Statement& bind_int64(int index, int64_t value);
  Statement& bind_null(int index);
  /// Binds a BLOB (copied).
  Statement& bind_blob(int index, const void* data, size_t size);
  /// Binds `args` to parameters 1, 2, ... in order.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
    return *this;
  }

  /// Advances to the next row: true when a row is available, false when done. Throws DbError.
  bool step();
  /// Runs the statement to completion (rows are discarded), then resets it.
  void step_and_reset();
  /// Resets the statement so that it can run again and clears its bindings. A statement left
  /// mid-way holds a read snapshot, so every use should end in a reset (or in `step()`==false).
  Statement& reset();
  /// As `reset()` but never throws (destructors, scope guards).
  void reset_noexcept() noexcept;

  int column_count() const;
  std::string column_name(int column) const;
  std::vector<std::string> column_names() const;
  bool column_is_null(int column) const;
  int64_t column_int64(int column) const;
  double column_double(int column) const;
  /// The column as text; "" for NULL.
  std::string column_text(int column) const;
  /// The column as text without a copy; valid until the next step, reset or column call.
  std::string_view column_view(int column) const;
  std::vector<unsigned char> column_blob(int column) const;

  const std::string& sql() const { return sql_; }
  sqlite3_stmt* handle() const { return stmt_; }

 private:
  void check_bind(int rc, int index);

  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

/// Resets a statement when leaving a scope, so that an exception or an early return never leaves
/// it holding a read snapshot.
class ResetGuard {
 public:
  explicit ResetGuard(Statement& statement) : statement_(statement) {}
  ~ResetGuard() { statement_.reset_noexcept(); }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  Statement& statement_;
};

/// One SQLite connection. Not copyable or movable (statements point to it).
class Database {
 public:
  /// Opens `path` (or ":memory:"); sets the busy timeout and foreign_keys=ON. Journal mode and
  /// synchronous are left alone: `configure_for_writing()` sets them once the file is known to
  /// be ours. `path` is always a file name, never an SQLite URI ("file:x.db?mode=memory" is the
  /// file of that name). While open, the file is protected from being overwritten by any
  /// output of this process (common/output_file.h).
  Database(const std::string& path, OpenMode mode);
  /// Finalises cached statements and closes the connection; never throws.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// WAL journal mode and synchronous=NORMAL: several processes write one file, a crash never
  /// corrupts it. Writes the file header, so call it only on a dynfault database.
  void configure_for_writing();

  /// Runs one or more statements that return no rows of interest.
  void exec(const std::string& sql);
  /// Prepares a statement owned by the caller.
  Statement prepare(std::string_view sql);
  /// A statement cached on this connection, reset and with cleared bindings. The same SQL
  /// returns the same object, so do not use it re-entrantly.
  Statement& prepared(const std::string& sql);

  /// Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t last_changes() const;
  int64_t last_insert_rowid() const;
  /// True while a transaction is open on this connection.
  bool in_transaction() const;

  int user_version();
  void set_user_version(int version);

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  /// Throws DbError "<path>: <what>: <sqlite3_errmsg> (code <rc>)", and says that the file is
  /// damaged when SQLite found it so (SQLITE_CORRUPT, SQLITE_NOTADB).
  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unique_ptr<files::ProtectedFile> protected_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

/// A transaction: BEGIN IMMEDIATE (the write lock is taken up front, so a writer never fails
/// half-way on a lock upgrade) or BEGIN DEFERRED (a consistent read snapshot). Inside an open
/// transaction it becomes a SAVEPOINT, so store operations compose. Rolled back by the
/// destructor unless committed; the destructor never throws.
class Transaction {
 public:
  enum class Mode { kImmediate, kDeferred };
  explicit Transaction(Database& db, Mode mode = Mode::kImmediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Database& db_;
  bool nested_ = false;
  bool done_ = false;
};

}  // namespace dynfault::db
