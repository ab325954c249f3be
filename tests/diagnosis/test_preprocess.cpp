// Preprocessing shared by the learners: the Scaler's selections against sorting, the Binner's
// branch-free codes against binary search, the column-major copy, and FitScope's sharing, which
// must give every learner exactly the model it would fit on its own.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "diagnosis/diagnoser.h"
#include "diagnosis/preprocess.h"
#include "diagnosis/splits.h"
#include "diagnosis/tree.h"
#include "tests/diagnosis/toy_data.h"

using namespace dynfault::diagnosis;
using dynfault::testing::blobs;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A column with ties, NaN and +-Inf: values drawn from a small set so that selections hit
// repeated values, as counters in real feature sets do.
Matrix awkward_matrix(size_t n, size_t d, uint64_t seed) {
  SplitMix64 rng(seed);
  Matrix x(n, d);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) {
      const uint64_t r = rng.below(100);
      x(i, j) = r < 3    ? std::nan("")
                : r < 5  ? (r == 3 ? kInf : -kInf)
                : j == 0 ? 7.0                                // constant column
                : j == 1 ? static_cast<double>(rng.below(4))  // four distinct values
                         : static_cast<double>(rng.below(1000)) / 7.0 - 50.0;
    }
  return x;
}

// The Scaler's fit, written the slow and obvious way (full sorts, numpy's linear quantile).
struct Reference {
  std::vector<double> impute, lo, hi;
};
Reference reference_scaler(const Matrix& x, double q) {
  Reference r;
  for (size_t j = 0; j < x.cols; ++j) {
    std::vector<double> finite, col;
    for (size_t i = 0; i < x.rows; ++i)
      if (std::isfinite(x(i, j))) finite.push_back(x(i, j));
    std::sort(finite.begin(), finite.end());
    const double med = quantile_sorted(finite, 0.5);
    r.impute.push_back(med);
    for (size_t i = 0; i < x.rows; ++i) col.push_back(std::isfinite(x(i, j)) ? x(i, j) : med);
    std::sort(col.begin(), col.end());
    r.lo.push_back(quantile_sorted(col, q));
    r.hi.push_back(quantile_sorted(col, 1 - q));
  }
  return r;
}

