#include <string>
#include <utility>
#include <vector>

#include "db/database.h"
#include "db/store.h"
#include "db/store_detail.h"

// db::Store: labels, feature vectors, split assignments and evaluation results.
namespace dynfault::db {

using namespace detail;

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
