#pragma once
/// k-nearest neighbours on scaled features (DeepFD: k = 5; prior-work section 6).
#include <memory>
#include <string>
#include <vector>

#include "common/check.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/preprocess.h"

namespace dynfault::diagnosis {

/// Options of Knn.
///
/// Example:
///   Knn knn(KnnOptions().k(5).scaling(Scaling::minmax));  // DeepFD's preprocessing
struct KnnOptions {
  DYNFAULT_ARG(int, k) = 5;                            ///< neighbours (DeepFD: 5)
  DYNFAULT_ARG(Scaling, scaling) = Scaling::standard;  ///< fitted on the training fold
  DYNFAULT_ARG(double, clip_quantile) = 0.01;          ///< winsorising before scaling (0 = off)
};

/// Euclidean kNN with uniform votes, as scikit-learn's KNeighborsClassifier defaults: the
/// probability of a class is its share among the k nearest training rows; distance ties are
/// broken by the lower training index (a stable sort), vote ties by the first class in sorted
/// order. The model stores its scaled training set.
class Knn : public Diagnoser {
 public:
  explicit Knn(KnnOptions options = {});
  void fit(const Matrix& x, const Labels& y) override;
  Labels predict(const Matrix& x) const override;
  Matrix predict_proba(const Matrix& x) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string name() const override { return "knn"; }
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

 private:
  KnnOptions options_;
  std::vector<std::string> classes_;
  Scaler scaler_;
  std::shared_ptr<const Matrix> train_;  // scaled training rows (shared within a FitScope)
  std::vector<size_t> labels_;           // class index per training row
  bool fitted_ = false;
};

}  // namespace dynfault::diagnosis
