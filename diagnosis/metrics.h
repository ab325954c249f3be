#pragma once
/// Classification metrics over string labels, with scikit-learn's conventions.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dynfault::diagnosis {

/// Class labels, one per sample ("" is not a class: callers drop unlabelled samples first).
using Labels = std::vector<std::string>;

/// counts[i][j] = samples of true class classes[i] predicted as classes[j].
struct ConfusionMatrix {
  std::vector<std::string> classes;
  std::vector<std::vector<int64_t>> counts;
  /// Row total of class i (its support in y_true).
  int64_t support(size_t i) const;
  /// Column total of class j (how often it was predicted).
  int64_t predicted(size_t j) const;
  int64_t total() const;
};

/// Confusion matrix over `classes`; when `classes` is empty, the sorted union of y_true and
/// y_pred. Throws dynfault::Error on a size mismatch or a label outside `classes`.
ConfusionMatrix confusion_matrix(const Labels& y_true, const Labels& y_pred,
                                 const std::vector<std::string>& classes = {});

/// Recall of every class present in y_true (predicted-only classes have no recall).
std::map<std::string, double> per_class_recall(const ConfusionMatrix& cm);

/// Balanced accuracy, scikit-learn's `balanced_accuracy_score` (adjusted=False): the mean
/// recall over the classes present in y_true. A class that appears only in y_pred adds no term
/// (sklearn drops it with a warning), but its predictions still cost recall of the true classes.
/// NaN when there are no samples.
double balanced_accuracy(const ConfusionMatrix& cm);
double balanced_accuracy(const Labels& y_true, const Labels& y_pred);

/// Macro-F1, scikit-learn's `f1_score(average="macro", zero_division=0)`: the unweighted mean
/// of per-class F1 = 2 TP / (2 TP + FP + FN) over the classes in y_true union y_pred (sklearn's
/// default `labels`); a class with no true and no predicted sample cannot occur there, and an
/// undefined precision or recall makes that class's F1 0. NaN when there are no samples.
double macro_f1(const ConfusionMatrix& cm);
double macro_f1(const Labels& y_true, const Labels& y_pred);

/// Share of exact matches; NaN when empty.
double accuracy(const Labels& y_true, const Labels& y_pred);

}  // namespace dynfault::diagnosis
