// Golden values follow pandas' reductions (pandas/core/nanops.py: nanvar/nanstd/nansem with
// ddof=1, nanskew = n sqrt(n-1)/(n-2) m3/m2^1.5 with m2 == 0 -> 0 and n < 3 -> NaN); the
// numbers were computed by hand from those formulas and checked with Python's `statistics`
// module (stdev, variance, median), which uses the same ddof=1 definitions.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "features/stats.h"
#include "fixtures.h"

using dynfault::features::column_stats;
using dynfault::testing::kInf;
using dynfault::testing::kNaN;

TEST_SUITE("features") {
  TEST_CASE("Stats: the 8 DeepFD statistics match pandas on a skewed column") {
    const auto s = column_stats({1, 2, 3, 4, 10});
    CHECK(s.mean == doctest::Approx(4.0));
    CHECK(s.std == doctest::Approx(3.5355339059327378));
    CHECK(s.skew == doctest::Approx(1.697056274847714));  // pd.Series([1,2,3,4,10]).skew()
    CHECK(s.median == doctest::Approx(3.0));
    CHECK(s.var == doctest::Approx(12.5));
    CHECK(s.sem == doctest::Approx(1.5811388300841895));
    CHECK(s.max == 10.0);
    CHECK(s.min == 1.0);
  }

  TEST_CASE("Stats: one sample gives NaN spread and skew, as pandas with ddof=1") {
    const auto s = column_stats({5.0});
    CHECK(s.mean == 5.0);
    CHECK(s.median == 5.0);
    CHECK(s.max == 5.0);
    CHECK(s.min == 5.0);
    CHECK(std::isnan(s.std));
    CHECK(std::isnan(s.var));
    CHECK(std::isnan(s.sem));
    CHECK(std::isnan(s.skew));
  }

  TEST_CASE("Stats: two samples have a std but no skew") {
    const auto s = column_stats({1.0, 3.0});
    CHECK(s.std == doctest::Approx(std::sqrt(2.0)));
    CHECK(s.median == doctest::Approx(2.0));
    CHECK(std::isnan(s.skew));
  }

  TEST_CASE("Stats: a constant column has zero std and zero skew, round-off included") {
    const auto s = column_stats({0.1, 0.1, 0.1});
    CHECK(s.skew == 0.0);  // pandas: m2 below its round-off threshold -> 0
    CHECK(s.std < 1e-15);
    const auto big = column_stats({1e6, 1e6, 1e6, 1e6});
    CHECK(big.skew == 0.0);
    CHECK(big.std == 0.0);
  }

  TEST_CASE("Stats: NaN is skipped, an empty or all-NaN column is all NaN") {
    const auto s = column_stats({1.0, kNaN, 3.0});
    CHECK(s.mean == doctest::Approx(2.0));
    CHECK(s.std == doctest::Approx(std::sqrt(2.0)));
    for (const auto& v : {column_stats({}), column_stats({kNaN, kNaN})})
      for (double x : v.as_array()) CHECK(std::isnan(x));
  }

  TEST_CASE("Stats: infinity is a value, as in pandas") {
    const auto s = column_stats({1.0, kInf, 3.0});
    CHECK(s.mean == kInf);
    CHECK(s.max == kInf);
    CHECK(s.min == 1.0);
    CHECK(s.median == 3.0);
    CHECK(std::isnan(s.std));
  }

  TEST_CASE("Stats: least-squares slope skips non-finite points") {
    using dynfault::features::ls_slope;
    CHECK(ls_slope({0, 1, 2}, {1, 3, 5}) == doctest::Approx(2.0));
    CHECK(ls_slope({0, 1, 2}, {1, kNaN, 5}) == doctest::Approx(2.0));
    CHECK(std::isnan(ls_slope({0}, {1})));
    CHECK(std::isnan(ls_slope({1, 1}, {1, 2})));
  }

  TEST_CASE("Stats: OscillationPairs grows one value at a time and agrees with the batch count") {
    using dynfault::features::oscillation_pairs;
    std::mt19937 rng(15);
    std::uniform_real_distribution<double> step(-0.1, 0.1);
    for (int sequence = 0; sequence < 50; ++sequence) {
      dynfault::features::OscillationPairs pairs(0.03);
      std::vector<double> acc;
      double a = 0.5;
      for (int i = 0; i < 60; ++i) {
        // Flat stretches (both a maximum and a minimum) and NaN gaps included.
        a = i % 9 == 4 ? a : a + step(rng);
        acc.push_back(i % 17 == 16 ? kNaN : a);
        pairs.add(acc.back());
        CAPTURE(sequence);
        CAPTURE(i);
        REQUIRE(pairs.count() == oscillation_pairs(acc, 0.03));
      }
    }
  }
}
