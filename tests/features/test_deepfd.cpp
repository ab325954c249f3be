#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "features/deepfd.h"
#include "features/stats.h"
#include "fixtures.h"

using namespace dynfault;
using dynfault::testing::kNaN;
using dynfault::testing::put;

namespace {

size_t col(const std::string& name) {
  const auto& c = features::deepfd_columns();
  const auto it = std::find(c.begin(), c.end(), name);
  REQUIRE(it != c.end());
  return static_cast<size_t>(it - c.begin());
}

std::vector<double> column(const features::CheckTable& t, const std::string& name) {
  std::vector<double> v;
  for (const auto& r : t.rows) v.push_back(r[col(name)]);
  return v;
}

double feature(const std::vector<double>& values, const std::string& name) {
  const auto& n = features::deepfd_feature_names();
  const auto it = std::find(n.begin(), n.end(), name);
  REQUIRE(it != n.end());
  return values[static_cast<size_t>(it - n.begin())];
}

// A run that blew up: NaN loss from epoch 1 on.
db::Trace nan_trace() {
  db::Trace t = testing::base_trace("nan");
  t.outcome = "nan_loss";
  t.recipe_json = R"({"epochs":10})";
  put(t, "epoch/train_loss", {2.3, kNaN, kNaN});
  put(t, "epoch/train_metric", {0.1, kNaN, kNaN});
  put(t, "epoch/val_loss", {2.3, kNaN, kNaN});
  put(t, "epoch/val_metric", {0.1, 0.1, 0.1});
  put(t, "grad/nonfinite", {0, 12, 40});
  put(t, "weight/nonfinite", {0, 0, 7});
  put(t, "weight/max_abs", {0.5, 9.0, kNaN});
  return t;
}

// Finite losses but a NaN accuracy (e.g. R^2 of a constant target).
db::Trace nan_acc_trace() {
  db::Trace t = testing::base_trace("nanacc");
  t.recipe_json = R"({"epochs":3})";
  put(t, "epoch/train_loss", {1.0, 0.9, 0.8});
  put(t, "epoch/train_metric", {0.3, kNaN, 0.4});
  put(t, "epoch/val_loss", {1.0, 0.9, 0.8});
  put(t, "epoch/val_metric", {0.3, 0.3, 0.3});
  return t;
}

// Nothing moves: slow convergence and no convergence.
db::Trace flat_trace() {
  db::Trace t = testing::base_trace("flat");
  t.recipe_json = R"({"epochs":4})";
  put(t, "epoch/train_loss", {1.0, 1.0, 1.0, 1.0});
  put(t, "epoch/train_metric", {0.3, 0.3, 0.3, 0.3});
  put(t, "epoch/val_loss", {1.0, 1.0, 1.0, 1.0});
  put(t, "epoch/val_metric", {0.3, 0.3, 0.3, 0.3});
  return t;
}

}  // namespace

