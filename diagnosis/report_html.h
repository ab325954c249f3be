#pragma once
/// Pieces of the HTML report shared by its sections (internal to diagnosis/): escaping, number
/// formatting, SVG coordinates, the palette, and the per-task sections (report_tasks.cpp).
#include <sstream>
#include <string>
#include <vector>

#include "db/store.h"

namespace dynfault::diagnosis::html {

/// HTML-escaped text.
std::string esc(const std::string& s);
/// `digits` decimals, "&ndash;" when not finite.
std::string num(double v, int digits = 3);
/// "v [lo, hi]" with the interval in a span of class "ci" (when finite).
std::string interval(double v, double lo, double hi);
/// An SVG coordinate with one decimal (small, deterministic files).
std::string px(double v);
/// Colour-blind-safe colour number i (Okabe & Ito), cycling.
const char* colour(size_t i);

/// Per task of an evaluation's rows (in stored order): the scores on every rung, the ladder
/// chart per feature set, the losses between rungs, per-class recall, the confusion matrix of
/// the best diagnoser on the top rung and the paired comparisons. Rows of evaluations written
/// before the ladder (protocols within, heldout, gap, paired) read as rungs random and program.
void task_sections(std::ostringstream& out, const std::vector<db::EvaluationRow>& rows);
/// For every task evaluated at two or more horizons (`<task>@h<H>` and `<task>`, H = 1): the
/// horizon charts (report_horizons.cpp); nothing otherwise.
void horizon_sections(std::ostringstream& out, const std::vector<db::EvaluationRow>& rows);

}  // namespace dynfault::diagnosis::html
