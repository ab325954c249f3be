// Every registered diagnoser: learns a separable toy problem, round-trips through save/load
// with identical predictions, and refuses a model file of another format version.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "diagnosis/baselines.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/gradient_boosting.h"
#include "diagnosis/tree.h"
#include "tests/diagnosis/toy_data.h"

using namespace dynfault::diagnosis;
using dynfault::testing::blobs;

namespace {

double hit_rate(const Labels& a, const Labels& b) {
  size_t hit = 0;
  for (size_t i = 0; i < a.size(); ++i) hit += a[i] == b[i] ? 1 : 0;
  return static_cast<double>(hit) / static_cast<double>(a.size());
}

// Names the toy columns as DeepFD features, so that the deepfd-bound diagnosers read them: the
// first columns carry the class signal, and the rule columns are set so that class
// "activation" shows dying ReLU behind the slow-convergence gate, "loss" a negative loss and
// "optimizer" slow convergence alone.
void name_as_deepfd(Matrix& x, const Labels& y) {
  const auto& required = AutotrainerRules::required_columns();
  const size_t extra = required.size();
  Matrix out(x.rows, x.cols + extra);
  for (size_t i = 0; i < x.rows; ++i) {
    std::copy(x.row(i), x.row(i) + x.cols, out.row(i));
    double* r = out.row(i) + x.cols;
    std::fill(r, r + extra, 0.0);
    r[10] = 0.5;                                // ft_loss_min
    if (y[i] == "activation") r[5] = r[6] = 1;  // sc_accuracy gate + died_relu
    if (y[i] == "loss") r[10] = -0.1;
    if (y[i] == "optimizer") r[5] = 1;
  }
  for (size_t j = 0; j < x.cols; ++j) out.names.push_back("ft_signal_" + std::to_string(j));
  out.names.insert(out.names.end(), required.begin(), required.end());
  x = std::move(out);
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Diagnosers: the registry holds the learners, baselines and rules") {
    const std::vector<std::string> expected = {"autotrainer_rules",
                                               "decision_tree",
                                               "deepfd",
                                               "default_rf",
                                               "gradient_boosting",
                                               "knn",
                                               "logistic_regression",
                                               "mlp",
                                               "random_forest"};
    const auto names = diagnoser_names();
    for (const auto& n : expected) {
      CHECK(std::find(names.begin(), names.end(), n) != names.end());
      CHECK(make_diagnoser(n)->name() == n);
    }
    CHECK(make_diagnoser("deepfd")->feature_set() == "deepfd");
    CHECK(make_diagnoser("default_rf")->feature_set() == "default");
    CHECK(make_diagnoser("autotrainer_rules")->feature_set() == "deepfd");
    CHECK(make_diagnoser("random_forest")->feature_set().empty());
  }

  // The diagnoser registry's contract: every registered diagnoser, built-in or added later.
  TEST_CASE("Diagnosers: each learns a separable toy problem and round-trips exactly") {
    Matrix x, xt;
    Labels y, yt;
    blobs(450, 8, 11, x, y);
    blobs(300, 8, 12, xt, yt);
    name_as_deepfd(x, y);
    name_as_deepfd(xt, yt);
    for (const auto& name : diagnoser_names()) {
      CAPTURE(name);
      auto d = make_diagnoser(name);
      CHECK(d->name() == name);
      d->fit(x, y);
      CHECK(d->classes() == std::vector<std::string>{"activation", "loss", "optimizer"});
      const Labels p = d->predict(xt);
      CHECK(hit_rate(p, yt) >= 0.95);
      const Matrix proba = d->predict_proba(xt);
      REQUIRE(proba.rows == xt.rows);
      for (size_t i = 0; i < proba.rows; ++i) {
        double s = 0;
        for (size_t c = 0; c < proba.cols; ++c) s += proba(i, c);
        CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
      }
      std::stringstream buf;
      d->save(buf);
      const std::string text = buf.str();
      const auto loaded = load_diagnoser(buf);
      CHECK(loaded->name() == name);
      CHECK(loaded->predict(xt) == p);
      CHECK(loaded->predict_proba(xt).data == proba.data);  // bit for bit
      std::stringstream again;
      loaded->save(again);
      CHECK(again.str() == text);

      // The same stream stamped with another format version is refused, clearly.
      std::string other = text;
      other.replace(other.find(' '), other.find('\n') - other.find(' '), " 99");
      std::stringstream future(other);
      auto fresh = make_diagnoser(name);
      CHECK_THROWS_WITH_AS(fresh->load(future), doctest::Contains("format version 99"),
                           dynfault::Error);
      std::stringstream truncated(text.substr(0, text.size() / 2));
      CHECK_THROWS_AS(make_diagnoser(name)->load(truncated), dynfault::Error);
    }
  }

