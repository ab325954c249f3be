#pragma once
/// The fits of an evaluation, shared by evaluate() and its building blocks (internal to
/// diagnosis/): every cell (diagnoser on a feature table) on every fold of every rung, for every
/// learner seed it needs, as one OpenMP loop over (table, rung, fold) jobs.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "db/store.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/splits.h"

namespace dynfault::diagnosis {

/// One (diagnoser, feature table) cell of a task's table.
struct Cell {
  std::string diagnoser;
  size_t table = 0;     ///< index into the task's matrices
  bool seeded = false;  ///< Diagnoser::seeded(): fitted once per learner seed
};

/// How the fits are made.
struct FitSettings {
  std::vector<uint64_t> seeds = {0};  ///< learner seeds (a seeded cell is fitted with each)
  int max_bins = 255;
  int threads = 1;
  DiagnoserConfig config;  ///< options of the diagnosers (defaults for those it does not list)
  std::string class_weight = "none";  ///< of every training fold (class_weights.h)
};

/// learner_seed(seed, j) for j < n (evaluation.h).
std::vector<uint64_t> learner_seeds(uint64_t seed, int n);

/// preds[cell][rung][learner seed]: out-of-fold predictions of every trace (a cell that is not
/// seeded has one entry per rung).
using CellPredictions = std::vector<std::vector<std::vector<Labels>>>;

/// Fits every cell on every fold of every rung (`folds[rung]`): the cells of one feature table
/// share a fold's row copies and, through a FitScope, its scaling and binning; a seeded cell is
/// fitted once per learner seed. Fills `preds` and, when given, the CPU seconds of each cell's
/// fits per rung. Throws naming the diagnoser when a fit fails.
void run_jobs(const std::vector<Cell>& cells, const std::vector<Matrix>& matrices, const Labels& y,
              const std::vector<std::vector<Fold>>& folds, const FitSettings& settings,
              CellPredictions& preds, std::vector<std::vector<double>>* seconds = nullptr);

/// The matrix of `table` for `run_ids` (rows in that order), keeping the columns whose names are
/// not in `drop`, with column names.
Matrix matrix_of(const db::FeatureTable& table, const std::unordered_map<std::string, size_t>& row,
                 const std::vector<std::string>& run_ids, const std::vector<std::string>& drop);

/// CPU time of the calling thread (profiling: unaffected by other processes on the machine).
double thread_seconds();

}  // namespace dynfault::diagnosis
