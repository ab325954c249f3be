#pragma once
/// Prior tools as diagnosers: AUTOTRAINER's symptom rules (`autotrainer_rules`) and DeepFD's
/// learners on DeepFD's features (`deepfd`). Both are bound to the `deepfd` feature set; DEFault's
/// random forest (`default_rf`) is in tree.h.
#include <memory>
#include <string>
#include <vector>

#include "diagnosis/diagnoser.h"
#include "diagnosis/knn.h"
#include "diagnosis/tree.h"

namespace dynfault::diagnosis {

/// AUTOTRAINER's symptom rules (prior-work section 4.1) read from DeepFD's feature columns (the
/// same rules live on in DeepFD's monitor), each symptom mapped to a class through AUTOTRAINER's
/// repair for it. A symptom is looked for in this order (AUTOTRAINER's precedence, its gate on
/// the gradient rules kept):
///   numerical   ft_nan_loss/nan_gradient/nan_weight/nan_acc_max > 0 (AUTOTRAINER counts NaN as
///               an exploding gradient)
///   dying_relu, exploding, vanishing   ft_died_relu/explode_gradient/vanish_gradient_max > 0,
///               only when the not-converged or slow-convergence gate fired
///   oscillating ft_unstable_loss_max > 0
///   abnormal_loss   ft_loss_min < 0 (a negative loss)
///   slow        ft_sc_accuracy_max > 0
///   overfit     ft_test_not_well_max > 0 (disabled in AUTOTRAINER's code; used here for mismatch)
/// Each symptom lists candidate classes, the first one the task has wins:
///   numerical, exploding -> learning_rate | diverged | hyperparameter | faulty | effective
///   dying_relu           -> activation | faulty | effective
///   vanishing            -> activation | weights | faulty | effective
///   oscillating          -> learning_rate | oscillating | hyperparameter | faulty | effective
///   abnormal_loss        -> loss | faulty | effective
///   slow                 -> optimizer | learning_rate | hyperparameter | faulty | effective
///   overfit              -> mismatch | regularization | faulty | effective
///   no symptom           -> stable | consistent | clean | not_effective
/// When no candidate is a class of the task, the prediction is the training majority class: that
/// is all fit() learns (the rules themselves are fixed, so they cannot overfit a training fold).
/// A column the matrix lacks (the evaluation drops a task's label inputs, e.g. ft_unstable_loss_*
/// for instability) reads as NaN, so its symptom never fires; a matrix with none of the columns
/// is an error.
class AutotrainerRules : public Diagnoser {
 public:
  void fit(const Matrix& x, const Labels& y) override;
  Labels predict(const Matrix& x) const override;
  Matrix predict_proba(const Matrix& x) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string name() const override { return "autotrainer_rules"; }
  std::string feature_set() const override { return "deepfd"; }
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

  /// The DeepFD columns the rules read.
  static const std::vector<std::string>& required_columns();
  /// The symptom of one row of the required columns (in required_columns() order), "" = none.
  static std::string symptom(const std::vector<double>& values);

 private:
  static constexpr size_t kAbsent = static_cast<size_t>(-1);  // a column the matrix lacks
  std::vector<size_t> columns_of(const Matrix& x) const;
  std::vector<std::string> classes_;
  std::string majority_;
  size_t dims_ = 0;
  std::vector<size_t> columns_;  // index of each required column, fixed by fit()
  bool fitted_ = false;
};

/// DeepFD's diagnosis on DeepFD's features (prior-work section 6): its three classifiers with
/// its hyperparameters -- kNN (k = 5, min-max scaling), decision tree (gini, max_depth 5) and
/// random forest (32 trees, max_depth 10, max_features 60) -- combined by majority vote (DeepFD
/// takes the union of the classifiers' positive labels in its multi-label setting; for one label
/// per trace the vote is the closest analogue); a three-way tie goes to the forest.
/// predict_proba is the mean of the three members' probabilities.
class DeepfdBaseline : public Diagnoser {
 public:
  DeepfdBaseline();
  void fit(const Matrix& x, const Labels& y) override;
  Labels predict(const Matrix& x) const override;
  Matrix predict_proba(const Matrix& x) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string name() const override { return "deepfd"; }
  std::string feature_set() const override { return "deepfd"; }
  /// The seed goes to the forest, the bin count to the tree and the forest.
  void configure(const LearnerSettings& settings) override;
  bool seeded() const override { return true; }
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

 private:
  std::vector<std::string> classes_;
  Knn knn_;
  DecisionTree tree_;
  RandomForest forest_;
  bool fitted_ = false;
};

}  // namespace dynfault::diagnosis
