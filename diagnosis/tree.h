#pragma once
/// CART classification trees (Gini impurity) and a random forest of them, written here: small,
/// deterministic, and the multi-class Gini trees of scikit-learn's DecisionTreeClassifier and
/// RandomForestClassifier that DeepFD and DEFault used (prior-work section 6).
///
/// Why not XGBoost's random-forest mode: with a multi-class objective XGBoost grows one
/// regression tree per class on the softmax gradient at a constant margin, i.e. K forests of
/// gradient trees rather than one forest of Gini trees, and costs K times the trees. The hand-
/// written forest shares its tree with `decision_tree` and is the learner prior tools describe.
///
/// Split search uses histograms over per-column quantile bins fitted on the training fold (as
/// LightGBM/XGBoost `hist`): each column gets at most `max_bins` - 1 cut points taken from its
/// sorted finite training values, and a split is "x <= cut". NaN is ordered below every value
/// (its own bin, always sent left), +-Inf are ordinary extreme values. The default is 255 bins
/// (the most a one-byte code holds); until 2026-12-05 it was 32, and an independent forest with
/// exact splits then scored 0.04 higher on instability (`curves`) than ours.
///
/// What differs from scikit-learn's RandomForestClassifier / DecisionTreeClassifier (1.x):
///   * thresholds: a column with more than 255 distinct training values is split only at its
///     255-quantile cuts, and the threshold is the cut value itself, not the midpoint between
///     two neighbouring values (same partition of the training rows; unseen values between the
///     two fall the other way);
///   * missing values: NaN always goes left (scikit-learn >= 1.4 learns a side per split, older
///     versions reject NaN);
///   * forest size and depth: 50 trees grown to depth 12 by default (scikit-learn: 100 trees,
///     unlimited depth), for cost; `default_rf` uses 100 trees, DeepFD's forest 32 trees of depth
///     10 as its code does;
///   * randomness: bootstrap rows and the per-node feature sample come from our SplitMix64
///     stream seeded by LearnerSettings::seed, not NumPy's generator, so no seed reproduces a
///     scikit-learn forest tree for tree; ties between equally good splits go to the first
///     feature sampled and the lowest cut (scikit-learn breaks them by its feature order);
///   * the same: Gini impurity, bootstrap samples of n rows with replacement, sqrt(d) features
///     tried per node, min_samples_leaf = 1, class probabilities averaged over trees (soft
///     voting), no class weights.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/check.h"
#include "diagnosis/diagnoser.h"

namespace dynfault::diagnosis {

/// Options of one CART tree.
///
/// Example:
///   DecisionTree dt(TreeOptions().max_depth(5));
struct TreeOptions {
  DYNFAULT_ARG(int, max_depth) = 5;         ///< DeepFD's decision tree: gini, max_depth 5
  DYNFAULT_ARG(int, min_samples_leaf) = 1;  ///< scikit-learn's default
  DYNFAULT_ARG(int, max_features) = 0;      ///< features tried per node; 0 = all, -1 = sqrt(d)
  DYNFAULT_ARG(int, max_bins) = 255;        ///< histogram bins per column (2..255)
};

/// A fitted CART tree (flat node arrays); used alone by DecisionTree and many times by
/// RandomForest.
struct Tree {
  std::vector<int> feature;       ///< split column, -1 for a leaf
  std::vector<double> threshold;  ///< go left when x <= threshold or x is NaN
  std::vector<int> left, right;   ///< child node indices
  std::vector<double> proba;      ///< nodes x classes: class shares of the leaf's samples

  /// Leaf class shares for one row of `classes` values (pointer to `classes` doubles).
  const double* leaf(const double* row, size_t classes) const;
};

/// Quantile bins of each column of a training matrix.
class Binner {
 public:
  void fit(const Matrix& x, int max_bins);
  /// Column-major bin codes (code 0 = NaN; code c >= 1 means cuts[c-2] < x <= cuts[c-1]).
  std::vector<uint8_t> codes(const Matrix& x) const;
  const std::vector<double>& cuts(size_t column) const { return cuts_[column]; }

