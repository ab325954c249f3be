// Program-level structure of feature sets: how well a set identifies the program a trace comes
// from, and the share of each feature's variance explained by the program (eta^2).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "diagnosis/evaluation.h"
#include "diagnosis/evaluation_rows.h"
#include "diagnosis/fit_jobs.h"

namespace dynfault::diagnosis {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Every run of `program_of` present in all listed tables, sorted.
std::vector<std::string> runs_in_every_table(
    const LoadedTables& loaded, size_t listed,
    const std::unordered_map<std::string, std::string>& program_of) {
  std::vector<std::string> run_ids;
  for (const auto& [run, program] : program_of) {
    bool everywhere = true;
    for (size_t s = 0; s < listed; ++s) everywhere = everywhere && loaded.row_of[s].count(run);
    if (everywhere) run_ids.push_back(run);
  }
  std::sort(run_ids.begin(), run_ids.end());
  return run_ids;
}

void add_identity_rows(const std::string& evaluation_id, const ProgramIdentity& id,
                       const std::string& details, std::vector<db::EvaluationRow>& rows) {
  for (const char* metric : {"balanced_accuracy", "accuracy"})
    rows.push_back(evaluation_row(
        evaluation_id, kTaskProgramIdentity, "random", id.diagnoser, id.feature_set, metric,
        Interval{metric[0] == 'b' ? id.balanced_accuracy : id.accuracy}, id.n, details));
}

void add_variance_rows(const std::string& evaluation_id, const VarianceShare& v, int64_t n,
                       std::vector<db::EvaluationRow>& rows) {
  json top = json::array();
  for (const auto& [f, e] : v.top) top.push_back({{"feature", f}, {"eta2", e}});
  rows.push_back(evaluation_row(
      evaluation_id, kTaskProgramVariance, "all", "", v.feature_set, "eta2_mean",
      Interval{v.mean_eta2}, n,
      json{{"top", top},
           {"n_features", v.eta2.size()},
           {"n_defined", v.n_defined},
           {"definition", "one-way ANOVA SS_between / SS_total by program, finite values"}}
          .dump()));
  for (const auto& [f, e] : v.eta2)
    rows.push_back(evaluation_row(evaluation_id, kTaskProgramVariance, "all", "", v.feature_set,
                                  "eta2/" + f, Interval{e}, n, ""));
}

}  // namespace

double eta_squared(const std::vector<double>& values, const std::vector<std::string>& groups) {
  DYNFAULT_CHECK(values.size() == groups.size(), "eta_squared(): sizes differ");
  std::map<std::string, std::pair<double, int64_t>> by;  // group -> (sum, n)
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    auto& g = by[groups[i]];
    g.first += values[i];
    ++g.second;
    sum += values[i];
    ++n;
  }
  if (n < 2) return kNaN;
  const double mean = sum / static_cast<double>(n);
  double total = 0;
  for (size_t i = 0; i < values.size(); ++i)
    if (std::isfinite(values[i])) total += (values[i] - mean) * (values[i] - mean);
  // Round-off of a constant column is not variance.
  if (!(total > 1e-12 * std::max(1.0, mean * mean) * static_cast<double>(n))) return kNaN;
  double between = 0;
  for (const auto& [g, sn] : by) {
    const double gm = sn.first / static_cast<double>(sn.second);
    between += static_cast<double>(sn.second) * (gm - mean) * (gm - mean);
  }
  return std::clamp(between / total, 0.0, 1.0);
}

VarianceShare variance_share(const std::string& feature_set, const Matrix& x,
                             const std::vector<std::string>& groups, int top) {
  VarianceShare v;
  v.feature_set = feature_set;
  std::vector<double> col(x.rows);
  double sum = 0;
  for (size_t j = 0; j < x.cols; ++j) {
    for (size_t i = 0; i < x.rows; ++i) col[i] = x(i, j);
    const double e = eta_squared(col, groups);
    v.eta2.emplace_back(j < x.names.size() ? x.names[j] : std::to_string(j), e);
    if (std::isnan(e)) continue;
    sum += e;
    ++v.n_defined;
  }
  if (v.n_defined > 0) v.mean_eta2 = sum / static_cast<double>(v.n_defined);
  for (const auto& fe : v.eta2)
    if (!std::isnan(fe.second)) v.top.push_back(fe);
  std::stable_sort(v.top.begin(), v.top.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (v.top.size() > static_cast<size_t>(top)) v.top.resize(static_cast<size_t>(top));
  return v;
}

void program_structure(const LoadedTables& loaded,
                       const std::unordered_map<std::string, std::string>& program_of,
                       const EvaluateOptions& o, EvaluationReport& report,
                       std::vector<db::EvaluationRow>& rows) {
  const size_t listed = o.feature_sets().size();
  const std::vector<std::string> run_ids = runs_in_every_table(loaded, listed, program_of);
  Labels programs;
  for (const auto& r : run_ids) programs.push_back(program_of.at(r));
  const std::set<std::string> distinct(programs.begin(), programs.end());
  report.identity_traces = static_cast<int64_t>(run_ids.size());
  if (distinct.size() < 2) {
    report.identity_message = "needs at least 2 programs, found " + std::to_string(distinct.size());
    return;
  }
  const std::vector<std::vector<Fold>> folds = {
      stratified_kfold(programs, o.within_folds(), o.seed())};
  std::vector<Cell> cells;
  std::vector<Matrix> matrices;
  const bool seeded = make_diagnoser(o.identity_diagnoser(), o.diagnoser_config())->seeded();
  for (size_t s = 0; s < listed; ++s) {
    matrices.push_back(matrix_of(loaded.tables[s], loaded.row_of[s], run_ids, {}));
    cells.push_back(Cell{o.identity_diagnoser(), s, seeded});
  }
  CellPredictions preds;
  run_jobs(cells, matrices, programs, folds,
           FitSettings{learner_seeds(o.seed(), 1), o.max_bins(), o.threads(), o.diagnoser_config()},
           preds);
  const double chance = 1.0 / static_cast<double>(distinct.size());
  for (size_t s = 0; s < listed; ++s) {
    ProgramIdentity id;
    id.feature_set = loaded.specs[s];
    id.diagnoser = o.identity_diagnoser();
    id.balanced_accuracy = balanced_accuracy(programs, preds[s][0][0]);
    id.accuracy = accuracy(programs, preds[s][0][0]);
    id.chance = chance;
    id.n = static_cast<int64_t>(programs.size());
    id.n_programs = static_cast<int64_t>(distinct.size());
    add_identity_rows(
        report.evaluation_id, id,
        json{{"chance", chance},
             {"n_programs", id.n_programs},
             {"folds", folds[0].size()},
             {"split", "stratified by program (random)"},
             {"seed", o.seed()},
             {"diagnoser_options", json::parse(options_json(id.diagnoser, o.diagnoser_config()))}}
            .dump(),
        rows);
    report.identity.push_back(id);
    VarianceShare v = variance_share(loaded.specs[s], matrices[s], programs, o.top_features());
    add_variance_rows(report.evaluation_id, v, id.n, rows);
    report.variance.push_back(std::move(v));
  }
}

}  // namespace dynfault::diagnosis