// Reads the five vectors Scaler::save writes.
std::vector<std::vector<double>> scaler_vectors(const Scaler& s) {
  std::ostringstream out;
  s.save(out);
  std::istringstream in(out.str());
  std::vector<std::vector<double>> v;
  for (std::string line; std::getline(in, line);) {  // "tag v1 v2 ..." per vector
    std::istringstream fields(line);
    std::string tag, text;
    fields >> tag;
    std::vector<double> values;
    while (fields >> text) values.push_back(std::stod(text));
    v.push_back(values);
  }
  return v;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Scaler: median and clip quantiles by selection equal those of sorted columns") {
    for (size_t n : {1, 2, 3, 4, 5, 101, 1000}) {
      for (double q : {0.01, 0.25, 0.49}) {
        CAPTURE(n);
        CAPTURE(q);
        const Matrix x = awkward_matrix(n, 4, 17 + n);
        Scaler s;
        s.fit(x, q, Scaling::standard);
        const auto got = scaler_vectors(s);
        REQUIRE(got.size() == 5);
        const Reference want = reference_scaler(x, q);
        for (size_t j = 0; j < x.cols; ++j) {
          CAPTURE(j);
          CHECK(same_bits(got[0][j], want.impute[j]));
          CHECK(same_bits(got[1][j], want.lo[j]));
          CHECK(same_bits(got[2][j], want.hi[j]));
        }
        // The constant column scales to 0, and transform() keeps the shape.
        const Matrix t = s.transform(x);
        REQUIRE(t.rows == n);
        for (size_t i = 0; i < n; ++i) CHECK(t(i, 0) == 0.0);
      }
    }
  }

  TEST_CASE("Matrix: column_major transposes") {
    Matrix x(3, 2);
    double v = 0;
    for (size_t i = 0; i < 3; ++i)
      for (size_t j = 0; j < 2; ++j) x(i, j) = v++;
    CHECK(x.column_major() == std::vector<double>{0, 2, 4, 1, 3, 5});
    const Matrix big = awkward_matrix(37, 5, 3);  // rows not a multiple of the block
    const std::vector<double> t = big.column_major();
    for (size_t i = 0; i < big.rows; ++i)
      for (size_t j = 0; j < big.cols; ++j) CHECK(same_bits(t[j * big.rows + i], big(i, j)));
  }

  TEST_CASE("Binner: codes are 1 + lower_bound over the cuts, 0 for NaN") {
    for (size_t n : {1, 3, 4, 7, 250}) {
      for (int bins : {2, 5, 32, 255}) {
        CAPTURE(n);
        CAPTURE(bins);
        const Matrix x = awkward_matrix(n, 4, 99 + n);
        Binner b;
        b.fit(x, bins);
        const std::vector<uint8_t> codes = b.codes(x);
        REQUIRE(codes.size() == n * x.cols);
        for (size_t j = 0; j < x.cols; ++j) {
          const auto& cuts = b.cuts(j);
          CHECK(cuts.size() <= static_cast<size_t>(bins - 1));
          CHECK(std::is_sorted(cuts.begin(), cuts.end()));
          for (size_t i = 0; i < n; ++i) {
            const double v = x(i, j);
            const int want =
                std::isnan(v) ? 0
                              : 1 + static_cast<int>(std::lower_bound(cuts.begin(), cuts.end(), v) -
                                                     cuts.begin());
            CHECK(codes[j * n + i] == want);
          }
        }
      }
    }
    // A column of one value has no cut (its +-Inf rows make column 0 above non-constant).
    Matrix c(6, 1, 2.5);
    Binner b;
    b.fit(c, 32);
    CHECK(b.cuts(0).empty());
    CHECK(b.codes(c) == std::vector<uint8_t>(6, 1));
  }

  TEST_CASE("binned_matrix: one transposed copy gives the cuts and codes of fit and codes") {
    const Matrix x = awkward_matrix(61, 5, 17);
    Binner b;
    b.fit(x, 16);
    const auto shared = binned_matrix(x, 16);
    CHECK(shared->codes == b.codes(x));
    for (size_t j = 0; j < x.cols; ++j) CHECK(shared->binner.cuts(j) == b.cuts(j));
    // A column-major copy whose size does not match rows x cols is refused.
    Binner bad;
    CHECK_THROWS_WITH_AS(bad.fit_columns(std::vector<double>(10), 3, 4, 16),
                         doctest::Contains("10 values for 3 x 4"), std::exception);
    CHECK_THROWS_AS(b.codes_columns(x.column_major(), x.rows, x.cols - 1), std::exception);
  }

  TEST_CASE("FitScope: shares products of its matrix only, and restores the outer scope") {
    const Matrix a = awkward_matrix(50, 3, 1), b = awkward_matrix(50, 3, 2);
    int made = 0;
    auto make = [&] {
      ++made;
      return 42;
    };
    // No scope: computed every time.
    FitScope::memo<int>(a, "k", make);
    FitScope::memo<int>(a, "k", make);
    CHECK(made == 2);
    {
      FitScope scope(a);
      const auto p1 = FitScope::memo<int>(a, "k", make);
      const auto p2 = FitScope::memo<int>(a, "k", make);
      CHECK(made == 3);
      CHECK(p1.get() == p2.get());
      FitScope::memo<int>(a, "other key", make);
      CHECK(made == 4);
      FitScope::memo<int>(b, "k", make);  // another matrix: not memoised
      FitScope::memo<int>(b, "k", make);
      CHECK(made == 6);
      {
        FitScope inner(b);
        FitScope::memo<int>(b, "k", make);
        FitScope::memo<int>(b, "k", make);
        CHECK(made == 7);
        FitScope::memo<int>(a, "k", make);  // the outer matrix is not the current one
        CHECK(made == 8);
      }
      FitScope::memo<int>(a, "k", make);  // the outer scope is back, with its memo
      CHECK(made == 8);
    }
    FitScope::memo<int>(a, "k", make);
    CHECK(made == 9);
    // The scaled matrix of a scope is the one the Scaler gives on its own.
    FitScope scope(a);
    const auto s1 = scaled(a, 0.01, Scaling::standard);
    CHECK(s1.get() == scaled(a, 0.01, Scaling::standard).get());
    CHECK(s1.get() != scaled(a, 0.02, Scaling::standard).get());
    CHECK(s1.get() != scaled(a, 0.01, Scaling::minmax).get());
    Scaler alone;
    alone.fit(a, 0.01, Scaling::standard);
    const Matrix t = alone.transform(a);
    for (size_t i = 0; i < t.data.size(); ++i) CHECK(same_bits(t.data[i], s1->x.data[i]));
  }

  TEST_CASE("FitScope: every learner fits the same model with or without shared preprocessing") {
    Matrix x;
    Labels y;
    blobs(240, 12, 5, x, y);
    Matrix test;
    Labels unused;
    blobs(60, 12, 6, test, unused);
    for (const std::string& name : diagnoser_names()) {
      CAPTURE(name);
      auto alone = make_diagnoser(name);
      if (alone->feature_set() == "deepfd" || alone->feature_set() == "default")
        continue;  // bound baselines read named columns; their learners are covered below
      alone->fit(x, y);
      const Matrix want = alone->predict_proba(test);
      FitScope scope(x);
      // Fit a few others first, so that this one finds the shared products made by them.
      for (const char* other : {"knn", "decision_tree", "mlp"}) make_diagnoser(other)->fit(x, y);
      auto shared = make_diagnoser(name);
      shared->fit(x, y);
      const Matrix got = shared->predict_proba(test);
      REQUIRE(got.data.size() == want.data.size());
      for (size_t i = 0; i < got.data.size(); ++i) CHECK(same_bits(got.data[i], want.data[i]));
    }
  }
}
