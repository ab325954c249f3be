#pragma once
/// The evaluation: every (task, feature set, diagnoser) scored under both protocols,
///   within  - stratified k-fold over traces (the same programs on both sides), and
///   heldout - folds grouped by program (leave-one-program-out by default),
/// on pooled out-of-fold predictions (every trace predicted once per protocol, by a model that
/// never saw it; pooling rather than averaging per fold because a held-out program rarely has
/// every class). Gap = within - heldout. Confidence intervals come from a clustered bootstrap:
/// programs are resampled with replacement, each drawn program brings all its traces with their
/// out-of-fold predictions from both protocols, and both scores and the gap are recomputed;
/// percentile intervals. Splits and results are stored, so every number is recomputable.
///
/// Also, on the same resamples: paired comparisons of feature sets (difference of held-out
/// balanced accuracy, per diagnoser), and the program-level structure of each feature set: how
/// well it predicts which program a trace came from (task `program_identity`), and the share of
/// each feature's variance explained by the program (one-way ANOVA eta^2, task
/// `program_variance`).
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/check.h"
#include "db/store.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/metrics.h"
#include "diagnosis/splits.h"
#include "features/feature_set.h"

namespace dynfault::db {
class Store;
}  // namespace dynfault::db

namespace dynfault::diagnosis {

/// Options of evaluate().
///
/// Example:
///   evaluate(store, EvaluateOptions().tasks({"fault_type/default4"}).bootstrap(1000).threads(2));
struct EvaluateOptions {
  DYNFAULT_ARG(std::string, campaign) = "";  ///< "" = every campaign
  /// Label tasks (`labels` table names); traces labelled "" are dropped per task.
  DYNFAULT_ARG(std::vector<std::string>, tasks) = std::vector<std::string>{"fault_type/default4"};
  /// Stored feature sets; "a+b" uses the stored table of that name or joins a and b by run.
  DYNFAULT_ARG(std::vector<std::string>, feature_sets) = features::default_feature_sets();
  DYNFAULT_ARG(std::vector<std::string>,
               diagnosers) = std::vector<std::string>{"logistic_regression"};
  DYNFAULT_ARG(int, within_folds) = 5;            ///< stratified k for the within protocol
  DYNFAULT_ARG(int, heldout_folds) = 0;           ///< 0 = leave-one-program-out, else group k-fold
  DYNFAULT_ARG(int64_t, bootstrap) = 1000;        ///< program resamples; 0 = no intervals
  DYNFAULT_ARG(double, confidence) = 0.95;        ///< percentile interval level
  DYNFAULT_ARG(uint64_t, seed) = 0;               ///< splits and bootstrap
  DYNFAULT_ARG(int, threads) = 1;                 ///< OpenMP threads across folds and resamples
  DYNFAULT_ARG(std::string, evaluation_id) = "";  ///< "" = a fresh id
  /// Compare every pair of the listed feature sets per diagnoser and task (held-out balanced
  /// accuracy difference on shared resamples).
  DYNFAULT_ARG(bool, paired) = true;
  /// Program-level structure of each listed feature set: program identity and eta^2.
  DYNFAULT_ARG(bool, program_structure) = true;
  /// Diagnoser that predicts the program from the features (within protocol only).
  DYNFAULT_ARG(std::string, identity_diagnoser) = "random_forest";
  /// Features listed per set as the most program-dependent (largest eta^2).
  DYNFAULT_ARG(int, top_features) = 5;
};

/// A point estimate with its percentile interval (NaN bounds when none was computed).
struct Interval {
  double value = std::numeric_limits<double>::quiet_NaN();
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
};

/// Scores of one protocol on the pooled out-of-fold predictions.
struct ProtocolScores {
  Interval balanced_accuracy;
  Interval macro_f1;
  std::map<std::string, double> recall;  ///< per class present in the labels
  ConfusionMatrix confusion;
  int64_t n = 0;  ///< predictions
  int64_t folds = 0;
};

/// One (diagnoser, feature set) under both protocols.
struct EvaluationResult {
  std::string diagnoser;
  std::string feature_set;
  int64_t n_features = 0;
  ProtocolScores within;
  ProtocolScores heldout;
  Interval gap_balanced_accuracy;  ///< within - heldout
  Interval gap_macro_f1;
  int64_t bootstrap = 0;  ///< resamples behind the intervals
  /// Held-out balanced accuracy of each bootstrap resample (not stored; paired comparisons).
  std::vector<double> heldout_draws;
  /// CPU seconds (thread time) of the fits and predictions behind `within` and `heldout`, summed
  /// over folds (not stored; profiling).
  double fit_seconds[2] = {0, 0};
};

/// Held-out balanced accuracy of feature set a minus that of b, same diagnoser, same resamples.
struct PairedComparison {
  std::string diagnoser;
  std::string set_a, set_b;
  Interval difference;          ///< a - b with its percentile interval
  double share_positive = NAN;  ///< share of resamples where a - b > 0
};

/// How well one feature set identifies the program (within protocol, stratified by program).
struct ProgramIdentity {
  std::string feature_set;
  std::string diagnoser;
  double balanced_accuracy = NAN;
  double accuracy = NAN;
  double chance = NAN;  ///< 1 / number of programs
  int64_t n = 0, n_programs = 0;
};

/// Share of each feature's variance explained by the program (one-way ANOVA eta^2 =
/// SS_between / SS_total over the finite values; NaN for a constant or all-missing feature).
struct VarianceShare {
  std::string feature_set;
  double mean_eta2 = NAN;  ///< over the features where eta^2 is defined
  int64_t n_defined = 0;
  std::vector<std::pair<std::string, double>> eta2;  ///< per feature, in column order
  std::vector<std::pair<std::string, double>> top;   ///< largest first
};

/// One task: its data and results, or why it was skipped (`message` non-empty).
struct TaskReport {
  std::string task;
  std::string message;
  std::vector<std::string> classes;
  std::map<std::string, int64_t> class_counts;
  int64_t n_traces = 0;  ///< traces evaluated (labelled, with every feature set)
  int64_t n_programs = 0;
  int64_t n_not_applicable = 0;    ///< FINISHED traces whose label is "" (excluded)
  int64_t n_missing_features = 0;  ///< labelled traces missing from some feature table
  std::vector<EvaluationResult> results;
  std::vector<PairedComparison> paired;
};

struct EvaluationReport {
  std::string evaluation_id;
  EvaluateOptions options;
  std::vector<TaskReport> tasks;
  std::vector<ProgramIdentity> identity;
  std::vector<VarianceShare> variance;
  int64_t identity_traces = 0;
  std::string identity_message;  ///< why program structure was skipped ("" = it was computed)
  /// Wall seconds per stage of evaluate(), in order (not stored; profiling): "load", "fits",
  /// "scoring", "program_structure", "store".
  std::vector<std::pair<std::string, double>> stage_seconds;
};

/// Task names of the program-level rows in the `evaluations` table.
inline constexpr const char* kTaskProgramIdentity = "program_identity";
inline constexpr const char* kTaskProgramVariance = "program_variance";

// --- pure building blocks (no database) -------------------------------------------------------

/// Out-of-fold predictions: for each fold a fresh `diagnoser` is fitted on the train rows and
/// predicts the test rows (OpenMP across folds). Every row must be tested exactly once.
Labels cross_val_predict(const std::string& diagnoser, const Matrix& x, const Labels& y,
                         const std::vector<Fold>& folds, int threads);

/// Sample indices of bootstrap resample `b`: programs drawn with replacement (as many draws as
/// programs), each draw contributing all of its samples. A pure function of (groups, seed, b).
std::vector<size_t> bootstrap_indices(const std::vector<std::string>& groups, uint64_t seed,
                                      int64_t b);

/// Percentile (linear interpolation, numpy's default) of the non-NaN values; NaN if none.
double percentile(std::vector<double> values, double q);

/// Scores both protocols' out-of-fold predictions and the gap, with clustered bootstrap
/// intervals over `groups` (OpenMP across resamples; the result does not depend on threads).
void score_protocols(const Labels& y, const Labels& within_pred, const Labels& heldout_pred,
                     const std::vector<std::string>& groups, int64_t resamples, double confidence,
                     uint64_t seed, int threads, EvaluationResult& result);

/// One-way ANOVA eta^2 of `values` grouped by `groups` over the finite values (NaN when fewer
/// than 2 finite values or zero total variance).
double eta_squared(const std::vector<double>& values, const std::vector<std::string>& groups);

/// eta^2 of every column of `x` by `groups`, averaged, with the `top` largest.
VarianceShare variance_share(const std::string& feature_set, const Matrix& x,
                             const std::vector<std::string>& groups, int top);

/// Paired comparison of two results on the same resamples (their heldout_draws).
PairedComparison compare_paired(const EvaluationResult& a, const EvaluationResult& b,
                                double confidence);

/// Evaluates one diagnoser on one matrix under both protocols with the given folds.
EvaluationResult evaluate_matrix(const std::string& diagnoser, const std::string& feature_set,
                                 const Matrix& x, const Labels& y,
                                 const std::vector<std::string>& groups,
                                 const std::vector<Fold>& within_folds,
                                 const std::vector<Fold>& heldout_folds,
                                 const EvaluateOptions& options);

// --- over a store -------------------------------------------------------------------------------

/// Cells per task: every diagnoser not bound to a feature set x every listed set, plus each bound
/// diagnoser (Diagnoser::feature_set(): `deepfd`, `default_rf`, `autotrainer_rules`) on its own
/// set, loaded even when not listed. All fits of a task (cells x protocols x folds) run as one
/// OpenMP loop with `threads` threads; each fit is single-threaded.
///
/// Runs the evaluation on the stored labels and feature tables of FINISHED runs of
/// `options.campaign`; stores the splits (`within`, `heldout`) and the results (protocols
/// `within`, `heldout`, `gap`) under one evaluation id. A task with fewer than 2 classes or 2
/// programs gets a message in the report instead of results. Unknown diagnosers, feature sets
/// never extracted and bad option values throw before anything is written.
EvaluationReport evaluate(db::Store& store, const EvaluateOptions& options);

/// The feature table of `spec`: the stored table of that name, else the join by run of its '+'
/// parts (runs present in every part; a column name in two parts is an error). `stored` is
/// store.feature_sets(), passed when the caller already has it. Throws naming a part that has
/// not been extracted.
db::FeatureTable load_feature_table(db::Store& store, const std::string& spec);
db::FeatureTable load_feature_table(db::Store& store, const std::string& spec,
                                    const std::vector<std::string>& stored);

/// Plain-text tables, one per task: rows diagnoser x feature set; columns within, held-out and
/// gap (balanced accuracy with intervals), traces, programs; then the same for macro-F1; the
/// paired comparisons; then a section on program identity and eta^2 per feature set.
std::string format_table(const EvaluationReport& report);

}  // namespace dynfault::diagnosis
