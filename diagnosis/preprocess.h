#pragma once
/// Column preprocessing fitted on a training fold only (prior work's defect #3: nothing is fitted
/// on test data), shared by the diagnosers that need scaled inputs (logistic regression, kNN,
/// MLP).
#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "diagnosis/diagnoser.h"

namespace dynfault::diagnosis {

/// How a column is scaled after imputation and winsorising.
enum class Scaling {
  standard,  ///< (v - mean) / population std, as scikit-learn's StandardScaler
  minmax,    ///< (v - min) / (max - min), as scikit-learn's MinMaxScaler (DeepFD)
};

/// Per column: (1) NaN/+-Inf -> the median of the training fold's finite values (0 when there is
/// none; the median because diverged runs put huge finite values in the same columns); (2)
/// winsorise to the [q, 1 - q] quantiles of the training fold (q = clip_quantile, 0 = off;
/// DEFault clips at the 1st/99th percentile); (3) scale. A constant column (spread below 1e-12
/// relative) becomes 0.
class Scaler {
 public:
  void fit(const Matrix& x, double clip_quantile, Scaling scaling);
  /// The transformed copy of `x` (same shape); throws if the width differs from fit().
  Matrix transform(const Matrix& x) const;
  size_t dims() const { return impute_.size(); }

  /// Writes the five per-column vectors (impute, lo, hi, mean, scale).
  void save(std::ostream& out) const;
  /// Reads what save() wrote for `dims` columns; `who` names the diagnoser in errors.
  void load(std::istream& in, size_t dims, const std::string& who);

 private:
  std::vector<double> impute_, lo_, hi_, center_, scale_;
};

/// numpy's default (linear) percentile of sorted data; 0 for an empty vector.
double quantile_sorted(const std::vector<double>& sorted, double q);

}  // namespace dynfault::diagnosis
