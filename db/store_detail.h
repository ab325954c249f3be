#pragma once
/// Internals shared by db/store.cpp, db/store_runs.cpp and db/store_results.cpp, the parts of
/// db::Store (not part of the db API: db/store.h is the one public header).
#include <cstdint>
#include <limits>
#include <string>

#include "db/database.h"

namespace dynfault::db::detail {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Milliseconds since the Unix epoch (creation times of campaigns, feature sets, evaluations).
int64_t current_time_ms();

/// Optional text (outcome, error): "" is stored as NULL, the SQL way of saying "none".
void bind_optional_text(Statement& statement, int index, const std::string& text);

/// A value that may be NaN, with its is_nan flag: SQLite would turn a bound NaN into NULL
/// anyway; the flag records that the NULL means NaN.
void bind_value(Statement& statement, int value_index, int is_nan_index, double value);

/// A REAL that is NULL when NaN (evaluations: "no interval").
void bind_nullable(Statement& statement, int index, double value);

/// A REAL that is NaN when NULL.
double read_nullable(const Statement& statement, int column);

/// Throws DbError naming `caller` unless `run_uuid` is a row of `runs`. The foreign keys would
/// refuse the write too, but without saying which run.
void require_run(Database& db, const std::string& run_uuid, const char* caller);

}  // namespace dynfault::db::detail
