#pragma once
/// Class weights for diagnosers that take no sample weights: a balanced fit repeats the rows of
/// each class until every class weighs as much as the largest one. Used by `dynfault train
/// --class-weight balanced` and by `evaluate --class-weight balanced` on every training fold.
#include <string>

#include "diagnosis/diagnoser.h"

namespace dynfault::diagnosis {

/// The class weightings there are: "none" (every row once) and "balanced".
bool known_class_weight(const std::string& weight);

/// The training rows as fitted under `weight`: unchanged for "none"; for "balanced" the i-th
/// row of a class of n rows appears floor(L / n) times, plus once more for the first L mod n
/// rows of the class, where L is the size of the largest class (so every class has L rows and
/// row order is kept). Throws Error for an unknown weight.
struct WeightedRows {
  Matrix x;
  Labels y;
};
WeightedRows weighted_rows(Matrix x, Labels y, const std::string& weight);

}  // namespace dynfault::diagnosis
