#pragma once
/// The evaluation: every (task, feature set, diagnoser) scored on every rung of the protocol
/// ladder (ladder.h: random k-fold, configuration, fault, program and data set held out), on
/// pooled out-of-fold predictions (every trace predicted once per rung, by a model that never
/// saw it; pooled rather than averaged per fold because a held-out group rarely has every
/// class). Every rung uses the same diagnosers, learner seeds and bootstrap resamples (scoring.h),
/// so the loss from one rung to the next, and from the first rung to each, is a paired
/// difference with its own interval. The default ladder is random,program: the paper's two
/// protocols ("within" and "held-out") and their gap.
///
/// For each task the columns that restate its label rule (label_inputs.h) are dropped from every
/// feature set unless asked to keep them, and a `label_rule` reference row predicts each trace by
/// applying the task's rule itself (the ceiling). Splits and results are stored, so every number
/// of a report is recomputable from the database.
///
/// Also, on the same resamples: paired comparisons of feature sets (per diagnoser and rung) with
/// a verdict against an equivalence margin fixed in advance, and the program-level structure of
/// each feature set: how well it predicts which program a trace came from (task
/// `program_identity`), and the share of each feature's variance explained by the program
/// (one-way ANOVA eta^2, task `program_variance`).
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/check.h"
#include "db/store.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/ladder.h"
#include "diagnosis/metrics.h"
#include "diagnosis/scoring.h"
#include "diagnosis/splits.h"
#include "features/feature_set.h"

namespace dynfault::db {
class Store;
}  // namespace dynfault::db

