#pragma once
/// Multinomial logistic regression with L2 penalty: the paper's linear model, and scikit-learn's
/// `LogisticRegression()` defaults (lbfgs, multinomial, C = 1.0, unpenalised intercept). Two
/// classes get the binomial model, as scikit-learn fits them: one weight vector (stored as the
/// second class's row, the first class's row zero).
#include <cstdint>
#include <string>
#include <vector>

#include "common/check.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/preprocess.h"

namespace dynfault::diagnosis {

/// Options of LogisticRegression.
///
/// Example:
///   LogisticRegression lr(LogisticRegressionOptions().c(0.5).max_iter(200));
struct LogisticRegressionOptions {
  DYNFAULT_ARG(double, c) = 1.0;       ///< inverse L2 strength (scikit-learn's C)
  DYNFAULT_ARG(int, max_iter) = 1000;  ///< L-BFGS iterations
  DYNFAULT_ARG(double, tol) = 1e-4;    ///< stop when max |gradient| <= tol (scikit-learn's)
  DYNFAULT_ARG(int, memory) = 10;      ///< L-BFGS correction pairs
  /// Winsorise each feature to the [q, 1 - q] quantiles of the training fold before scaling
  /// (DEFault clips at the 1st/99th percentile, prior-work section 6); 0 = off. Keeps one
  /// diverged run's 1e30 loss from flattening a whole column after standardisation.
  DYNFAULT_ARG(double, clip_quantile) = 0.01;
  /// Start L-BFGS from the fit on every n-th training row (when that is at least 500 rows); 0 or
  /// 1 = start from zeros. The same convex minimiser either way, reached with about a quarter
  /// less work on the benchmark corpus. A fitting detail: not written by save().
  DYNFAULT_ARG(int, warm_start) = 4;
};

/// Pipeline fitted on the training fold only (defect #3 of prior work: nothing is fitted on
/// test data): (1) NaN/+-Inf -> the column's median over the training fold's finite values
/// (0 when there is none; median rather than mean because diverged runs put huge finite values
/// in the same columns); (2) winsorise (clip_quantile); (3) standardise with the training mean
/// and population std (ddof = 0, as StandardScaler; a constant column becomes 0); (4) minimise
///   (1/n) sum_i -log softmax(W x_i + b)[y_i] + ||W||^2 / (2 C n)
/// (scikit-learn's scaled objective; the same minimiser as sum_i CE + ||W||^2 / (2C)) with
/// L-BFGS and Armijo backtracking, written here, warm-started from a subsample fit (options);
/// convex, so the minimiser does not depend on the start. Deterministic: no randomness, fixed
/// summation order.
class LogisticRegression : public Diagnoser {
 public:
  explicit LogisticRegression(LogisticRegressionOptions options = {});

  void fit(const Matrix& x, const Labels& y) override;
  Labels predict(const Matrix& x) const override;
  Matrix predict_proba(const Matrix& x) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string name() const override { return "logistic_regression"; }
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

  const LogisticRegressionOptions& options() const { return options_; }
  /// L-BFGS iterations of the last fit, and whether it met `tol`.
  int iterations() const { return iterations_; }
  bool converged() const { return converged_; }
  /// The final objective value of the last fit.
  double objective() const { return objective_; }
  /// coef[k * d + j]: weight of standardised feature j for class k.
  const std::vector<double>& coef() const { return coef_; }
  const std::vector<double>& intercept() const { return intercept_; }

 private:
  void check_fitted(const Matrix& x) const;

  LogisticRegressionOptions options_;
  std::vector<std::string> classes_;
  size_t dims_ = 0;
  Scaler scaler_;
  std::vector<double> coef_;       // K x d
  std::vector<double> intercept_;  // K
  int iterations_ = 0;
  bool converged_ = false;
  double objective_ = 0;
  bool fitted_ = false;
};

}  // namespace dynfault::diagnosis