TEST_SUITE("features") {
  TEST_CASE("DeepFD: 21 per-check columns, 172 feature names, no weight_change_little") {
    CHECK(features::deepfd_columns().size() == 21);
    const auto& names = features::deepfd_feature_names();
    CHECK(names.size() == 172);
    CHECK(names.front() == "ft_not_converge_mean");
    CHECK(names[1] == "ft_not_converge_std");
    CHECK(names[7] == "ft_not_converge_min");
    CHECK(names[171] == "ft_accuracy");
    CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
    for (const auto& n : names) CHECK(n.find("weight_change_little") == std::string::npos);
  }

  // Per-check values worked out by hand from DeepFD's Monitor.py rules (planned epochs 5, so
  // trend checks start at the 2nd epoch since 2 >= 0.3 x 5):
  //  e0: no trend checks yet -> all flags 0.
  //  e1: ratio 80 > 70 -> explode 1; weight std 0.5 == 0.5 -> cons_std 1; max val acc
  //      0.55 < 0.6 -> not_converge 1 (sticky).
  //  e2: ratio 5e-4 < 1e-3 and first norm 5e-5 < 1e-4 -> vanish 1; max|w| 6 > 5 -> large 1;
  //      weight mean 0.2 == 0.2 -> cons_mean 1; loss 0.9 > 0.8 -> increase 1; acc 0.58 <
  //      0.62 -> decrease 1.
  //  e3: zero share 0.75 >= 0.7 -> died 1; max|w| 7 -> large 2; gap 0.75-0.60 = 0.15 >= 0.1
  //      -> test_not_well 1; train loss -0.3, val loss +0.05 -> test_turn_bad 1; acc maxima
  //      {0.62}, minima {0.58}: 1 pair >= 0.03, 1 >= 0.2 x 4 -> unstable 1.
  //  e4: zero share 0.8 -> died 2; mean 0.3 == 0.3 -> cons_mean 2; std 0.7 == 0.7 ->
  //      cons_std 2; gap 0.18 -> test_not_well 2; val loss fell -> test_turn_bad 0.
  TEST_CASE("DeepFD: per-check flags of the hand-written 5-epoch trace") {
    const auto t = features::deepfd_checks(testing::five_epoch_trace());
    REQUIRE(t.rows.size() == 5);
    CHECK(t.epochs == std::vector<int64_t>{0, 1, 2, 3, 4});
    using V = std::vector<double>;
    CHECK(column(t, "not_converge") == V{0, 1, 1, 1, 1});
    CHECK(column(t, "unstable_loss") == V{0, 0, 0, 1, 1});
    CHECK(column(t, "nan_loss") == V{0, 0, 0, 0, 0});
    CHECK(column(t, "test_not_well") == V{0, 0, 0, 1, 2});
    CHECK(column(t, "test_turn_bad") == V{0, 0, 0, 1, 0});
    CHECK(column(t, "sc_accuracy") == V{0, 0, 0, 0, 0});
    CHECK(column(t, "died_relu") == V{0, 0, 0, 1, 2});
    CHECK(column(t, "vanish_gradient") == V{0, 0, 1, 1, 1});
    CHECK(column(t, "explode_gradient") == V{0, 1, 1, 1, 1});
    CHECK(column(t, "nan_gradient") == V{0, 0, 0, 0, 0});
    CHECK(column(t, "nan_weight") == V{0, 0, 0, 0, 0});
    CHECK(column(t, "nan_acc") == V{0, 0, 0, 0, 0});
    CHECK(column(t, "large_weight") == V{0, 0, 1, 2, 2});
    CHECK(column(t, "decrease_acc") == V{0, 0, 1, 1, 1});
    CHECK(column(t, "increase_loss") == V{0, 0, 1, 1, 1});
    CHECK(column(t, "cons_mean_weight") == V{0, 0, 1, 1, 2});
    CHECK(column(t, "cons_std_weight") == V{0, 1, 1, 1, 2});
    CHECK(column(t, "loss") == V{1.0, 0.8, 0.9, 0.6, 0.5});
    CHECK(column(t, "val_acc") == V{0.45, 0.55, 0.56, 0.60, 0.62});
  }

  // Statistics of the columns above, by pandas' formulas (see test_stats.cpp):
  //  not_converge {0,1,1,1,1}: mean 0.8, var 0.8/4 = 0.2, sem sqrt(0.2)/sqrt(5) = 0.2,
  //    m3 = -0.512 + 4 x 0.008 = -0.48 -> skew 5 x 2/3 x -0.48 / 0.8^1.5 = -sqrt(5).
  //  loss {1,.8,.9,.6,.5}: mean 0.76, m2 0.172 -> var 0.043, m3 -0.00504 -> skew -0.2355139.
  //  large_weight {0,0,1,2,2}: mean 1, var 1, symmetric -> skew 0.
  TEST_CASE("DeepFD: statistics and last-epoch values of the 5-epoch trace") {
    const auto v = features::deepfd_features(testing::five_epoch_trace());
    REQUIRE(v.size() == 172);
    CHECK(feature(v, "ft_not_converge_mean") == doctest::Approx(0.8));
    CHECK(feature(v, "ft_not_converge_var") == doctest::Approx(0.2));
    CHECK(feature(v, "ft_not_converge_std") == doctest::Approx(0.44721359549995804));
    CHECK(feature(v, "ft_not_converge_sem") == doctest::Approx(0.2));
    CHECK(feature(v, "ft_not_converge_skew") == doctest::Approx(-std::sqrt(5.0)));
    CHECK(feature(v, "ft_not_converge_median") == 1.0);
    CHECK(feature(v, "ft_loss_mean") == doctest::Approx(0.76));
    CHECK(feature(v, "ft_loss_var") == doctest::Approx(0.043));
    CHECK(feature(v, "ft_loss_skew") == doctest::Approx(-0.23551393640880616));
    CHECK(feature(v, "ft_loss_median") == doctest::Approx(0.8));
    CHECK(feature(v, "ft_large_weight_skew") == 0.0);
    CHECK(feature(v, "ft_large_weight_max") == 2.0);
    CHECK(feature(v, "ft_nan_loss_std") == 0.0);
    CHECK(feature(v, "ft_nan_loss_skew") == 0.0);  // constant column: pandas gives 0
    CHECK(feature(v, "ft_val_loss") == doctest::Approx(0.98));
    CHECK(feature(v, "ft_val_accuracy") == doctest::Approx(0.62));
    CHECK(feature(v, "ft_loss") == doctest::Approx(0.5));
    CHECK(feature(v, "ft_accuracy") == doctest::Approx(0.8));
  }

  TEST_CASE("DeepFD: an empty trace gives the full column count, all NaN") {
    const auto v = features::deepfd_features(testing::base_trace("empty"));
    CHECK(v.size() == 172);
    for (double x : v) CHECK(std::isnan(x));
  }

  TEST_CASE("DeepFD: a NaN run counts nan_loss, nan_gradient and nan_weight without crashing") {
    const auto t = features::deepfd_checks(nan_trace());
    REQUIRE(t.rows.size() == 3);
    CHECK(column(t, "nan_loss") == std::vector<double>{0, 1, 2});
    CHECK(column(t, "nan_gradient") == std::vector<double>{0, 1, 1});
    CHECK(column(t, "nan_weight") == std::vector<double>{0, 0, 1});
    CHECK(column(t, "large_weight") == std::vector<double>{0, 1, 1});
    const auto v = features::deepfd_features(nan_trace());
    CHECK(v.size() == 172);
    CHECK(feature(v, "ft_nan_loss_max") == 2.0);
    CHECK(feature(v, "ft_loss_mean") == doctest::Approx(2.3));  // NaN skipped, as pandas
    CHECK(std::isnan(feature(v, "ft_loss_std")));               // one finite value left
    CHECK(std::isnan(feature(v, "ft_loss")));                   // last epoch was NaN
  }

  TEST_CASE("DeepFD: NaN accuracy and a flat run set nan_acc, sc_accuracy, not_converge") {
    const auto a = features::deepfd_checks(nan_acc_trace());
    CHECK(column(a, "nan_acc") == std::vector<double>{0, 1, 2});  // NaN stays in the history
    const auto f = features::deepfd_checks(flat_trace());
    CHECK(column(f, "sc_accuracy") == std::vector<double>{0, 1, 1, 1});
    CHECK(column(f, "not_converge") == std::vector<double>{0, 1, 1, 1});
  }

  // Prior-work defect #2: DeepFD declared a feature it never updated. Every column here must
  // take at least two distinct values over the fixtures.
  TEST_CASE("DeepFD: every declared column varies on some fixture") {
    std::vector<features::CheckTable> tables;
    for (const auto& tr : {testing::five_epoch_trace(), nan_trace(), nan_acc_trace(), flat_trace()})
      tables.push_back(features::deepfd_checks(tr));
    for (const auto& name : features::deepfd_columns()) {
      std::set<double> seen;
      for (const auto& t : tables)
        for (double x : column(t, name))
          if (!std::isnan(x)) seen.insert(x);
      CHECK_MESSAGE(seen.size() >= 2, name);
    }
  }
}