  /// fit and codes on a column-major copy `xt` of a rows x cols matrix (Matrix::column_major),
  /// so that fitting and coding the same matrix transpose it once.
  void fit_columns(const std::vector<double>& xt, size_t rows, size_t cols, int max_bins);
  std::vector<uint8_t> codes_columns(const std::vector<double>& xt, size_t rows, size_t cols) const;

 private:
  std::vector<std::vector<double>> cuts_;
};

/// A fitted Binner and the codes of the training matrix it was fitted on.
struct BinnedMatrix {
  Binner binner;
  std::vector<uint8_t> codes;
};

/// Binner::fit and codes of `x`, shared by the tree learners within a FitScope (preprocess.h).
std::shared_ptr<const BinnedMatrix> binned_matrix(const Matrix& x, int max_bins);

/// Grows one tree on the binned training data. `rows` lists the training rows (repeats allowed:
/// a bootstrap sample), `y` the class index of every row of the matrix, `seed` drives the
/// per-node feature sampling when max_features < d.
Tree grow_tree(const std::vector<uint8_t>& codes, size_t n, const Binner& binner,
               const std::vector<size_t>& y, size_t classes, const std::vector<size_t>& rows,
               const TreeOptions& options, uint64_t seed);

/// CART classifier, Gini impurity (DeepFD: max_depth 5).
class DecisionTree : public Diagnoser {
 public:
  explicit DecisionTree(TreeOptions options = {});
  void fit(const Matrix& x, const Labels& y) override;
  Labels predict(const Matrix& x) const override;
  Matrix predict_proba(const Matrix& x) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string name() const override { return "decision_tree"; }
  void configure(const LearnerSettings& settings) override;
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

  const Tree& tree() const { return tree_; }

 private:
  TreeOptions options_;
  std::vector<std::string> classes_;
  size_t dims_ = 0;
  Tree tree_;
  bool fitted_ = false;
};

/// Options of RandomForest.
///
/// Example:
///   RandomForest rf(ForestOptions().trees(32).max_depth(10).max_features(60));  // DeepFD's
struct ForestOptions {
  DYNFAULT_ARG(int, trees) = 50;      ///< scikit-learn's default is 100; halved for cost
  DYNFAULT_ARG(int, max_depth) = 12;  ///< scikit-learn grows to purity; capped for cost
  DYNFAULT_ARG(int, min_samples_leaf) = 1;
  DYNFAULT_ARG(int, max_features) = -1;  ///< -1 = sqrt(d) (scikit-learn's default), 0 = all
  DYNFAULT_ARG(int, max_bins) = 255;
  DYNFAULT_ARG(uint64_t, seed) = 0;  ///< bootstrap samples and feature sampling
};

/// Random forest of CART trees: bootstrap samples, max_features columns tried per node,
/// probabilities averaged over trees (scikit-learn's RandomForestClassifier).
class RandomForest : public Diagnoser {
 public:
  explicit RandomForest(ForestOptions options = {}, std::string name = "random_forest",
                        std::string feature_set = "");
  void fit(const Matrix& x, const Labels& y) override;
  Labels predict(const Matrix& x) const override;
  Matrix predict_proba(const Matrix& x) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string name() const override { return name_; }
  std::string feature_set() const override { return feature_set_; }
  void configure(const LearnerSettings& settings) override;
  bool seeded() const override { return true; }
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

 private:
  ForestOptions options_;
  std::string name_, feature_set_;
  std::vector<std::string> classes_;
  size_t dims_ = 0;
  std::vector<Tree> trees_;
  bool fitted_ = false;
};

/// `default_rf`: DEFault's learner on DEFault's feature set (prior-work section 6: random forest;
/// its grid's centre, 100 trees, sqrt features; no over-sampling, which leaked duplicates).
std::unique_ptr<Diagnoser> make_default_rf();

}  // namespace dynfault::diagnosis
