#pragma once
/// The dynfault database: one SQLite file holding campaign, programs, runs, traces, labels,
/// feature vectors, split assignments and evaluation results. Torch-free; sqlite3.h stays out.
///
/// Every stage reads and writes it through this class. Opening refuses a file that is not a
/// dynfault database or whose schema version is unknown, and never modifies such a file.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/check.h"
#include "db/trace.h"

namespace dynfault::db {

/// An SQLite failure or a refused database; the message names the file and the cause.
class DbError : public dynfault::Error {
 public:
  explicit DbError(const std::string& what, int code = 0) : dynfault::Error(what), code_(code) {}
  /// SQLite's extended result code behind the error; 0 when dynfault refused on its own.
  int code() const { return code_; }

 private:
  int code_ = 0;
};

class Database;  // RAII connection, db/database.h

/// Current schema version written to PRAGMA user_version.
inline constexpr int kSchemaVersion = 2;

struct ProgramRow {
  std::string id, family, task, dataset, source, changes, metric;
  double satisfactory = 0;
};

struct LabelRow {
  std::string run_uuid;
  std::string label;    ///< class name; "" = not applicable to this run (excluded)
  std::string details;  ///< JSON with the values the label was derived from
};

/// A feature matrix: one row per run, columns named.
struct FeatureTable {
  std::string feature_set;
  std::vector<std::string> names;
  std::vector<std::string> run_uuids;
  std::vector<std::vector<double>> rows;  ///< rows[i][j] for run i, feature j; NaN allowed
};

struct SplitRow {
  std::string run_uuid;
  int64_t fold = 0;  ///< the fold in which this run is in the test part
};

/// One evaluation result row (also used for per-class recalls etc. via `metric`).
struct EvaluationRow {
  std::string evaluation_id;  ///< groups the rows of one `dynfault evaluate` call
  std::string task;           ///< fault_type, instability, mismatch, detection, program_identity
  std::string protocol;       ///< within, heldout, gap
  std::string diagnoser;
  std::string feature_set;
  std::string metric;  ///< balanced_accuracy, macro_f1, recall/<class>, ...
  double value = 0;
  double ci_low = 0, ci_high = 0;  ///< NaN when no interval was computed
  int64_t n = 0;                   ///< number of test predictions behind the value
  std::string details;             ///< JSON (confusion matrix, class names, ...)
};

/// What a campaign row records about the numeric environment of its runs (schema 2), as JSON
/// texts that db/ stores without reading (runner/numeric.h writes and reads them); "" = not
/// recorded (a campaign planned before schema 2).
struct CampaignNumeric {
  std::string numeric_json;    ///< the environment its runs compute in
  std::string libraries_json;  ///< LibTorch, OpenBLAS and oneDNN versions of the planning build
};

struct RunFilter {
  std::string campaign;  ///< "" = any
  std::string status;    ///< "" = any
};

/// Whether `Store::open` checks the file's integrity before writing to it.
enum class IntegrityCheck {
  kCheck,    ///< integrity_check, or quick_check above db::kFullIntegrityCheckBytes (schema.h)
  kTrusted,  ///< none: a worker, whose coordinator checked the file under its lock
};

class Store {
 public:
  /// Opens `path` (a file name, never an SQLite URI; a regular file or a new one), creating and
  /// initialising it when it does not exist and `create` is true (an existing empty 0-byte file
  /// is initialised only then). Applies migrations to older dynfault schemas. Throws DbError
  /// (file untouched) for a file that is not SQLite, not a dynfault database, damaged (fails its
  /// integrity check), or has a newer/unknown schema version.
  static Store open(const std::string& path, bool create = true,
                    IntegrityCheck integrity = IntegrityCheck::kCheck);
  /// Opens an in-memory database (tests).
  static Store memory();
  /// Opens an existing dynfault database of the current schema version through a read-only
  /// connection (`dynfault replay`, `dynfault export`): nothing, not even a migration or the
  /// journal mode, is ever written; every write method throws DbError. Works in read-only
  /// directories. Throws DbError for a missing file, a file that is not a dynfault database, a
  /// damaged one (the integrity check of `open`), or another schema version.
  static Store open_read_only(const std::string& path);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const std::string& path() const;
  Database& database();

  // --- info ------------------------------------------------------------------------------
  void set_info(const std::string& key, const std::string& value);
  std::optional<std::string> info(const std::string& key) const;

  // --- campaign and programs ------------------------------------------------------------
  /// Records the campaign; a second call with the same name keeps the first creation time and
  /// throws DbError if the config hash differs (a different campaign under the same name).
  void upsert_campaign(const std::string& name, const std::string& config_text,
                       const std::string& config_hash);
  /// Names of the campaigns in this database.
  std::vector<std::string> campaigns() const;
  /// Throws DbError "no campaign '<name>' in <file> (it has: ...)" unless `name` is "" (any) or
  /// the campaign of a campaign row or of a run. Every command that takes a campaign option
  /// calls it first (through the library function it calls: labels, features, evaluation,
  /// reports, training, execution, export), so that a misspelt --campaign is an error rather
  /// than an empty result; the query methods below filter as asked.
  void require_campaign(const std::string& name) const;
  /// The numeric environment recorded for campaign `name`, or nullopt without a campaign row.
  std::optional<CampaignNumeric> campaign_numeric(const std::string& name) const;
  /// Records the numeric environment of an existing campaign; throws DbError without its row.
  void set_campaign_numeric(const std::string& name, const CampaignNumeric& numeric);
  /// The stored config text of campaign `name` (workers read its `probes:` mapping), or nullopt.
  std::optional<std::string> campaign_config(const std::string& name) const;
  void upsert_program(const ProgramRow& p);
  std::vector<ProgramRow> programs() const;

