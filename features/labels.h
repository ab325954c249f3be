#pragma once
/// Labels derived from a stored trace: fault type under a taxonomy, detection (clean vs
/// faulty), instability triage and train/validation mismatch. Each label is a pure function of
/// one trace plus configuration (`configs/taxonomies.yaml`, `configs/thresholds.yaml`); the
/// values it was derived from are kept in the label's `details` JSON so it can be re-checked.
/// A label "" means "not applicable to this run": such runs are excluded from that task.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/check.h"
#include "db/store.h"
#include "db/trace.h"
#include "features/horizon.h"

namespace dynfault::features {

/// Task names as stored in the `labels` table.
inline constexpr const char* kTaskDetection = "detection";
inline constexpr const char* kTaskInstability = "instability";
inline constexpr const char* kTaskMismatch = "mismatch";
inline constexpr const char* kTaskEffective = "effective";
/// Among runs alive and without a symptom at a horizon's cut, which go on to diverge or
/// oscillate (classes stable, unstable; horizon.h, instability_ahead_label).
inline constexpr const char* kTaskInstabilityAhead = "instability_ahead";
/// "fault_type/<taxonomy>", e.g. "fault_type/default4".
std::string fault_type_task(const std::string& taxonomy);

// --- taxonomies -------------------------------------------------------------------------------

/// One fault-type taxonomy: fault categories (as mutators report them) map to classes; a
/// mutator id may override its category's class. Categories not listed are not applicable.
struct Taxonomy {
  std::string name;
  std::string description;
  std::vector<std::string> classes;               ///< sorted
  std::map<std::string, std::string> categories;  ///< category -> class
  std::map<std::string, std::string> mutators;    ///< mutator id -> class ("" = not applicable)

