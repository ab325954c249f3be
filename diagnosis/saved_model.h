#pragma once
/// A saved diagnoser (`dynfault train`) and its use on one trace (`dynfault diagnose`).
///
/// The model file is the versioned text stream of diagnosis/model_io.h with header
/// `dynfault_model 1`, then: the task and its classes (those the diagnoser saw, and those the
/// label taxonomy declares), the feature set spec and its feature names in column order, the
/// training facts (campaign, traces, class counts, creation time, dynfault version), per-feature
/// training medians and the standardisation used for explanations (diagnosis/preprocess.h
/// Scaler: median imputation, winsorising at the 1st/99th percentiles, standard scaling; the
/// same pipeline logistic_regression applies internally), and the diagnoser's own save() text.
/// A file of another format version, or not a model file, is refused with an error naming it.
#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/check.h"
#include "db/trace.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/model_scope.h"
#include "diagnosis/preprocess.h"
#include "features/feature_set.h"

namespace dynfault::db {
class Store;
}  // namespace dynfault::db

namespace dynfault::diagnosis {

inline constexpr const char* kModelFormat = "dynfault_model";
/// Version 2 adds the training scope (diagnosis/model_scope.h), 3 the diagnoser's options and
/// bin count; versions 1 and 2 are still read (what they lack is unknown).
inline constexpr int kModelFormatVersion = 3;

struct SavedModel {
  std::string task;                        ///< e.g. fault_type/default4
  std::vector<std::string> classes;        ///< the diagnoser's classes (seen in training)
  std::vector<std::string> task_classes;   ///< the label taxonomy's classes ("" = unknown)
  std::string feature_set;                 ///< spec, e.g. deepfd or deepfd+curves
  std::vector<std::string> feature_names;  ///< column order of the diagnoser's input
  std::string campaign;                    ///< "" = every campaign of the database
  int64_t n_traces = 0;
  std::map<std::string, int64_t> class_counts;
  std::string created_utc;
  std::string dynfault_version;
  std::vector<double> median;  ///< per feature: training median of the finite values (0 if none)
  Scaler scaler;               ///< fitted on the training matrix (explanations)
  TrainingScope scope;         ///< what it was trained on (model_scope.h)
  std::shared_ptr<Diagnoser> diagnoser;
  /// Every declared option of the diagnoser with the value it was trained with (a JSON object;
  /// "" for a version 1 or 2 file, which did not record them).
  std::string diagnoser_options;
  int max_bins = 0;  ///< bins of the tree learners (LearnerSettings); 0 = not recorded (v1, v2)
};

/// Options of train_model.
///
/// Example:
///   train_model(store, TrainModelOptions().task("fault_type/default4").feature_set("deepfd"));
struct TrainModelOptions {
  DYNFAULT_ARG(std::string, campaign) = "";
  DYNFAULT_ARG(std::string, task) = "fault_type/default4";
  /// "" = the diagnoser's own set (a bound baseline), else required.
  DYNFAULT_ARG(std::string, feature_set) = "";
  DYNFAULT_ARG(std::string, diagnoser) = "logistic_regression";
  /// Classes the task's label taxonomy declares (stored for reference; may be empty).
  DYNFAULT_ARG(std::vector<std::string>, task_classes) = {};
  /// "none", or "balanced": every class weighs as much as the largest, by repeating the traces
  /// of the smaller classes (floor(n_max / n_c) times each, plus one more for the first
  /// n_max mod n_c in run order), so that every diagnoser honours it.
  DYNFAULT_ARG(std::string, class_weight) = "none";
  /// Detection only: faulty runs whose fault was effective (the stored `effective` label, the
  /// killing test) against clean runs; not-effective mutants are left out.
  DYNFAULT_ARG(bool, effective_only) = false;
  /// Options of the diagnosers (configs/diagnosers.yaml); the rest keep their defaults.
  DYNFAULT_ARG(DiagnoserConfig, diagnoser_config) = {};
  DYNFAULT_ARG(int, max_bins) = 255;  ///< histogram bins of the tree learners (2..255)
};

/// The ratio of the largest to the smallest class count (1 for balanced classes).
double imbalance_ratio(const std::map<std::string, int64_t>& class_counts);

/// Fits the diagnoser on every FINISHED run of the campaign labelled (non-empty) for the task
/// that has a stored row of the feature set (the stored table of that spec, or the join of its
/// '+' parts). Throws when the stored columns differ from what this build's feature code
/// computes (re-run `dynfault features`), for fewer than 2 classes, an unknown diagnoser, or a
/// diagnoser bound to another feature set.
SavedModel train_model(db::Store& store, const TrainModelOptions& options);

void write_model(std::ostream& out, const SavedModel& model);
/// Reads write_model's stream; `name` (the file) prefixes every error.
SavedModel read_model(std::istream& in, const std::string& name);

/// Writes `path` through common/output_file.h (atomically; an existing file only with `force`;
/// never an open database, a symbolic link or a special file). Returns the stale temporaries
/// of interrupted earlier writes that were removed.
std::vector<std::string> save_model_file(const SavedModel& model, const std::string& path,
                                         bool force);
/// Reads a model file (a regular file of at most files::kMaxModelBytes).
SavedModel load_model_file(const std::string& path);

/// One feature's part in a prediction.
struct FeatureContribution {
  std::string feature;
  double value = 0;         ///< the trace's raw value (NaN = missing)
  double z = 0;             ///< standardised value (Scaler of the model)
  double contribution = 0;  ///< see Diagnosis::method
};

/// What diagnose_trace found.
struct Diagnosis {
  std::string predicted;
  std::vector<std::pair<std::string, double>> proba;  ///< every class, largest first
  /// "linear" (logistic_regression): contribution = (w_kj - mean_c w_cj) * z_j, feature j's
  /// share of the predicted class k's logit relative to the mean logit (exact: the logits are
  /// their sum plus intercepts). "occlusion" (every other diagnoser): contribution =
  /// p_k(x) - p_k(x with feature j set to its training median), the change in the predicted
  /// class's probability when that one feature is replaced by a typical value.
  std::string method;
  std::vector<FeatureContribution> top;  ///< by |contribution|, largest first
  int64_t n_missing = 0;                 ///< features NaN/Inf in this trace (imputed)
  /// n_missing / the model's feature count: the share of the model's input that is imputed.
  double imputed_share = 0;
  /// The missing features whose inputs the trace lacks, by the input that would provide them
  /// (features/feature_set.h FeatureSet::missing_inputs), largest group first.
  std::vector<features::MissingInput> missing_by_input;
  /// The other missing features: inputs present, value undefined on this trace (a statistic
  /// of too few epochs, a ratio to zero, a non-finite value), in column order.
  std::vector<std::string> missing_undefined;
  /// The trace against the model's training distribution.
  ScopeCheck scope;
};

/// The model's features of `trace` (same feature code as `dynfault features`), its class
/// probabilities and the `top` features behind the predicted class.
Diagnosis diagnose_trace(const SavedModel& model, const db::Trace& trace, int top);

/// A description of Diagnosis::method for people.
std::string describe_method(const std::string& method);

}  // namespace dynfault::diagnosis
