#pragma once
/// What a saved model was trained on, and whether a trace lies inside it (docs/diagnose.md):
/// the operator settings per class, programs, families, data kinds, per-feature coverage, a
/// reference sample of the training traces for a nearest-neighbour distance, and the scores
/// `dynfault evaluate` stored for the same task, feature set and diagnoser, protocol by
/// rung of the protocol ladder (diagnosis/ladder.h; within / heldout for evaluations stored
/// before the ladder).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "db/trace.h"

namespace dynfault::db {
class Store;
}  // namespace dynfault::db

namespace dynfault::diagnosis {

/// One stored evaluation score of the model's (task, feature set, diagnoser).
struct ProtocolScore {
  std::string protocol;  ///< as stored by `dynfault evaluate` (within, heldout, or a rung)
  double balanced_accuracy = 0;
  double ci_low = 0, ci_high = 0;  ///< 95 % bootstrap interval (NaN when not stored)
  int64_t n = 0;                   ///< traces scored
};

/// The training distribution of a saved model.
struct TrainingScope {
  /// Per class, the fault settings ("lr_scale factor=100") and their trace counts; "clean"
  /// for runs without a fault.
  std::map<std::string, std::map<std::string, int64_t>> settings;
  std::map<std::string, int64_t> programs, families, data_kinds;
  /// Per feature (the model's column order): share of training traces with a finite value.
  std::vector<double> coverage;
  /// Per feature: centre (median) and spread (standard deviation, 1 when 0 or undefined) of
  /// the finite training values: a trace's feature j is z_j = (x_j - centre_j) / spread_j.
  std::vector<double> centre, spread;
  /// Up to kReferenceRows training traces (every k-th in run order), their z values (NaN =
  /// missing), row-major, `reference_rows` rows.
  std::vector<double> reference;
  int64_t reference_rows = 0;
  /// Leave-one-out distance of each training trace to its nearest reference trace (RMS z over
  /// the features both have): its 95th and 99th percentiles. A trace farther than the 99th is
  /// out of distribution.
  double nn_p95 = 0, nn_p99 = 0;
  std::string evaluation_id;             ///< the evaluation the scores come from ("" = none)
  std::vector<ProtocolScore> evaluated;  ///< empty when the database held none
  std::string class_weight = "none";     ///< none or balanced (TrainModelOptions)
  bool effective_only = false;           ///< detection on effective faults vs clean runs
  bool known = false;                    ///< false for a model file of format 1
};

inline constexpr int64_t kReferenceRows = 500;
inline constexpr double kUsuallyPresent = 0.95;

/// "lr_scale factor=100" for each fault of a faults_json array ("clean" for none), joined by
/// " + ".
std::string fault_setting(const std::string& faults_json);

/// Builds the scope from the training runs (their specs), the training matrix (rows in the
/// same order), and the stored evaluation scores of (task, feature_set, diagnoser).
TrainingScope build_scope(const db::Store& store, const std::vector<db::RunSpec>& runs,
                          const std::vector<std::string>& labels, const std::vector<double>& matrix,
                          size_t cols, const std::string& task, const std::string& feature_set,
                          const std::string& diagnoser);

/// One line for people: "trained on 8 operator settings over 38 programs (4 families, 5 data
/// kinds), 614 traces".
std::string scope_line(const TrainingScope& scope, int64_t traces);

/// Where a trace stands relative to the training distribution.
struct ScopeCheck {
  bool out_of_distribution = false;
  double nn_distance = 0;            ///< RMS z distance to the nearest reference trace (NaN: none)
  std::vector<std::string> reasons;  ///< why it is flagged (empty when not)
  /// Features present in at least kUsuallyPresent of the training traces and missing here; a
  /// quarter of the model's features or more makes the trace out of distribution.
  std::vector<std::string> missing_always_present;
  bool program_seen = false;  ///< the trace's program was among the training programs
};

/// Checks a trace's feature values (model column order) and run facts against the scope.
ScopeCheck check_scope(const TrainingScope& scope, const std::vector<std::string>& names,
                       const std::vector<double>& values, const db::Trace& trace);

/// The measured consequence of leaving the training distribution, from the stored ladder:
/// "fault-held-out 0.412 next to program-held-out 0.387" (the rungs that hold out a new
/// operator and a new program; those stored); "" when the model holds neither.
std::string held_out_consequence(const TrainingScope& scope);

}  // namespace dynfault::diagnosis