namespace dynfault::diagnosis {

/// Options of evaluate().
///
/// Example:
///   evaluate(store, EvaluateOptions().tasks({"fault_type/default4"})
///                       .protocols({"random", "config", "fault", "program", "dataset"})
///                       .learner_seeds(5).bootstrap(1000).threads(2));
struct EvaluateOptions {
  DYNFAULT_ARG(std::string, campaign) = "";  ///< "" = every campaign
  /// Label tasks (`labels` table names); traces labelled "" are dropped per task.
  DYNFAULT_ARG(std::vector<std::string>, tasks) = std::vector<std::string>{"fault_type/default4"};
  /// Stored feature sets; "a+b" uses the stored table of that name or joins a and b by run.
  DYNFAULT_ARG(std::vector<std::string>, feature_sets) = features::default_feature_sets();
  DYNFAULT_ARG(std::vector<std::string>,
               diagnosers) = std::vector<std::string>{"logistic_regression"};
  /// Rungs of the ladder, in the order losses are taken (ladder.h): random, config, value,
  /// fault, program, dataset.
  DYNFAULT_ARG(std::vector<std::string>, protocols) = std::vector<std::string>{"random", "program"};
  /// Horizons (features/horizon.h: "0.25", "e3", "s100"; "1" = the whole run): every task is
  /// evaluated at each, as `<task>@<suffix>`, on the feature tables stored there (`dynfault
  /// features --horizon`), i.e. on the runs still training at the cut, with labels from the
  /// whole run (instability_ahead: the labels stored with the tables). The `label_rule` row
  /// applies each rule to the cut traces. Program structure uses the first horizon.
  DYNFAULT_ARG(std::vector<std::string>, horizons) = std::vector<std::string>{"1"};
  DYNFAULT_ARG(int, within_folds) = 5;      ///< k of the random and config rungs
  DYNFAULT_ARG(int, heldout_folds) = 0;     ///< fault, program, dataset: 0 = leave one group out
  DYNFAULT_ARG(int64_t, bootstrap) = 1000;  ///< group resamples; 0 = no intervals
  DYNFAULT_ARG(double, confidence) = 0.95;  ///< percentile interval level
  /// The grouping resampled by the bootstrap: "program" or "dataset" (coarser: programs that
  /// share a data set are drawn together, for intervals that do not treat near-twins as
  /// independent).
  DYNFAULT_ARG(std::string, resample_by) = "program";
  DYNFAULT_ARG(uint64_t, seed) = 0;  ///< splits, bootstrap and the learner seeds
  /// Learner seeds: every seeded learner (forests, the MLP, the DeepFD baseline's forest) is
  /// fitted this many times per fold with seeds derived from `seed`, and its scores are the mean
  /// over them (with their SD). Learners that draw nothing are fitted once.
  DYNFAULT_ARG(int, learner_seeds) = 1;
  DYNFAULT_ARG(int, max_bins) = 255;
  /// Class weights of every training fold (class_weights.h): "none" or "balanced" (each class
  /// repeated up to the size of the largest; the test folds are never weighted).
  DYNFAULT_ARG(std::string, class_weight) = "none";
  /// detection only: faulty runs the killing test did not find effective are left out (the
  /// stored `effective` labels), so the task is effective faults against clean runs.
  DYNFAULT_ARG(bool, effective_only) = false;  ///< histogram bins of the tree learners (2..255)
  /// Options of the diagnosers by name (configs/diagnosers.yaml); the rest keep their defaults.
  /// Stored with every result row (`diagnoser_options`).
  DYNFAULT_ARG(DiagnoserConfig, diagnoser_config) = {};
  /// Equivalence margin fixed in advance, in (0, 1): verdicts of paired comparisons and losses.
  DYNFAULT_ARG(double, margin) = 0.02;
  /// false: drop, per task, the feature columns that restate its label rule (label_inputs.h).
  DYNFAULT_ARG(bool, keep_label_inputs) = false;
  /// Add the `label_rule` reference row: the task's rule applied to each trace (the ceiling).
  DYNFAULT_ARG(bool, label_rule) = true;
  /// The label configuration the `label_rule` row applies (as `dynfault labels` used).
  DYNFAULT_ARG(std::string, taxonomies_path) = "configs/taxonomies.yaml";
  DYNFAULT_ARG(std::string, thresholds_path) = "configs/thresholds.yaml";
  DYNFAULT_ARG(int, threads) = 1;                 ///< OpenMP threads across folds
  DYNFAULT_ARG(std::string, evaluation_id) = "";  ///< "" = a fresh id
  /// Compare every pair of the listed feature sets per diagnoser, task and rung (balanced
  /// accuracy difference on shared resamples).
  DYNFAULT_ARG(bool, paired) = true;
  /// Program-level structure of each listed feature set: program identity and eta^2.
  DYNFAULT_ARG(bool, program_structure) = true;
  /// Diagnoser that predicts the program from the features (stratified k-fold by program).
  DYNFAULT_ARG(std::string, identity_diagnoser) = "random_forest";
  /// Features listed per set as the most program-dependent (largest eta^2).
  DYNFAULT_ARG(int, top_features) = 5;
};

/// Upper bound of EvaluateOptions::bootstrap (each resample keeps a held-out score per cell).
inline constexpr int64_t kMaxBootstrap = 100'000;

/// Throws dynfault::Error naming the first invalid option (ranges, unknown diagnosers, repeated
/// entries); `evaluate` calls it first, commands call it before long work (the demo's campaign).
void check_options(const EvaluateOptions& options);

/// The name and feature set of the reference row that applies the label rule itself.
inline constexpr const char* kLabelRule = "label_rule";
inline constexpr const char* kLabelRuleSet = "trace";

/// Loss of balanced accuracy (and macro-F1) from rung `from` to rung `to`: from - to, paired on
/// the same resamples.
struct RungLoss {
  std::string from, to;
  bool consecutive = false;  ///< `to` is the rung after `from`
  bool from_first = false;   ///< `from` is the first rung
  Interval balanced_accuracy;
  Interval macro_f1;
  double share_positive = NAN;  ///< share of resamples where from scores higher
  Verdict verdict = Verdict::none;
};

/// One (diagnoser, feature set) on every rung.
struct EvaluationResult {
  std::string diagnoser;
  std::string feature_set;
  int64_t n_features = 0;         ///< columns used (after dropping label inputs)
  std::vector<RungScores> rungs;  ///< in EvaluateOptions::protocols order
  std::vector<RungLoss> losses;   ///< consecutive rungs, then first -> each later rung
  int64_t bootstrap = 0;          ///< resamples behind the intervals
  /// CPU seconds (thread time) of the fits and predictions per rung, summed over folds and
  /// learner seeds (not stored; profiling).
  std::vector<double> fit_seconds;

