#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "diagnosis/diagnoser.h"
#include "diagnosis/logistic_regression.h"
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

  TEST_CASE("Logistic regression: 5,000 x 150 converges well under a second") {
    Matrix x;
    Labels y;
    blobs(5000, 150, 5, x, y);
    LogisticRegression lr;
    const auto t0 = std::chrono::steady_clock::now();
    lr.fit(x, y);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(lr.converged());
    MESSAGE("5000 x 150 fit: " << s << " s, " << lr.iterations() << " iterations");
    CHECK(s < 2.0);  // generous bound for a loaded CI machine; typically far less
  }
}
