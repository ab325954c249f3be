#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "diagnosis/evaluation.h"
#include "diagnosis/splits.h"

using namespace dynfault::diagnosis;

namespace {

std::vector<std::string> make_groups(const std::vector<size_t>& sizes) {
  std::vector<std::string> g;
  for (size_t p = 0; p < sizes.size(); ++p)
    for (size_t i = 0; i < sizes[p]; ++i) g.push_back("prog" + std::to_string(p));
  return g;
}

void check_partition(const std::vector<Fold>& folds, size_t n) {
  const auto fold_of = test_fold_of(folds, n);  // throws if a sample is tested twice
  for (auto f : fold_of) CHECK(f >= 0);
  for (const auto& f : folds) CHECK(f.train.size() + f.test.size() == n);
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Splits: stratified k-fold keeps class proportions in every fold") {
    std::vector<std::string> y;
    for (int i = 0; i < 60; ++i) y.push_back("a");
    for (int i = 0; i < 30; ++i) y.push_back("b");
    for (int i = 0; i < 10; ++i) y.push_back("c");
    const auto folds = stratified_kfold(y, 5, 7);
    REQUIRE(folds.size() == 5);
    check_partition(folds, y.size());
    for (const auto& f : folds) {
      std::map<std::string, int> count;
      for (size_t i : f.test) ++count[y[i]];
      CHECK(count["a"] == 12);
      CHECK(count["b"] == 6);
      CHECK(count["c"] == 2);
    }
  }

  TEST_CASE("Splits: stratified k-fold is deterministic given the seed") {
    std::vector<std::string> y;
    for (int i = 0; i < 37; ++i) y.push_back(i % 3 == 0 ? "x" : "y");
    const auto a = stratified_kfold(y, 5, 1), b = stratified_kfold(y, 5, 1),
               c = stratified_kfold(y, 5, 2);
    CHECK(a[0].test == b[0].test);
    CHECK(a[3].train == b[3].train);
    bool differs = false;
    for (size_t f = 0; f < a.size(); ++f) differs = differs || a[f].test != c[f].test;
    CHECK(differs);
    check_partition(a, y.size());
    for (const auto& f : a) CHECK((f.test.size() == 7 || f.test.size() == 8));
  }

  TEST_CASE("Splits: leave-one-program-out never shares a program") {
    const auto groups = make_groups({5, 3, 8, 1, 4});
    const auto folds = leave_one_group_out(groups);
    REQUIRE(folds.size() == 5);
    check_partition(folds, groups.size());
    CHECK(groups_disjoint(folds, groups));
    for (const auto& f : folds) {
      std::set<std::string> test_groups;
      for (size_t i : f.test) test_groups.insert(groups[i]);
      CHECK(test_groups.size() == 1);
    }
    // The within protocol, by contrast, puts programs on both sides.
    CHECK_FALSE(groups_disjoint(stratified_kfold(std::vector<std::string>(21, "a"), 5, 0), groups));
  }

  TEST_CASE("Splits: group k-fold is disjoint, balanced by size and clamps k") {
    const auto groups = make_groups({10, 9, 8, 3, 2, 1, 1});
    const auto folds = group_kfold(groups, 3, 11);
    REQUIRE(folds.size() == 3);
    check_partition(folds, groups.size());
    CHECK(groups_disjoint(folds, groups));
    for (const auto& f : folds) CHECK((f.test.size() >= 10 && f.test.size() <= 12));
    CHECK(group_kfold(make_groups({2, 2}), 5, 0).size() == 2);
    CHECK(make_splits(SplitKind::by_program, {}, groups, 0, 0).size() == 7);
    CHECK_THROWS_AS(leave_one_group_out(make_groups({4})), dynfault::Error);
  }

  TEST_CASE("Splits: the bootstrap resamples whole programs, never single traces") {
    const std::vector<size_t> sizes = {5, 3, 8, 1, 4, 6};
    const auto groups = make_groups(sizes);
    std::map<std::string, size_t> size_of;
    for (const auto& g : groups) ++size_of[g];
    bool saw_repeat = false;
    for (int64_t b = 0; b < 50; ++b) {
      const auto idx = bootstrap_indices(groups, 3, b);
      std::map<std::string, size_t> count;
      for (size_t i : idx) ++count[groups[i]];
      size_t draws = 0;
      for (const auto& [g, c] : count) {
        CHECK(c % size_of[g] == 0);  // whole programs, possibly drawn several times
        draws += c / size_of[g];
        saw_repeat = saw_repeat || c / size_of[g] > 1;
      }
      CHECK(draws == sizes.size());                   // as many program draws as programs
      CHECK(idx == bootstrap_indices(groups, 3, b));  // pure function of (groups, seed, b)
    }
    CHECK(saw_repeat);
  }

  TEST_CASE("Splits: percentile interpolates like numpy and skips NaN") {
    CHECK(percentile({1, 2, 3, 4}, 0.5) == doctest::Approx(2.5));
    CHECK(percentile({1, 2, 3, 4, 5}, 0.025) == doctest::Approx(1.1));
    CHECK(percentile({std::nan(""), 2.0}, 0.5) == 2.0);
  }
}
