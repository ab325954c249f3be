#include "diagnosis/fit_jobs.h"

#include <ctime>
#include <set>
#include <utility>

#include "common/check.h"
#include "diagnosis/class_weights.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/preprocess.h"

namespace dynfault::diagnosis {
namespace {

// The fits of one training fold: every cell on one feature table, one rung and one fold, for
// every learner seed. They share the fold's row copies and, through a FitScope, its scaling and
// binning.
struct Job {
  size_t table = 0;
  size_t rung = 0;
  size_t fold = 0;
  std::vector<size_t> cells;
};

std::vector<Job> make_jobs(const std::vector<Cell>& cells, size_t tables,
                           const std::vector<std::vector<Fold>>& folds) {
  std::vector<Job> jobs;
  for (size_t t = 0; t < tables; ++t) {
    std::vector<size_t> on_table;
    for (size_t c = 0; c < cells.size(); ++c)
      if (cells[c].table == t) on_table.push_back(c);
    if (on_table.empty()) continue;
    for (size_t r = 0; r < folds.size(); ++r)
      for (size_t f = 0; f < folds[r].size(); ++f) jobs.push_back(Job{t, r, f, on_table});
  }
  return jobs;
}

// Runs one job; adds each cell's CPU seconds to `spent` (cells of the job in order). The shared
// copies are charged to the first cell.
void run_job(const Job& job, const std::vector<Cell>& cells, const std::vector<Matrix>& matrices,
             const Labels& y, const std::vector<std::vector<Fold>>& folds,
             const FitSettings& settings, CellPredictions& preds, std::vector<double>& spent,
             std::string& failed) {
  const Fold& fold = folds[job.rung][job.fold];
  const Matrix& x = matrices[job.table];
  double t0 = thread_seconds();
  Labels fold_labels;
  fold_labels.reserve(fold.train.size());
  for (size_t i : fold.train) fold_labels.push_back(y[i]);
  // Weights come from the training fold's own class counts; the test fold is never weighted.
  const WeightedRows weighted =
      weighted_rows(x.take_rows(fold.train), std::move(fold_labels), settings.class_weight);
  const Matrix& train = weighted.x;
  const Labels& ytrain = weighted.y;
  const Matrix test = x.take_rows(fold.test);
  const FitScope scope(train);
  for (size_t j = 0; j < settings.seeds.size(); ++j)
    for (size_t c = 0; c < job.cells.size(); ++c) {
      const size_t cell = job.cells[c];
      if (j > 0 && !cells[cell].seeded) continue;
      failed = cells[cell].diagnoser;
      auto model = make_diagnoser(cells[cell].diagnoser, settings.config);
      model->configure(LearnerSettings{settings.seeds[j], settings.max_bins});
      model->fit(train, ytrain);
      const Labels p = model->predict(test);
      Labels& out = preds[cell][job.rung][j];
      for (size_t i = 0; i < fold.test.size(); ++i) out[fold.test[i]] = p[i];
      const double t1 = thread_seconds();
      spent[c] += t1 - t0;
      t0 = t1;
    }
}

}  // namespace

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::vector<uint64_t> learner_seeds(uint64_t seed, int n) {
  std::vector<uint64_t> out;
  for (int j = 0; j < n; ++j) out.push_back(learner_seed(seed, j));
  return out;
}

uint64_t learner_seed(uint64_t seed, int j) {
  // Seed 0 of evaluation seed 0 is not 0: a learner's own default seed is never reused silently.
  SplitMix64 rng(seed ^ 0xA0761D6478BD642FULL);
  uint64_t s = rng.next();
  for (int i = 0; i < j; ++i) s = rng.next();
  return s;
}

void run_jobs(const std::vector<Cell>& cells, const std::vector<Matrix>& matrices, const Labels& y,
              const std::vector<std::vector<Fold>>& folds, const FitSettings& settings,
              CellPredictions& preds, std::vector<std::vector<double>>* seconds) {
  DYNFAULT_CHECK(!settings.seeds.empty(), "run_jobs(): no learner seed");
  const std::vector<Job> jobs = make_jobs(cells, matrices.size(), folds);
  preds.assign(cells.size(), {});
  for (size_t c = 0; c < cells.size(); ++c)
    preds[c].assign(folds.size(), std::vector<Labels>(cells[c].seeded ? settings.seeds.size() : 1,
                                                      Labels(y.size())));
  std::string error;
  const int64_t n_jobs = static_cast<int64_t>(jobs.size());
  std::vector<std::vector<double>> fit_seconds(jobs.size());
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp parallel for num_threads(settings.threads) schedule(dynamic)
#endif
  for (int64_t j = 0; j < n_jobs; ++j) {
    const Job& job = jobs[static_cast<size_t>(j)];
    std::vector<double>& spent = fit_seconds[static_cast<size_t>(j)];
    spent.assign(job.cells.size(), 0.0);
    std::string failed;
    try {
      run_job(job, cells, matrices, y, folds, settings, preds, spent, failed);
    } catch (const std::exception& e) {
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp critical(dynfault_eval_error)
#endif
      if (error.empty()) error = failed + ": " + e.what();
    }
  }
  if (seconds) {
    seconds->assign(cells.size(), std::vector<double>(folds.size(), 0.0));
    for (size_t j = 0; j < jobs.size(); ++j)
      for (size_t c = 0; c < jobs[j].cells.size(); ++c)
        (*seconds)[jobs[j].cells[c]][jobs[j].rung] += fit_seconds[j][c];
  }
  if (!error.empty()) throw Error("evaluate(): " + error);
}

Matrix matrix_of(const db::FeatureTable& table, const std::unordered_map<std::string, size_t>& row,
                 const std::vector<std::string>& run_ids, const std::vector<std::string>& drop) {
  const std::set<std::string> dropped(drop.begin(), drop.end());
  std::vector<size_t> keep;
  for (size_t j = 0; j < table.names.size(); ++j)
    if (!dropped.count(table.names[j])) keep.push_back(j);
  Matrix x(run_ids.size(), keep.size());
  for (size_t j : keep) x.names.push_back(table.names[j]);
  for (size_t i = 0; i < run_ids.size(); ++i) {
    const auto& src = table.rows[row.at(run_ids[i])];
    DYNFAULT_CHECK(src.size() == table.names.size(), "evaluate(): feature set '", table.feature_set,
                   "' has a row of ", src.size(), " values for ", table.names.size(),
                   " columns (run ", run_ids[i], ")");
    double* dst = x.row(i);
    for (size_t c = 0; c < keep.size(); ++c) dst[c] = src[keep[c]];
  }
  return x;
}

}  // namespace dynfault::diagnosis