  /// The scores on `rung`, nullptr when it was not evaluated.
  const RungScores* on(const std::string& rung) const;
};

/// Balanced accuracy of feature set a minus that of b, same diagnoser, rung and resamples.
struct PairedComparison {
  std::string diagnoser;
  std::string set_a, set_b;
  std::string rung;
  Interval difference;          ///< a - b with its percentile interval
  double share_positive = NAN;  ///< share of resamples where a - b > 0
  Verdict verdict = Verdict::none;
};

/// How one rung split one task.
struct RungInfo {
  std::string name;
  std::string description;  ///< describe_rung()
  int64_t groups = 0;       ///< distinct groups of the rung's grouping (traces for random)
  int64_t folds = 0;
  int64_t unseen_class = 0;  ///< test traces whose class is absent from their training fold
};

/// How well one feature set identifies the program (stratified k-fold by program).
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

/// One task: its data and results.
struct TaskReport {
  std::string task;
  std::vector<std::string> classes;
  std::map<std::string, int64_t> class_counts;
  int64_t n_traces = 0;  ///< traces evaluated (labelled, with every feature set)
  int64_t n_programs = 0;
  int64_t n_not_applicable = 0;    ///< FINISHED traces whose label is "" (excluded)
  int64_t n_missing_features = 0;  ///< labelled traces missing from some feature table
  int64_t n_ineffective = 0;       ///< faulty traces left out by effective_only
  std::vector<RungInfo> rungs;
  std::vector<std::string> label_inputs;  ///< what the task's rule reads (label_input_names)
  /// Per feature set spec, the columns dropped as label inputs (empty when none, or kept).
  std::map<std::string, std::vector<std::string>> dropped;
  std::vector<EvaluationResult> results;  ///< cells, then the label_rule row when computed
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

/// Stored protocol of the loss from rung `from` to rung `to`: "loss/<from>/<to>".
std::string loss_protocol(const std::string& from, const std::string& to);
/// Stored protocol of the feature-set comparisons on `rung`: "paired/<rung>".
std::string paired_protocol(const std::string& rung);

// --- pure building blocks (no database) -------------------------------------------------------

/// The seed of learner seed number `j` of an evaluation with seed `seed` (a pure function).
uint64_t learner_seed(uint64_t seed, int j);

/// Out-of-fold predictions: for each fold a fresh `diagnoser`, configured with `settings`, is
/// fitted on the train rows and predicts the test rows (OpenMP across folds). Every row must be
/// tested exactly once.
Labels cross_val_predict(const std::string& diagnoser, const Matrix& x, const Labels& y,
                         const std::vector<Fold>& folds, int threads,
                         const LearnerSettings& settings = {});

/// One-way ANOVA eta^2 of `values` grouped by `groups` over the finite values (NaN when fewer
/// than 2 finite values or zero total variance).
double eta_squared(const std::vector<double>& values, const std::vector<std::string>& groups);

/// eta^2 of every column of `x` by `groups`, averaged, with the `top` largest.
VarianceShare variance_share(const std::string& feature_set, const Matrix& x,
                             const std::vector<std::string>& groups, int top);

/// Evaluates one diagnoser on one matrix on every rung of options.protocols (folds from
/// rung_folds with the options' fold counts and seed; resamples by options.resample_by), with
/// options.learner_seeds learner seeds, and the losses between rungs. Throws when a rung's folds
/// put a group on both sides.
EvaluationResult evaluate_matrix(const std::string& diagnoser, const std::string& feature_set,
                                 const Matrix& x, const Labels& y, const TraceGroups& groups,
                                 const EvaluateOptions& options);

// --- over a store -------------------------------------------------------------------------------

/// Cells per task: every diagnoser not bound to a feature set x every listed set, plus each bound
/// diagnoser (Diagnoser::feature_set(): `deepfd`, `default_rf`, `autotrainer_rules`) on its own
/// set, loaded even when not listed. All fits of a task (cells x rungs x folds x learner seeds)
/// run as one OpenMP loop with `threads` threads; each fit is single-threaded.
///
/// Runs the evaluation on the stored labels and feature tables of FINISHED runs of
/// `options.campaign`; stores the splits (one protocol per rung) and the results (protocols: the
/// rung names, loss/<from>/<to>, paired/<rung>) under one evaluation id. Everything is checked
/// before the first fit and the first write: unknown diagnosers, protocols or feature sets, bad
/// option values, a task without labels or with fewer than 2 classes, and a rung with fewer than
/// 2 groups throw dynfault::Error naming them, and nothing is stored.
EvaluationReport evaluate(db::Store& store, const EvaluateOptions& options);

/// The feature table of `spec`: the stored table of that name, else the join by run of its '+'
/// parts (runs present in every part; a column name in two parts is an error). `stored` is
/// store.feature_sets(), passed when the caller already has it. Throws naming a part that has
/// not been extracted.
db::FeatureTable load_feature_table(db::Store& store, const std::string& spec);
db::FeatureTable load_feature_table(db::Store& store, const std::string& spec,
                                    const std::vector<std::string>& stored);

/// The columns of a table of `spec` that restate the rule of `task` (FeatureSet::label_inputs of
/// the registered set or union called `spec`, matched by column name); empty when `spec` is not
/// a registered set.
std::vector<std::string> label_input_columns(const std::string& spec,
                                             const std::vector<std::string>& columns,
                                             const std::string& task);

/// Plain-text tables, one block per task: the rungs and what each holds out, the dropped label
/// inputs, balanced accuracy per rung (with intervals), the losses between rungs with verdicts,
/// macro-F1 and per-class recall per rung, the paired comparisons with verdicts; then program
/// identity and eta^2 per feature set.
std::string format_table(const EvaluationReport& report);

}  // namespace dynfault::diagnosis
