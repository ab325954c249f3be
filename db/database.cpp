#include "db/database.h"

#include <sqlite3.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <utility>

namespace dynfault::db {

namespace {

/// A suffix for messages about errors that mean the file is damaged.
std::string damage_hint(int rc) {
  const int primary = rc & 0xff;
  if (primary != SQLITE_CORRUPT && primary != SQLITE_NOTADB) return "";
  return "; the database file is damaged (restore it from a backup, or merge its shard files "
         "into a new database)";
}

/// The name handed to sqlite3_open_v2. Debian's SQLite takes names that start with "file:" as
/// URIs whatever the flags say; "./" in front of a relative name makes every name a file name.
/// An immutable open is a URI of our own making, the path percent-encoded.
std::string sqlite_name(const std::string& path, OpenMode mode) {
  if (path == ":memory:") return path;
  if (mode != OpenMode::kReadOnlyImmutable) return path.front() == '/' ? path : "./" + path;
  static const char* kHex = "0123456789ABCDEF";
  std::string uri = "file:";
  for (unsigned char c : std::filesystem::absolute(path).string()) {
    if (std::isalnum(c) || std::strchr("/-._~", c) != nullptr) {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri + "?mode=ro&immutable=1";
}

/// The first line of a statement, shortened, to say which statement failed.
std::string sql_excerpt(std::string_view sql) {
  constexpr size_t kMax = 80;
  std::string out;
  for (char c : sql) {
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
    const bool space = c == '\n' || c == '\t' || c == ' ';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

}  // namespace

// --- Statement ---------------------------------------------------------------------------------

Statement::Statement(Database& db, std::string_view sql, bool persistent) : db_(&db), sql_(sql) {
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(db.handle(), sql_.data(), static_cast<int>(sql_.size()),
                                    persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt_, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);  // null on error, but harmless either way
    stmt_ = nullptr;
    db.fail(rc, "cannot prepare '" + sql_excerpt(sql_) + "'");
  }
  if (stmt_ == nullptr) throw DbError(db.path() + ": empty statement '" + sql_excerpt(sql_) + "'");
  // A second statement after the first would be silently ignored by SQLite.
  for (; tail != nullptr && *tail != '\0'; ++tail) {
    if (*tail != ' ' && *tail != '\n' && *tail != '\t' && *tail != ';' && *tail != '\r') {
      sqlite3_finalize(stmt_);
      stmt_ = nullptr;
      throw DbError(db.path() + ": more than one statement in '" + sql_excerpt(sql_) + "'");
    }
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    sql_ = std::move(other.sql_);
  }
  return *this;
}

Statement::~Statement() {
  // sqlite3_finalize returns the error of the last step, which was reported then.
  sqlite3_finalize(stmt_);
}

void Statement::check_bind(int rc, int index) {
  if (rc != SQLITE_OK) {
    db_->fail(rc,
              "cannot bind parameter " + std::to_string(index) + " of '" + sql_excerpt(sql_) + "'");
  }
}

Statement& Statement::bind_int64(int index, int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check_bind(sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  // data() of an empty view may be null, which SQLite would store as NULL rather than ''.
  static const char kEmpty[] = "";
  check_bind(sqlite3_bind_text64(stmt_, index, value.empty() ? kEmpty : value.data(), value.size(),
                                 SQLITE_TRANSIENT, SQLITE_UTF8),
             index);
  return *this;
}

Statement& Statement::bind(int index, const char* value) {
  if (value == nullptr) return bind_null(index);
  return bind(index, std::string_view(value));
}

Statement& Statement::bind_null(int index) {
  check_bind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Statement& Statement::bind_blob(int index, const void* data, size_t size) {
  // A null pointer would bind NULL; an empty blob is still a blob.
  static const char kEmpty[1] = {0};
  check_bind(sqlite3_bind_blob64(stmt_, index, size == 0 ? kEmpty : data, size, SQLITE_TRANSIENT),
             index);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail(rc, "cannot run '" + sql_excerpt(sql_) + "'");
}

void Statement::step_and_reset() {
  ResetGuard guard(*this);
  while (step()) {
  }
}

Statement& Statement::reset() {
  // sqlite3_reset repeats the error of the last step; that error was already thrown by step(),
  // so only the clearing matters here.
  sqlite3_reset(stmt_);
  const int rc = sqlite3_clear_bindings(stmt_);
  if (rc != SQLITE_OK) db_->fail(rc, "cannot reset '" + sql_excerpt(sql_) + "'");
  return *this;
}

void Statement::reset_noexcept() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Statement::column_count() const { return sqlite3_column_count(stmt_); }

std::string Statement::column_name(int column) const {
  const char* name = sqlite3_column_name(stmt_, column);
  if (name == nullptr) {
    throw DbError(db_->path() + ": no column " + std::to_string(column) + " in '" +
                  sql_excerpt(sql_) + "'");
  }
  return name;
}

std::vector<std::string> Statement::column_names() const {
  std::vector<std::string> names;
  const int n = column_count();
  names.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) names.push_back(column_name(i));
  return names;
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::column_double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  const int n = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(n));
}

std::string_view Statement::column_view(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  const int n = sqlite3_column_bytes(stmt_, column);
  return std::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(n));
}

std::vector<unsigned char> Statement::column_blob(int column) const {
  const auto* data = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || n <= 0) return {};
  return std::vector<unsigned char>(data, data + n);
}

// --- Database ----------------------------------------------------------------------------------

Database::Database(const std::string& path, OpenMode mode) : path_(path) {
  if (path.empty()) throw DbError("Database: empty database path");
  int flags = 0;
  switch (mode) {
    case OpenMode::kReadOnly:
      flags = SQLITE_OPEN_READONLY;
      break;
    case OpenMode::kReadOnlyImmutable:
      flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
      break;
    case OpenMode::kReadWrite:
      flags = SQLITE_OPEN_READWRITE;
      break;
    case OpenMode::kReadWriteCreate:
      flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
  }
  const int rc = sqlite3_open_v2(sqlite_name(path, mode).c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    // sqlite3_open_v2 allocates a handle even on failure; it carries the message.
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw DbError(path_ + ": cannot open database: " + message + " (code " + std::to_string(rc) +
                      ")" + damage_hint(rc),
                  rc);
  }
  if (path != ":memory:") protected_ = std::make_unique<files::ProtectedFile>(path);
  try {
    auto check = [&](int code, const char* what) {
      if (code != SQLITE_OK) fail(code, what);
    };
    check(sqlite3_extended_result_codes(db_, 1), "cannot enable extended result codes");
    check(sqlite3_busy_timeout(db_, kBusyTimeoutMs), "cannot set the busy timeout");
    exec("PRAGMA foreign_keys = ON");
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Database::~Database() {
  cache_.clear();  // finalise before closing
  // close_v2 never fails for a valid handle; statements the caller still holds keep the
  // connection alive as a zombie until they are finalised.
  sqlite3_close_v2(db_);
}

void Database::configure_for_writing() {
  // journal_mode answers with the mode in effect; ":memory:" databases stay "memory".
  auto mode = prepare("PRAGMA journal_mode = WAL");
  std::string got = mode.step() ? mode.column_text(0) : "";
  mode.reset();
  if (got != "wal" && got != "memory") {
    throw DbError(path_ + ": cannot switch to WAL journal mode (got '" + got + "')");
  }
  exec("PRAGMA synchronous = NORMAL");
}

void Database::exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    const int code = sqlite3_extended_errcode(db_);
    throw DbError(path_ + ": cannot run '" + sql_excerpt(sql) + "': " + text + " (code " +
                      std::to_string(rc) + ")" + damage_hint(code),
                  code);
  }
}

Statement Database::prepare(std::string_view sql) { return Statement(*this, sql); }

Statement& Database::prepared(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(sql, std::make_unique<Statement>(*this, sql, /*persistent=*/true)).first;
  } else {
    it->second->reset();
  }
  return *it->second;
}

int64_t Database::last_changes() const { return sqlite3_changes64(db_); }

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

int Database::user_version() {
  auto statement = prepare("PRAGMA user_version");
  if (!statement.step()) throw DbError(path_ + ": PRAGMA user_version returned no row");
  const auto version = statement.column_int64(0);
  statement.reset();
  return static_cast<int>(version);
}

void Database::set_user_version(int version) {
  // PRAGMA takes no parameters; the integer is formatted, never user text.
  exec("PRAGMA user_version = " + std::to_string(version));
}

void Database::fail(int rc, std::string_view what) const {
  std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  throw DbError(path_ + ": " + std::string(what) + ": " + message + " (code " + std::to_string(rc) +
                    ")" + damage_hint(rc),
                rc);
}

// --- Transaction -------------------------------------------------------------------------------

Transaction::Transaction(Database& db, Mode mode) : db_(db), nested_(db.in_transaction()) {
  if (nested_) {
    db_.exec("SAVEPOINT dynfault_tx");
  } else {
    db_.exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  }
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    if (nested_) {
      db_.exec("ROLLBACK TO dynfault_tx");
      db_.exec("RELEASE dynfault_tx");
    } else if (db_.in_transaction()) {  // some errors (disk full, I/O) already rolled back
      db_.exec("ROLLBACK");
    }
  } catch (...) {
    // Never throw from a destructor (an exception may already be propagating). The library has
    // no log sink here; SQLite rolls back an unfinished transaction on close anyway.
  }
}

void Transaction::commit() {
  if (done_) throw DbError(db_.path() + ": transaction committed twice");
  db_.exec(nested_ ? "RELEASE dynfault_tx" : "COMMIT");
  done_ = true;
}

}  // namespace dynfault::db
