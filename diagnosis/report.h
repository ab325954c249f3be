#pragma once
/// The HTML report of an evaluation: one self-contained file (inline CSS and SVG, no script, no
/// network reference) that any browser opens offline. It reads what the database holds: the
/// latest (or a named) evaluation, the labels and a sample of the stored traces.
#include <cstdint>
#include <string>

#include "common/check.h"

namespace dynfault::db {
class Store;
}  // namespace dynfault::db

namespace dynfault::diagnosis {

/// Options of render_report_html.
///
/// Example:
///   std::ofstream("report.html") << render_report_html(store, ReportOptions().title("pilot"));
struct ReportOptions {
  DYNFAULT_ARG(std::string, evaluation_id) = "";  ///< "" = the latest evaluation
  DYNFAULT_ARG(std::string, title) = "dynfault evaluation report";
  DYNFAULT_ARG(std::string, campaign) = "";  ///< "" = every campaign (header counts, curves)
  /// Label task whose classes group the loss curves; clean runs are added as "clean".
  DYNFAULT_ARG(std::string, curve_task) = "fault_type/default4";
  /// Traces read per class for the loss curves (the first ones by run id: deterministic).
  DYNFAULT_ARG(int64_t, curve_runs_per_class) = 200;
  /// Another evaluation whose horizon charts are drawn too (the demo's instability-ahead one);
  /// "" = only the report's own evaluation's.
  DYNFAULT_ARG(std::string, horizon_evaluation_id) = "";
};

/// Renders the report. Sections: header (database, tool and LibTorch versions, campaigns, run
/// and label counts, evaluation id); for tasks evaluated at horizons, balanced accuracy against
/// the fraction of training observed (one line per feature set, program rung solid, random rung
/// dashed, interval bands); per task what each rung holds out and which label inputs
/// were dropped, a table diagnoser x feature set x rung (balanced accuracy with intervals), the
/// ladder chart per feature set (one line per diagnoser, interval bands, the label rule dashed),
/// the losses between rungs with verdicts and bars for the first-to-last loss, per-class recall
/// per rung, the confusion matrix of the best diagnoser on the top rung as a heat table, paired
/// feature-set comparisons with verdicts; loss curves per fault class (median and inter-quartile
/// band of the epoch train loss divided by its first value, over normalised training time); program
/// identity and eta^2 per feature set. Throws dynfault::Error when the database holds no
/// evaluation.
std::string render_report_html(db::Store& store, const ReportOptions& options);

}  // namespace dynfault::diagnosis