  TEST_CASE("Diagnosers: NaN and Inf inputs, one class, and width checks") {
    Matrix x;
    Labels y;
    blobs(90, 6, 3, x, y);
    for (size_t i = 0; i < x.rows; i += 7) x(i, 2) = std::nan("");
    x(4, 1) = -std::numeric_limits<double>::infinity();
    x(5, 3) = 1e300;
    for (const char* name : {"decision_tree", "random_forest", "gradient_boosting", "knn", "mlp"}) {
      CAPTURE(name);
      auto d = make_diagnoser(name);
      d->fit(x, y);
      for (const auto& label : d->predict(x)) CHECK(!label.empty());
      CHECK_THROWS_AS(d->predict(Matrix(2, 3)), dynfault::Error);
      auto one = make_diagnoser(name);
      one->fit(Matrix(4, 2, 1.0), Labels{"loss", "loss", "loss", "loss"});
      CHECK(one->predict(Matrix(2, 2, 0.0)) == Labels{"loss", "loss"});
      CHECK_THROWS_AS(make_diagnoser(name)->predict(x), dynfault::Error);  // not fitted
    }
  }

  TEST_CASE("Decision tree: depth-limited CART splits at training values") {
    // One informative column: class "b" iff x > 2; the tree finds the cut at 2 exactly.
    Matrix x(8, 1);
    Labels y;
    for (size_t i = 0; i < 8; ++i) {
      x(i, 0) = static_cast<double>(i) * 0.5 + 0.5;  // 0.5 .. 4.0
      y.push_back(x(i, 0) > 2 ? "b" : "a");
    }
    DecisionTree dt(TreeOptions().max_depth(1));
    dt.fit(x, y);
    REQUIRE(dt.tree().feature.size() == 3);
    CHECK(dt.tree().feature[0] == 0);
    CHECK(dt.tree().threshold[0] == 2.0);
    Matrix q(3, 1);
    q(0, 0) = 2.0;
    q(1, 0) = 2.01;
    q(2, 0) = std::nan("");  // NaN goes left
    CHECK(dt.predict(q) == Labels{"a", "b", "a"});
    CHECK_THROWS_AS(DecisionTree(TreeOptions().max_bins(300)), dynfault::Error);
  }

  TEST_CASE("AUTOTRAINER rules: symptoms map to the task's classes, else the majority") {
    const auto& cols = AutotrainerRules::required_columns();
    auto row = [&](std::vector<std::pair<std::string, double>> set) {
      std::vector<double> v(cols.size(), 0.0);
      v[10] = 1.0;  // ft_loss_min: a positive loss
      for (const auto& [name, value] : set)
        v[static_cast<size_t>(std::find(cols.begin(), cols.end(), name) - cols.begin())] = value;
      return v;
    };
    CHECK(AutotrainerRules::symptom(row({})) == "");
    CHECK(AutotrainerRules::symptom(row({{"ft_nan_loss_max", 2}})) == "numerical");
    // Gradient rules fire only behind the not-converged / slow-convergence gate.
    CHECK(AutotrainerRules::symptom(row({{"ft_died_relu_max", 1}})) == "");
    CHECK(AutotrainerRules::symptom(row({{"ft_died_relu_max", 1}, {"ft_not_converge_max", 1}})) ==
          "dying_relu");
    CHECK(AutotrainerRules::symptom(row({{"ft_unstable_loss_max", 1}})) == "oscillating");
    CHECK(AutotrainerRules::symptom(row({{"ft_loss_min", -0.5}})) == "abnormal_loss");
    CHECK(AutotrainerRules::symptom(row({{"ft_test_not_well_max", 3}})) == "overfit");

    Matrix x(4, cols.size());
    x.names = cols;
    const std::vector<std::vector<double>> rows = {row({{"ft_nan_loss_max", 1}}), row({}),
                                                   row({{"ft_unstable_loss_max", 1}}),
                                                   row({{"ft_loss_min", -1}})};
    for (size_t i = 0; i < 4; ++i) std::copy(rows[i].begin(), rows[i].end(), x.row(i));
    AutotrainerRules instability;
    instability.fit(x, {"stable", "stable", "oscillating", "diverged"});
    CHECK(instability.predict(x) == Labels{"diverged", "stable", "oscillating", "stable"});
    AutotrainerRules detection;  // a negative loss has no detection class but "faulty"
    detection.fit(x, {"faulty", "clean", "faulty", "faulty"});
    CHECK(detection.predict(x) == Labels{"faulty", "clean", "faulty", "faulty"});
    Matrix unnamed(2, 3);
    CHECK_THROWS_WITH_AS(AutotrainerRules().fit(unnamed, {"a", "b"}),
                         doctest::Contains("ft_nan_loss_max"), dynfault::Error);
  }

  TEST_CASE("Gradient boosting: links XGBoost") {
    CHECK(GradientBoosting::xgboost_version().rfind("1.", 0) == 0);
  }
}
