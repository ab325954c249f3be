#include "diagnosis/metrics.h"

#include <algorithm>
#include <limits>
#include <set>

#include "common/check.h"

namespace dynfault::diagnosis {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

int64_t ConfusionMatrix::support(size_t i) const {
  int64_t s = 0;
  for (int64_t c : counts.at(i)) s += c;
  return s;
}

int64_t ConfusionMatrix::predicted(size_t j) const {
  int64_t s = 0;
  for (const auto& row : counts) s += row.at(j);
  return s;
}

int64_t ConfusionMatrix::total() const {
  int64_t s = 0;
  for (size_t i = 0; i < counts.size(); ++i) s += support(i);
  return s;
}

ConfusionMatrix confusion_matrix(const Labels& y_true, const Labels& y_pred,
                                 const std::vector<std::string>& classes) {
  DYNFAULT_CHECK(y_true.size() == y_pred.size(), "confusion_matrix(): ", y_true.size(),
                 " true labels but ", y_pred.size(), " predictions");
  ConfusionMatrix cm;
  if (classes.empty()) {
    std::set<std::string> all(y_true.begin(), y_true.end());
    all.insert(y_pred.begin(), y_pred.end());
    cm.classes.assign(all.begin(), all.end());
  } else {
    cm.classes = classes;
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < cm.classes.size(); ++i) index[cm.classes[i]] = i;
  cm.counts.assign(cm.classes.size(), std::vector<int64_t>(cm.classes.size(), 0));
  for (size_t k = 0; k < y_true.size(); ++k) {
    auto t = index.find(y_true[k]);
    auto p = index.find(y_pred[k]);
    DYNFAULT_CHECK(t != index.end(), "confusion_matrix(): unknown class '", y_true[k], "'");
    DYNFAULT_CHECK(p != index.end(), "confusion_matrix(): unknown class '", y_pred[k], "'");
    ++cm.counts[t->second][p->second];
  }
  return cm;
}

std::map<std::string, double> per_class_recall(const ConfusionMatrix& cm) {
  std::map<std::string, double> out;
  for (size_t i = 0; i < cm.classes.size(); ++i) {
    const int64_t s = cm.support(i);
    if (s > 0) out[cm.classes[i]] = static_cast<double>(cm.counts[i][i]) / static_cast<double>(s);
  }
  return out;
}

double balanced_accuracy(const ConfusionMatrix& cm) {
  const auto recalls = per_class_recall(cm);
  if (recalls.empty()) return kNaN;
  double sum = 0;
  for (const auto& kv : recalls) sum += kv.second;
  return sum / static_cast<double>(recalls.size());
}

double balanced_accuracy(const Labels& y_true, const Labels& y_pred) {
  return balanced_accuracy(confusion_matrix(y_true, y_pred));
}

double macro_f1(const ConfusionMatrix& cm) {
  double sum = 0;
  int n = 0;
  for (size_t i = 0; i < cm.classes.size(); ++i) {
    const int64_t tp = cm.counts[i][i];
    const int64_t fn = cm.support(i) - tp;
    const int64_t fp = cm.predicted(i) - tp;
    if (tp + fn + fp == 0) continue;  // listed class absent from both: not in sklearn's labels
    sum += 2.0 * static_cast<double>(tp) / static_cast<double>(2 * tp + fp + fn);
    ++n;
  }
  return n == 0 ? kNaN : sum / n;
}

double macro_f1(const Labels& y_true, const Labels& y_pred) {
  return macro_f1(confusion_matrix(y_true, y_pred));
}

double accuracy(const Labels& y_true, const Labels& y_pred) {
  DYNFAULT_CHECK(y_true.size() == y_pred.size(), "accuracy(): size mismatch");
  if (y_true.empty()) return kNaN;
  size_t hit = 0;
  for (size_t i = 0; i < y_true.size(); ++i) hit += y_true[i] == y_pred[i] ? 1 : 0;
  return static_cast<double>(hit) / static_cast<double>(y_true.size());
}

}  // namespace dynfault::diagnosis