  /// Class of one injected fault, "" when not applicable. A mutator override wins over the
  /// category mapping.
  std::string classify(const std::string& mutator, const std::string& category) const;
};

/// All taxonomies of one file, sorted by name.
struct Taxonomies {
  std::vector<Taxonomy> list;
  /// The taxonomy called `name`; throws dynfault::Error listing the known names.
  const Taxonomy& get(const std::string& name) const;
};

/// Loads a taxonomy file (format: `configs/taxonomies.yaml`). Unknown keys, a class used in a
/// mapping but not declared under `classes`, or a non-string value throw ConfigError naming the
/// file, line and key.
Taxonomies load_taxonomies(const std::string& path);
/// Same, from text; `name` stands for the file name in errors.
Taxonomies parse_taxonomies(const std::string& yaml_text, const std::string& name);

/// The classes a label task declares, sorted: its taxonomy's classes for fault_type/<taxonomy>,
/// the fixed vocabulary of the other tasks (detection: clean, faulty; instability: diverged,
/// oscillating, stable; mismatch: consistent, mismatch; effective: effective, not_effective);
/// instability_ahead: stable, unstable; empty for an unknown task. A task at a horizon
/// (`<task>@<suffix>`) has the classes of its task.
std::vector<std::string> task_classes(const std::string& task, const Taxonomies& taxonomies);

// --- thresholds -------------------------------------------------------------------------------

/// Instability triage thresholds (`instability:` in `configs/thresholds.yaml`).
struct InstabilityThresholds {
  double huge_loss = 1e5;       ///< |loss| >= this counts as divergence (DeepFD nan_loss)
  double diverge_ratio = 10.0;  ///< final train loss > ratio x its minimum (and > its first)
  double acc_zeta = 0.03;       ///< AUTOTRAINER zeta: amplitude of a max/min pair
  double acc_eta = 0.2;         ///< AUTOTRAINER eta: share of epochs with such pairs
  double loss_rise = 0.1;       ///< relative epoch-to-epoch train-loss rise that counts
  double loss_eta = 0.2;        ///< share of epoch transitions with such a rise
};

/// Train/validation mismatch threshold of one architecture family.
struct MismatchThreshold {
  double gap = 0.1;               ///< when final train metric <= high_metric
  double gap_high_metric = 0.07;  ///< when final train metric > high_metric
};

/// Per-family mismatch thresholds (`mismatch:` in `configs/thresholds.yaml`).
struct MismatchThresholds {
  double high_metric = 0.9;
  std::map<std::string, MismatchThreshold> families;  ///< family -> threshold; "default" = rest
  /// Threshold of `family`, else of "default", else nullptr.
  const MismatchThreshold* for_family(const std::string& family) const;
};

/// The killing test (`effective:` in `configs/thresholds.yaml`; prior-work section 5).
struct EffectiveThresholds {
  double alpha = 0.05;       ///< the mutant is killed when p < alpha ...
  double effect_size = 0.5;  ///< ... and Cohen's d >= effect_size (mutant worse)
};

struct Thresholds {
  InstabilityThresholds instability;
  MismatchThresholds mismatch;
  EffectiveThresholds effective;
};

/// Loads `configs/thresholds.yaml`; strict like load_taxonomies.
Thresholds load_thresholds(const std::string& path);
Thresholds parse_thresholds(const std::string& yaml_text, const std::string& name);

// --- per-trace label rules (pure) ---------------------------------------------------------------

/// A derived label: class ("" = not applicable) and the JSON of the values behind it.
struct Label {
  std::string value;
  std::string details;
};

/// Fault type under `taxonomy`. Clean run -> "" (not applicable to fault typing). Each injected
/// fault (from `faults_json`: mutator, category) is classified; the run gets that class when
/// every fault maps to one and the same class, else "" (unmapped or mixed multi-fault run).
Label fault_type_label(const db::Trace& trace, const Taxonomy& taxonomy);

/// "clean" when no fault was injected, else "faulty". This is the injection label, not the
/// DeepCrime killing test (an injected fault may leave training statistically unchanged).
Label detection_label(const db::Trace& trace);

/// "diverged", "oscillating" or "stable" (see the rule in labels.cpp and thresholds.yaml):
///  1. diverged: outcome nan_loss or diverged; or a NaN/Inf in train/loss, epoch/train_loss or
///     epoch/val_loss; or any |loss| >= huge_loss there; or the final epoch train loss exceeds
///     both diverge_ratio x its minimum (> 0) and its first value.
///  2. "" (excluded): outcome exception, timeout or crashed; or no epoch/train_loss at all.
///  3. oscillating: AUTOTRAINER's accuracy oscillation on epoch/train_metric (pair the j-th
///     local maximum with the j-th local minimum, count pairs with max - min >= acc_zeta,
///     oscillating when count >= acc_eta x number of epochs), or the epoch train loss rises by
///     more than loss_rise (relative) over the previous epoch in >= loss_eta of transitions.
///  4. otherwise stable.
Label instability_label(const db::Trace& trace, const InstabilityThresholds& thresholds);

/// instability_ahead at a cut: "" when the run's triage is "" or `prefix` (the trace cut there)
/// already shows a symptom by the same rule; else "unstable" when the whole run diverged or
/// oscillated, "stable" when it did not. Details: the full and the prefix triage.
Label instability_ahead_label(const db::Trace& full, const db::Trace& prefix,
                              const InstabilityThresholds& thresholds);

/// "unstable" for diverged or oscillating, "stable" for stable, "" for "": the triage read as
/// instability_ahead's two classes (its meaning at a full horizon, where nothing is ahead).
std::string unstable_or_stable(const std::string& triage);

/// "mismatch" or "consistent": at the last epoch where both epoch/train_metric and
/// epoch/val_metric exist, gap = |train - val|; mismatch when gap > the family's threshold
/// (gap if train <= high_metric, else gap_high_metric). "" when either value is missing or not
/// finite, or the family has no threshold.
Label mismatch_label(const db::Trace& trace, const MismatchThresholds& thresholds);

/// Every task's label for one trace: fault_type/<taxonomy> for each taxonomy, detection,
/// instability, mismatch (in that order).
std::vector<std::pair<std::string, Label>> derive_trace_labels(const db::Trace& trace,
                                                               const Taxonomies& taxonomies,
                                                               const Thresholds& thresholds);

// --- the killing test (task "effective") ------------------------------------------------------

/// Result of the DeepCrime/DeepFD/DEFault killing test of one mutant configuration, paired by
/// seed (killing_test.cpp says why).
struct KillingTest {
  int64_t n_pairs = 0;                     ///< seeds with a finite metric on both sides
  double mean_clean = 0, mean_mutant = 0;  ///< over the pairs
  double mean_diff = 0, sd_diff = 0;       ///< of clean - mutant per seed (SD with ddof = 1)
  double t = 0, df = 0;  ///< paired t = mean_diff / (sd_diff / sqrt(n)), df = n - 1
  double p = 1;          ///< two-sided p-value
  double d = 0;  ///< Cohen's d = (mean_clean - mean_mutant) / pooled SD of both sides (> 0: worse)
  double d_z = 0;    ///< mean_diff / sd_diff, the paired standardised difference
  double power = 0;  ///< paired_t_power(n_pairs, effect_size, alpha) (stats.h)
  bool effective = false;
};

/// The killing test on final metrics (higher is better: accuracy, and R^2 for regression, so a
/// lower mutant metric is worse in both cases). clean[i] and mutant[i] come from runs with the
/// same seed; pairs with a non-finite value are dropped. The paired t test on the differences
/// clean - mutant: t = mean / (SD / sqrt(n)), df = n - 1, two-sided p from Student's t;
/// d = (mean_clean - mean_mutant) / sqrt((var_clean + var_mutant) / 2) over the pairs. Effective
/// iff p < alpha and d >= effect_size. Zero SD of the differences: a zero mean gives p = 1, any
/// other mean p = 0 (every seed lost the same); zero pooled SD gives d = +-Inf or 0. Throws when
/// the sizes differ or fewer than 2 finite pairs remain.
KillingTest killing_test(const std::vector<double>& clean, const std::vector<double>& mutant,
                         const EffectiveThresholds& thresholds);

/// What one run contributes to the killing test.
struct KillingInput {
  std::string run_uuid;
  std::string program;
  std::string config;  ///< canonical faults_json ("[]" for a clean run): the mutant configuration
  bool clean = false;
  int64_t seed = 0;    ///< the run's seed: a mutant run pairs with the clean run of its seed
  double metric = 0;   ///< NaN = the run does not take part
  std::string source;  ///< final/test_metric, epoch/val_metric, chance (diverged), none
};

/// Chance level of the trace's metric: 0.5 for a binary task, 1/K for a multiclass task with K
/// the output width of the recipe's last linear layer, 0 for regression (R^2 of predicting the
/// mean); 0 when the recipe does not tell (the harshest value, documented in labels.cpp).
double chance_level(const db::Trace& trace);

/// The run's final metric: `final/test_metric`, else the last `epoch/val_metric`. A run that
/// ended nan_loss or diverged counts at chance level whatever it recorded (its network no longer
/// computes anything meaningful; dropping it would hide the most effective mutants). Runs that
/// ended exception/timeout/crashed, or have no finite metric, get NaN (not part of the test).
/// `seed` is the run's seed (runs table; a trace does not carry it).
KillingInput killing_input(const db::Trace& trace, int64_t seed);

/// Labels "effective" / "not_effective" for every mutant run, by configuration (same program and
/// same canonical faults_json, over its repetitions/seeds) against the clean runs of the same
/// program with the same seeds (killing_test); details {test, n_pairs, n_mutant, n_clean,
/// mean_clean, mean_mutant, mean_diff, sd_diff, t, df, p, d, d_z, power, alpha, effect_size,
/// seed, paired}. Clean runs, runs without a metric, and configurations with fewer than 2 seeds
/// paired with a usable clean run get "" (details say why). Rows sorted by run_uuid.
std::vector<db::LabelRow> effective_labels(const std::vector<KillingInput>& runs,
                                           const EffectiveThresholds& thresholds);

/// Share of effective mutants per operator, from the stored `effective` labels.
struct OperatorEffectiveness {
  std::string mutator;    ///< fault_ids of the configuration ("a+b" for a multi-fault mutant)
  int64_t mutants = 0;    ///< configurations (program x faults) with a verdict
  int64_t effective = 0;  ///< of which killed
  double rate = 0;        ///< effective / mutants
};

/// Per operator (sorted by id), counted over mutant configurations that got a verdict (all runs
/// of a configuration share it); runs of `campaign` only ("" = all).
std::vector<OperatorEffectiveness> effectiveness_by_operator(const db::Store& store,
                                                             const std::string& campaign = "");

// --- over a store -------------------------------------------------------------------------------

/// Options of derive_labels.
///
/// Example:
///   derive_labels(store,
///   LabelOptions().campaign("pilot").taxonomies_path("configs/taxonomies.yaml"));
struct LabelOptions {
  DYNFAULT_ARG(std::string, campaign) = "";  ///< "" = every campaign
  DYNFAULT_ARG(std::string, taxonomies_path) = "configs/taxonomies.yaml";
  DYNFAULT_ARG(std::string, thresholds_path) = "configs/thresholds.yaml";
  /// Tasks to write ("" entries not allowed); empty = all tasks.
  DYNFAULT_ARG(std::vector<std::string>, tasks) = {};
  DYNFAULT_ARG(int64_t, chunk_size) = 256;  ///< traces held in memory at once
  /// compute_labels only: apply each rule to the traces cut here (horizon.h), on the runs
  /// alive at the cut: what the rule itself tells by then (evaluate's `label_rule` row).
  DYNFAULT_ARG(Horizon, horizon) = Horizon{};
};

/// What derive_labels wrote: per task, the count of runs per class ("" = excluded).
struct LabelCounts {
  int64_t traces = 0;
  std::map<std::string, std::map<std::string, int64_t>> by_task;
};

/// Every requested task's labels for the FINISHED runs of `options.campaign`, computed and not
/// stored: what derive_labels writes, and what the evaluation's `label_rule` row predicts.
struct LabelSet {
  LabelCounts counts;
  std::map<std::string, std::vector<db::LabelRow>> rows;  ///< task -> rows sorted by run_uuid
};

/// The labels derive_labels would write for the runs of `options.campaign` (only those rows).
/// `instability_ahead`, when listed, is the triage read as stable / unstable.
/// Config errors throw ConfigError; fault typing and detection alone read no metric series.
LabelSet compute_labels(db::Store& store, const LabelOptions& options);

/// compute_labels at several horizons in one pass over the traces (options.horizon() ignored):
/// element k is compute_labels with horizon(horizons[k]), each stored trace read once.
std::vector<LabelSet> compute_labels_at(db::Store& store, const LabelOptions& options,
                                        const std::vector<Horizon>& horizons);

/// Derives every task's labels for the FINISHED runs of `options.campaign` (the killing test
/// `effective` compares the runs of the campaign with each other) and stores them
/// (`Store::write_labels`): a task's rows for these runs are replaced, rows of runs outside the
/// campaign are kept. Idempotent. Config errors throw ConfigError before anything is written.
LabelCounts derive_labels(db::Store& store, const LabelOptions& options);

}  // namespace dynfault::features