  // --- runs -------------------------------------------------------------------------------
  /// Inserts runs in one transaction; existing run ids are left untouched. Returns how many
  /// were new.
  int64_t insert_runs(const std::vector<RunSpec>& runs);
  /// Replaces runs in one transaction: each pair's old run (when present) is deleted with its
  /// metrics, labels, feature values and splits, and the new spec inserted as SCHEDULED (the
  /// same id or another: a stale run re-planned by a newer build). Returns how many old runs
  /// were deleted.
  int64_t replace_runs(const std::vector<std::pair<std::string, RunSpec>>& replacements);
  std::vector<RunRow> runs(const RunFilter& filter = {}) const;
  std::optional<RunRow> run(const std::string& run_uuid) const;
  /// SCHEDULED -> RUNNING (attempts+1, start/heartbeat = now_ms). False if not SCHEDULED.
  bool mark_running(const std::string& run_uuid, int64_t now_ms);
  void heartbeat(const std::vector<std::string>& run_uuids, int64_t now_ms);
  /// Puts RUNNING runs whose heartbeat is older than `stale_before_ms` back to SCHEDULED. Their
  /// coordinator died: the attempt was interrupted, and is not counted (attempts - 1).
  int64_t requeue_stale(int64_t stale_before_ms);
  /// Puts KILLED runs (interrupted from outside: attempts - 1, as the interruption is not the
  /// run's failure), and FAILED runs with fewer than `max_attempts` attempts (0 = no cap), of
  /// `campaign` ("" = all) back to SCHEDULED. So `attempts` counts the starts that ended on
  /// their own (finished, or failed by the run's own crash, timeout or exception), plus the
  /// start in progress, and the cap bounds how often a run that crashes its worker is retried.
  int64_t requeue_unfinished(const std::string& campaign, int64_t max_attempts = 0);
  /// Records the end of a run that produced no trace (crash, timeout, interruption): sets status,
  /// outcome, error, end time and how it was executed (when recorded), only while the run is
  /// still RUNNING, and keeps its metrics.
  /// False when the run had already left RUNNING (its worker stored a result first), which then
  /// stands: a finished run is never overwritten by the coordinator's verdict.
  bool finish_running(const RunResult& result);
  /// `PRAGMA quick_check` (`full`: integrity_check): "ok", or the problems found (also when the
  /// damage stops the check itself).
  std::string check_integrity(bool full = false);
  /// Stores a finished run in one transaction: replaces its metrics, sets status, outcome,
  /// error and times, and how it was executed (when recorded). Nothing is written if any part
  /// fails.
  void write_result(const RunResult& result);
  /// Counts of runs per status.
  std::vector<std::pair<std::string, int64_t>> status_counts(const std::string& campaign) const;

  // --- traces ---------------------------------------------------------------------------
  Trace trace(const std::string& run_uuid) const;
  /// Traces of FINISHED runs (of `campaign`, "" = all), ordered by run_uuid.
  std::vector<Trace> traces(const std::string& campaign = "") const;

  // --- labels ---------------------------------------------------------------------------
  /// Replaces all labels of `task` (fault_type/<taxonomy>, instability, mismatch, ...).
  void write_labels(const std::string& task, const std::vector<LabelRow>& rows);
  std::vector<LabelRow> labels(const std::string& task) const;

  // --- features -------------------------------------------------------------------------
  /// Replaces the stored vectors of `table.feature_set`.
  void write_features(const FeatureTable& table);
  /// Reads a stored feature set; throws DbError when it was never extracted.
  FeatureTable features(const std::string& feature_set) const;
  std::vector<std::string> feature_sets() const;

  // --- evaluation -----------------------------------------------------------------------
  /// Stores split assignments of one evaluation (task, protocol).
  void write_splits(const std::string& evaluation_id, const std::string& task,
                    const std::string& protocol, const std::vector<SplitRow>& rows);
  std::vector<SplitRow> splits(const std::string& evaluation_id, const std::string& task,
                               const std::string& protocol) const;
  void write_evaluation(const std::vector<EvaluationRow>& rows);
  /// Rows of `evaluation_id` ("" = the latest evaluation).
  std::vector<EvaluationRow> evaluation(const std::string& evaluation_id = "") const;

 private:
  explicit Store(std::unique_ptr<Database> db);
  std::unique_ptr<Database> db_;
  /// metric key -> key_id, filled only with ids whose transaction committed (a rolled-back id
  /// may be reused by another connection for a different key).
  std::unordered_map<std::string, int64_t> key_ids_;
};

}  // namespace dynfault::db
