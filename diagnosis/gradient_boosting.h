#pragma once
/// Gradient-boosted trees through XGBoost's C API (Debian's libxgboost, linked directly; see the
/// top-level CMakeLists). The XGBoost handles stay inside gradient_boosting.cpp.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/check.h"
#include "diagnosis/diagnoser.h"

namespace dynfault::diagnosis {

/// Options of GradientBoosting (XGBoost parameter names in the comments).
///
/// Example:
///   GradientBoosting gb(GradientBoostingOptions().rounds(100).max_depth(6));
struct GradientBoostingOptions {
  DYNFAULT_ARG(int, rounds) = 40;         ///< boosting rounds (n_estimators)
  DYNFAULT_ARG(int, max_depth) = 4;       ///< max_depth
  DYNFAULT_ARG(double, eta) = 0.3;        ///< eta (XGBoost's default learning rate)
  DYNFAULT_ARG(double, subsample) = 1.0;  ///< subsample (1 = deterministic)
  DYNFAULT_ARG(double, colsample) = 1.0;  ///< colsample_bytree
  DYNFAULT_ARG(double, min_child_weight) = 1.0;
  DYNFAULT_ARG(double, lambda) = 1.0;  ///< L2 on leaf weights
  DYNFAULT_ARG(int, max_bin) = 255;    ///< histogram bins (tree_method = hist; XGBoost: 256)
  DYNFAULT_ARG(uint64_t, seed) = 0;
};

/// XGBoost `multi:softprob` (`binary:logistic` for two classes) with tree_method = hist and
/// nthread = 1 (the evaluation parallelises across folds, not inside a fit). NaN is XGBoost's
/// missing value; +-Inf and values beyond float range are clamped to +-1e38 (XGBoost rejects
/// Inf, and trees only need the order). The model is saved as XGBoost's UBJSON buffer, raw and
/// length-prefixed inside our versioned stream.
class GradientBoosting : public Diagnoser {
 public:
  explicit GradientBoosting(GradientBoostingOptions options = {});
  ~GradientBoosting() override;
  GradientBoosting(const GradientBoosting&) = delete;
  GradientBoosting& operator=(const GradientBoosting&) = delete;

  void fit(const Matrix& x, const Labels& y) override;
  Labels predict(const Matrix& x) const override;
  Matrix predict_proba(const Matrix& x) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string name() const override { return "gradient_boosting"; }
  void configure(const LearnerSettings& settings) override;
  /// Only row or column subsampling draws from the seed; the defaults (1, 1) do not.
  bool seeded() const override { return options_.subsample() < 1 || options_.colsample() < 1; }
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

  /// "major.minor.patch" of the linked XGBoost.
  static std::string xgboost_version();

 private:
  struct Booster;  // owns the BoosterHandle
  GradientBoostingOptions options_;
  std::vector<std::string> classes_;
  size_t dims_ = 0;
  std::unique_ptr<Booster> booster_;  // null for a single class
  mutable std::mutex mutex_;          // XGBoost's predict buffer is per booster
  bool fitted_ = false;
};

}  // namespace dynfault::diagnosis
