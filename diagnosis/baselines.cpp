#include "diagnosis/baselines.h"

#include <algorithm>
#include <cmath>
#include <istream>
#include <map>
#include <ostream>

#include "diagnosis/model_io.h"

namespace dynfault::diagnosis {
namespace {

constexpr int kFormatVersion = 1;

enum Column {
  kNanLoss,
  kNanGradient,
  kNanWeight,
  kNanAcc,
  kNotConverge,
  kScAccuracy,
  kDiedRelu,
  kExplode,
  kVanish,
  kUnstable,
  kLossMin,
  kTestNotWell,
};

const std::map<std::string, std::vector<std::string>>& candidates() {
  static const std::map<std::string, std::vector<std::string>> kMap = {
      {"numerical", {"learning_rate", "diverged", "hyperparameter", "faulty", "effective"}},
      {"exploding", {"learning_rate", "diverged", "hyperparameter", "faulty", "effective"}},
      {"dying_relu", {"activation", "faulty", "effective"}},
      {"vanishing", {"activation", "weights", "faulty", "effective"}},
      {"oscillating", {"learning_rate", "oscillating", "hyperparameter", "faulty", "effective"}},
      {"abnormal_loss", {"loss", "faulty", "effective"}},
      {"slow", {"optimizer", "learning_rate", "hyperparameter", "faulty", "effective"}},
      {"overfit", {"mismatch", "regularization", "faulty", "effective"}},
      {"", {"stable", "consistent", "clean", "not_effective"}},
  };
  return kMap;
}

bool positive(double v) { return std::isfinite(v) && v > 0; }

}  // namespace

const std::vector<std::string>& AutotrainerRules::required_columns() {
  static const std::vector<std::string> kColumns = {"ft_nan_loss_max",
                                                    "ft_nan_gradient_max",
                                                    "ft_nan_weight_max",
                                                    "ft_nan_acc_max",
                                                    "ft_not_converge_max",
                                                    "ft_sc_accuracy_max",
                                                    "ft_died_relu_max",
                                                    "ft_explode_gradient_max",
                                                    "ft_vanish_gradient_max",
                                                    "ft_unstable_loss_max",
                                                    "ft_loss_min",
                                                    "ft_test_not_well_max"};
  return kColumns;
}

std::string AutotrainerRules::symptom(const std::vector<double>& v) {
  if (positive(v[kNanLoss]) || positive(v[kNanGradient]) || positive(v[kNanWeight]) ||
      positive(v[kNanAcc]))
    return "numerical";
  if (positive(v[kNotConverge]) || positive(v[kScAccuracy])) {
    if (positive(v[kDiedRelu])) return "dying_relu";
    if (positive(v[kExplode])) return "exploding";
    if (positive(v[kVanish])) return "vanishing";
  }
  if (positive(v[kUnstable])) return "oscillating";
  if (std::isfinite(v[kLossMin]) && v[kLossMin] < 0) return "abnormal_loss";
  if (positive(v[kScAccuracy])) return "slow";
  if (positive(v[kTestNotWell])) return "overfit";
  return "";
}

std::vector<size_t> AutotrainerRules::columns_of(const Matrix& x) const {
  std::vector<size_t> idx;
  size_t found = 0;
  for (const auto& c : required_columns()) {
    const auto it = std::find(x.names.begin(), x.names.end(), c);
    idx.push_back(it == x.names.end() ? kAbsent : static_cast<size_t>(it - x.names.begin()));
    found += it == x.names.end() ? 0 : 1;
  }
  DYNFAULT_CHECK(found > 0, "autotrainer_rules: none of the deepfd feature columns it reads (",
                 required_columns().front(),
                 ", ...) is in the matrix (evaluate it on the "
                 "'deepfd' feature set, with column names)");
  return idx;
}

void AutotrainerRules::fit(const Matrix& x, const Labels& y) {
  classes_ = training_classes(x, y, "AutotrainerRules");
  columns_ = columns_of(x);
  dims_ = x.cols;
  std::map<std::string, size_t> counts;
  for (const auto& l : y) ++counts[l];
  majority_ = classes_.front();
  for (const auto& [c, n] : counts)
    if (n > counts[majority_]) majority_ = c;
  fitted_ = true;
}

Labels AutotrainerRules::predict(const Matrix& x) const {
  DYNFAULT_CHECK(fitted_, "AutotrainerRules: predict() before fit()");
  DYNFAULT_CHECK(x.cols == dims_, "AutotrainerRules: fitted on ", dims_, " features, got ", x.cols);
  // Columns are found by name when the matrix carries names, else by the positions of fit().
  const std::vector<size_t> cols = x.names.empty() ? columns_ : columns_of(x);
  Labels out(x.rows);
  std::vector<double> v(cols.size());
  for (size_t i = 0; i < x.rows; ++i) {
    for (size_t c = 0; c < cols.size(); ++c) v[c] = cols[c] == kAbsent ? NAN : x(i, cols[c]);
    out[i] = majority_;
    for (const auto& cls : candidates().at(symptom(v)))
      if (std::binary_search(classes_.begin(), classes_.end(), cls)) {
        out[i] = cls;
        break;
      }
  }
  return out;
}

Matrix AutotrainerRules::predict_proba(const Matrix& x) const {
  const Labels y = predict(x);
  Matrix p(x.rows, classes_.size());
  const std::vector<size_t> idx = encode_labels(y, classes_);
  for (size_t i = 0; i < x.rows; ++i) p(i, idx[i]) = 1.0;
  return p;
}

void AutotrainerRules::save(std::ostream& out) const {
  DYNFAULT_CHECK(fitted_, "AutotrainerRules::save(): not fitted");
  model_io::write_header(out, name(), kFormatVersion);
  model_io::write_strings(out, "classes", classes_);
  model_io::write_strings(out, "majority", {majority_});
  model_io::write_int(out, "dims", static_cast<int64_t>(dims_));
  std::vector<double> cols;
  for (size_t c : columns_) cols.push_back(c == kAbsent ? -1.0 : static_cast<double>(c));
  model_io::write_vector(out, "columns", cols);
  out << "end\n";
}

void AutotrainerRules::load(std::istream& in) {
  const std::string who = "AutotrainerRules";
  model_io::read_header(in, name(), kFormatVersion);
  auto classes = model_io::read_strings(in, "classes", who);
  auto majority = model_io::read_strings(in, "majority", who);
  const int64_t dims = model_io::read_int(in, "dims", who);
  const auto cols = model_io::read_vector(in, "columns", required_columns().size(), who);
  model_io::read_end(in, who);
  DYNFAULT_CHECK(!classes.empty() && majority.size() == 1 && dims >= 0, who, "::load(): bad model");
  columns_.clear();
  for (double c : cols) {
    DYNFAULT_CHECK(c >= -1 && c < static_cast<double>(dims), who, "::load(): bad column index");
    columns_.push_back(c < 0 ? kAbsent : static_cast<size_t>(c));
  }
  classes_ = std::move(classes);
  majority_ = majority[0];
  dims_ = static_cast<size_t>(dims);
  fitted_ = true;
}

// --- DeepfdBaseline -----------------------------------------------------------------------------

DeepfdBaseline::DeepfdBaseline()
    : knn_(KnnOptions().k(5).scaling(Scaling::minmax).clip_quantile(0)),
      tree_(TreeOptions().max_depth(5)),
      forest_(ForestOptions().trees(32).max_depth(10).max_features(60)) {}

void DeepfdBaseline::configure(const LearnerSettings& settings) {
  tree_.configure(settings);
  forest_.configure(settings);
}

void DeepfdBaseline::fit(const Matrix& x, const Labels& y) {
  classes_ = training_classes(x, y, "DeepfdBaseline");
  knn_.fit(x, y);
  tree_.fit(x, y);
  forest_.fit(x, y);
  fitted_ = true;
}

Labels DeepfdBaseline::predict(const Matrix& x) const {
  DYNFAULT_CHECK(fitted_, "DeepfdBaseline: predict() before fit()");
  const Labels a = knn_.predict(x), b = tree_.predict(x), c = forest_.predict(x);
  Labels out(x.rows);
  for (size_t i = 0; i < x.rows; ++i) out[i] = (a[i] == b[i]) ? a[i] : c[i];
  return out;
}

Matrix DeepfdBaseline::predict_proba(const Matrix& x) const {
  DYNFAULT_CHECK(fitted_, "DeepfdBaseline: predict() before fit()");
  Matrix p = knn_.predict_proba(x);
  const Matrix b = tree_.predict_proba(x), c = forest_.predict_proba(x);
  for (size_t i = 0; i < p.data.size(); ++i) p.data[i] = (p.data[i] + b.data[i] + c.data[i]) / 3;
  return p;
}

void DeepfdBaseline::save(std::ostream& out) const {
  DYNFAULT_CHECK(fitted_, "DeepfdBaseline::save(): not fitted");
  model_io::write_header(out, name(), kFormatVersion);
  knn_.save(out);
  tree_.save(out);
  forest_.save(out);
  out << "end\n";
}

void DeepfdBaseline::load(std::istream& in) {
  const std::string who = "DeepfdBaseline";
  model_io::read_header(in, name(), kFormatVersion);
  Knn knn;
  DecisionTree tree;
  RandomForest forest;
  knn.load(in);
  tree.load(in);
  forest.load(in);
  model_io::read_end(in, who);
  DYNFAULT_CHECK(knn.classes() == tree.classes() && tree.classes() == forest.classes(), who,
                 "::load(): members disagree on the classes");
  classes_ = knn.classes();
  knn_ = std::move(knn);
  tree_ = std::move(tree);
  forest_ = std::move(forest);
  fitted_ = true;
}

DYNFAULT_REGISTER(diagnoser_registry(), "autotrainer_rules",
                  [] { return std::make_unique<AutotrainerRules>(); });
DYNFAULT_REGISTER(diagnoser_registry(), "deepfd",
                  [] { return std::make_unique<DeepfdBaseline>(); });

}  // namespace dynfault::diagnosis
