#pragma once
/// How an evaluation is written to the `evaluations` table, and its program-structure part
/// (internal to diagnosis/, shared by evaluation.cpp, evaluation_rows.cpp and
/// program_structure.cpp).
#include <string>
#include <unordered_map>
#include <vector>

#include "db/store.h"
#include "diagnosis/evaluation.h"

namespace dynfault::diagnosis {

/// One row; NaN bounds of `v` are stored as NULL.
db::EvaluationRow evaluation_row(const std::string& evaluation_id, const std::string& task,
                                 const std::string& protocol, const std::string& diagnoser,
                                 const std::string& feature_set, const std::string& metric,
                                 const Interval& v, int64_t n, const std::string& details);

/// The rows of one evaluated task: per result and rung the balanced accuracy (details: split,
/// folds, groups, classes, confusion, learner seeds and their SD, dropped label inputs, ...),
/// macro-F1 and recall/<class>; per result the losses between rungs; the paired comparisons.
std::vector<db::EvaluationRow> task_rows(const std::string& evaluation_id, const TaskReport& task,
                                         const EvaluateOptions& options);

/// Tables loaded for an evaluation: spec names, tables and row index per run.
struct LoadedTables {
  std::vector<std::string> specs;
  std::vector<db::FeatureTable> tables;
  std::vector<std::unordered_map<std::string, size_t>> row_of;
};

/// Program identity and eta^2 of each listed feature set (the first options.feature_sets().size()
/// tables) over every run of `program_of` present in all of them; fills report.identity,
/// report.variance, report.identity_traces / identity_message and appends their rows.
void program_structure(const LoadedTables& loaded,
                       const std::unordered_map<std::string, std::string>& program_of,
                       const EvaluateOptions& options, EvaluationReport& report,
                       std::vector<db::EvaluationRow>& rows);

}  // namespace dynfault::diagnosis
