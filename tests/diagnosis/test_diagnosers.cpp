#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "diagnosis/diagnoser.h"
#include "diagnosis/logistic_regression.h"
#include "diagnosis/preprocess.h"
#include "diagnosis/splits.h"
#include "tests/diagnosis/toy_data.h"

using namespace dynfault::diagnosis;

using dynfault::testing::blobs;

TEST_SUITE("diagnosis") {
  TEST_CASE("Diagnosers: the registry knows logistic_regression and rejects unknown names") {
    const auto names = diagnoser_names();
    CHECK(std::find(names.begin(), names.end(), "logistic_regression") != names.end());
    CHECK(make_diagnoser("logistic_regression")->name() == "logistic_regression");
    CHECK_THROWS_WITH_AS(make_diagnoser("svm"), doctest::Contains("logistic_regression"),
                         dynfault::Error);
  }

  TEST_CASE("Logistic regression: learns a separable toy problem") {
    Matrix x, xt;
    Labels y, yt;
    blobs(600, 10, 1, x, y);
    blobs(300, 10, 2, xt, yt);
    LogisticRegression lr;
    lr.fit(x, y);
    CHECK(lr.converged());
    CHECK(lr.classes() == std::vector<std::string>{"activation", "loss", "optimizer"});
    const Labels p = lr.predict(xt);
    size_t hit = 0;
    for (size_t i = 0; i < p.size(); ++i) hit += p[i] == yt[i] ? 1 : 0;
    CHECK(static_cast<double>(hit) / static_cast<double>(p.size()) >= 0.95);
    const Matrix proba = lr.predict_proba(xt);
    for (size_t i = 0; i < proba.rows; ++i) {
      double s = 0;
      for (size_t c = 0; c < proba.cols; ++c) s += proba(i, c);
      CHECK(s == doctest::Approx(1.0));
    }
  }

  TEST_CASE("Logistic regression: save and load give identical predictions") {
    Matrix x;
    Labels y;
    blobs(300, 8, 3, x, y);
    LogisticRegression lr(LogisticRegressionOptions().c(0.5));
    lr.fit(x, y);
    std::stringstream buf;
    lr.save(buf);
    const auto loaded = load_diagnoser(buf);
    CHECK(loaded->name() == "logistic_regression");
    CHECK(loaded->predict(x) == lr.predict(x));
    const Matrix a = lr.predict_proba(x), b = loaded->predict_proba(x);
    CHECK(a.data == b.data);  // bit for bit
    std::stringstream again;
    loaded->save(again);
    std::stringstream first;
    lr.save(first);
    CHECK(again.str() == first.str());
    std::stringstream junk("logistic_regression 1\noptions 1 2\n");
    LogisticRegression fresh;
    CHECK_THROWS_AS(fresh.load(junk), dynfault::Error);
  }

  TEST_CASE("Logistic regression: deterministic, and robust to constant, NaN and huge columns") {
    Matrix x;
    Labels y;
    blobs(200, 6, 4, x, y);
    for (size_t i = 0; i < x.rows; ++i) {
      x(i, 4) = 7.0;                         // constant
      x(i, 5) = i % 2 ? std::nan("") : 1.0;  // half missing
    }
    x(3, 3) = 1e300;  // one blown-up value
    LogisticRegression a, b;
    a.fit(x, y);
    b.fit(x, y);
    CHECK(a.coef() == b.coef());
    CHECK(a.intercept() == b.intercept());
    for (double w : a.coef()) CHECK(std::isfinite(w));
    CHECK_THROWS_AS(a.predict(Matrix(2, 3)), dynfault::Error);  // wrong width
    LogisticRegression unfitted;
    CHECK_THROWS_AS(unfitted.predict(x), dynfault::Error);
  }

  TEST_CASE("Logistic regression: a single training class predicts that class") {
    LogisticRegression lr;
    lr.fit(Matrix(3, 2, 1.0), Labels{"loss", "loss", "loss"});
    CHECK(lr.predict(Matrix(2, 2, 0.0)) == Labels{"loss", "loss"});
  }

  TEST_CASE("Logistic regression: 5,000 x 150 converges to scikit-learn's tolerance") {
    Matrix x;
    Labels y;
    blobs(5000, 150, 5, x, y);
    LogisticRegression lr;
    lr.fit(x, y);
    CHECK(lr.converged());
    MESSAGE("5000 x 150 fit: " << lr.iterations() << " L-BFGS iterations");
    CHECK(lr.iterations() < LogisticRegressionOptions().max_iter());
  }

  TEST_CASE("Logistic regression: the warm start reaches the minimiser of the cold start") {
    Matrix x;
    Labels y;
    blobs(4000, 20, 9, x, y);  // 1,000 rows in the warm start's subsample
    LogisticRegression warm(LogisticRegressionOptions().tol(1e-7)),
        cold(LogisticRegressionOptions().tol(1e-7).warm_start(0));
    warm.fit(x, y);
    cold.fit(x, y);
    REQUIRE(warm.converged());
    REQUIRE(cold.converged());
    CHECK(warm.coef() != cold.coef());  // another path ...
    double max_diff = 0;                // ... to the same point (strictly convex objective)
    for (size_t i = 0; i < warm.coef().size(); ++i)
      max_diff = std::max(max_diff, std::fabs(warm.coef()[i] - cold.coef()[i]));
    CHECK(max_diff < 1e-3);
    CHECK(warm.objective() == doctest::Approx(cold.objective()).epsilon(1e-9));
    CHECK(warm.predict(x) == cold.predict(x));
    CHECK_THROWS_AS(LogisticRegression(LogisticRegressionOptions().warm_start(-1)),
                    dynfault::Error);
  }

  TEST_CASE("Logistic regression: two classes fit the binomial model, as scikit-learn does") {
    Matrix x;
    Labels y3;
    blobs(400, 5, 8, x, y3);
    Labels y;  // "loss" against the rest
    for (const auto& label : y3) y.push_back(label == "loss" ? "loss" : "other");
    const double c = 0.7;
    LogisticRegression lr(LogisticRegressionOptions().c(c).tol(1e-8));
    lr.fit(x, y);
    REQUIRE(lr.converged());
    REQUIRE(lr.classes() == std::vector<std::string>{"loss", "other"});
    const size_t d = x.cols, n = x.rows;
    // One weight vector: the first class's row and intercept are zero.
    for (size_t j = 0; j < d; ++j) CHECK(lr.coef()[j] == 0.0);
    CHECK(lr.intercept()[0] == 0.0);
    // Stationarity of (1/n) sum log(1 + e^z) - y z + |w|^2 / (2 C n) on the same preprocessing:
    // (1/n) sum (p_i - y_i) x_i + w / (C n) = 0 and (1/n) sum (p_i - y_i) = 0.
    Scaler scaler;
    scaler.fit(x, LogisticRegressionOptions().clip_quantile(), Scaling::standard);
    const Matrix xs = scaler.transform(x);
    const double* w = lr.coef().data() + d;
    const double b = lr.intercept()[1];
    std::vector<double> grad(d + 1, 0.0);
    for (size_t i = 0; i < n; ++i) {
      double z = b;
      for (size_t j = 0; j < d; ++j) z += w[j] * xs(i, j);
      const double r = 1.0 / (1.0 + std::exp(-z)) - (y[i] == "other" ? 1.0 : 0.0);
      for (size_t j = 0; j < d; ++j) grad[j] += r * xs(i, j) / static_cast<double>(n);
      grad[d] += r / static_cast<double>(n);
    }
    for (size_t j = 0; j < d; ++j) grad[j] += w[j] / (c * static_cast<double>(n));
    for (double g : grad) CHECK(std::fabs(g) <= 1e-7);
    // And the probabilities are the logistic of that score.
    const Matrix p = lr.predict_proba(x);
    double z0 = b;
    for (size_t j = 0; j < d; ++j) z0 += w[j] * xs(0, j);
    CHECK(p(0, 1) == doctest::Approx(1.0 / (1.0 + std::exp(-z0))).epsilon(1e-12));
  }
}
