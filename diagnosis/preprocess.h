#pragma once
/// Column preprocessing fitted on a training fold only (prior work's defect #3: nothing is fitted
/// on test data), shared by the diagnosers that need scaled inputs (logistic regression, kNN,
/// MLP).
#include <cstddef>
#include <iosfwd>
#include <map>
#include <memory>
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

/// A fitted Scaler and the training matrix it transformed.
struct ScaledMatrix {
  Scaler scaler;
  Matrix x;
};

/// Sharing of preprocessing between learners fitted on one training matrix. The evaluation fits
/// up to nine learners on every training fold; three scale it the same way and four bin it the
/// same way. While a FitScope for a matrix is alive on a thread, memo() on that thread computes
/// each named product of that matrix once and hands out the same copy to every learner; for any
/// other matrix, or without a scope, it just computes. The products are deterministic functions
/// of the matrix and the key (which must name every parameter), so sharing never changes a
/// result. The scope must not outlive the matrix, and the matrix must not change inside it.
///
/// Example:
///   FitScope scope(train);      // train: the fold's training matrix
///   for (auto& m : models) m->fit(train, y);
class FitScope {
 public:
  explicit FitScope(const Matrix& training);
  ~FitScope();
  FitScope(const FitScope&) = delete;
  FitScope& operator=(const FitScope&) = delete;

  /// make() of `x`, memoised under `key` when `x` is the current scope's matrix.
  template <typename T, typename Make>
  static std::shared_ptr<const T> memo(const Matrix& x, const std::string& key, Make make) {
    FitScope* scope = current();
    if (!scope || scope->matrix_ != &x) return std::make_shared<const T>(make());
    auto it = scope->values_.find(key);
    if (it == scope->values_.end())
      it = scope->values_.emplace(key, std::make_shared<const T>(make())).first;
    return std::static_pointer_cast<const T>(it->second);
  }

 private:
  static FitScope*& current();
  const Matrix* matrix_;
  FitScope* previous_;
  std::map<std::string, std::shared_ptr<const void>> values_;
};

/// The Scaler fitted on `x` and `x` transformed by it, shared within a FitScope.
std::shared_ptr<const ScaledMatrix> scaled(const Matrix& x, double clip_quantile, Scaling scaling);

/// numpy's default (linear) percentile of sorted data; 0 for an empty vector.
double quantile_sorted(const std::vector<double>& sorted, double q);

}  // namespace dynfault::diagnosis
