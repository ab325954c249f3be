#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "features/curves.h"
#include "features/deepfd.h"
#include "features/feature_set.h"
#include "features/label_inputs.h"
#include "features/labels.h"
#include "features/stats.h"
#include "fixtures.h"

using namespace dynfault;
using dynfault::testing::kNaN;

namespace {
double value(const features::FeatureVector& v, const std::string& name) {
  const auto it = std::find(v.names.begin(), v.names.end(), name);
  REQUIRE(it != v.names.end());
  return v.values[static_cast<size_t>(it - v.names.begin())];
}
}  // namespace

TEST_SUITE("features") {
  TEST_CASE("Feature sets: deepfd and curves are registered") {
    const auto names = features::feature_set_names();
    CHECK(std::find(names.begin(), names.end(), "deepfd") != names.end());
    CHECK(std::find(names.begin(), names.end(), "curves") != names.end());
    CHECK(features::feature_set("deepfd").names().size() == 172);
    CHECK(features::feature_set("curves").names().size() == 25);
  }

  TEST_CASE("Feature sets: a union concatenates its parts' columns and values") {
    const auto u = features::feature_set("deepfd+curves");
    CHECK(u.name() == "deepfd+curves");
    REQUIRE(u.names().size() == 172 + 25);
    CHECK(u.names()[0] == "ft_not_converge_mean");
    CHECK(u.names()[172] == "train_loss_final");
    const auto trace = testing::five_epoch_trace();
    const auto v = u.values(trace);
    const auto d = features::deepfd_features(trace);
    const auto c = features::curves_features(trace);
    REQUIRE(v.size() == d.size() + c.size());
    for (size_t i = 0; i < d.size(); ++i)
      CHECK((v[i] == d[i] || (std::isnan(v[i]) && std::isnan(d[i]))));
    for (size_t i = 0; i < c.size(); ++i)
      CHECK((v[d.size() + i] == c[i] || (std::isnan(v[d.size() + i]) && std::isnan(c[i]))));
  }

  TEST_CASE("Feature sets: unknown names and duplicate columns are errors") {
    CHECK_THROWS_WITH_AS(features::feature_set("nope"), doctest::Contains("known: "),
                         dynfault::Error);
    CHECK_THROWS_AS(features::feature_set("deepfd+nope"), dynfault::Error);
    CHECK_THROWS_AS(features::feature_set("curves+curves"), dynfault::Error);
  }

  TEST_CASE("Feature sets: a registered set is usable and its column count is enforced") {
    // Like every set, it reports NaN for what the trace does not hold.
    features::register_feature_set(
        features::FeatureSet("test_two", "two columns", {"a", "b"}, [](const db::Trace& t) {
          return std::vector<double>{t.series.empty() ? kNaN : double(t.series.size()),
                                     t.outcome.empty() ? kNaN : 1.0};
        }));
    const auto two = features::feature_set("test_two").compute(testing::base_trace("x")).values;
    CHECK(std::isnan(two[0]));
    CHECK(two[1] == 1.0);
    CHECK_THROWS_AS(
        features::register_feature_set(features::FeatureSet(
            "test_two", "again", {"a"}, [](const db::Trace&) { return std::vector<double>{1.0}; })),
        dynfault::Error);
    // A set that breaks its column count is caught when it computes (built, not registered:
    // the registry's contract test would rightly reject it).
    const features::FeatureSet broken("test_broken", "wrong count", {"a", "b"},
                                      [](const db::Trace&) { return std::vector<double>{1.0}; });
    CHECK_THROWS_AS(broken.values(testing::base_trace("x")), dynfault::Error);
  }

  // Hand values: train loss {1,.8,.9,.6,.5}; the last third of 5 epochs is max(2, ceil(5/3)) = 2
  // points, (3, .6) and (4, .5): slope -0.1. Drop (1 - .5)/1 = .5. Gap .80 - .62 = .18. Step
  // losses (10): last third = last 4 {.7,.6,.55,.5}: mean .5875, std (ddof 1) .0853913.
  TEST_CASE("Curves: hand values on the 5-epoch trace") {
    const auto v = features::feature_set("curves").compute(testing::five_epoch_trace());
    CHECK(value(v, "train_loss_final") == doctest::Approx(0.5));
    CHECK(value(v, "train_loss_min") == doctest::Approx(0.5));
    CHECK(value(v, "train_loss_max") == doctest::Approx(1.0));
    CHECK(value(v, "train_loss_slope_last_third") == doctest::Approx(-0.1));
    CHECK(value(v, "val_metric_max") == doctest::Approx(0.62));
    CHECK(value(v, "train_loss_drop_norm") == doctest::Approx(0.5));
    CHECK(value(v, "final_metric_gap") == doctest::Approx(0.18));
    CHECK(value(v, "epochs_run") == 5.0);
    CHECK(value(v, "step_loss_nonfinite_share") == 0.0);
    CHECK(value(v, "step_loss_cv_last_third") == doctest::Approx(0.0853913 / 0.5875).epsilon(1e-4));
    CHECK(value(v, "outcome_completed") == 1.0);
    CHECK(value(v, "outcome_other") == 0.0);
  }

  TEST_CASE("Curves: an empty trace keeps every column, NaN where a curve is missing") {
    const auto v = features::feature_set("curves").compute(testing::base_trace("empty"));
    CHECK(v.values.size() == 25);
    CHECK(std::isnan(value(v, "train_loss_final")));
    CHECK(std::isnan(value(v, "val_metric_slope_last_third")));
    CHECK(std::isnan(value(v, "epochs_run")));  // no epoch recorded: unknown, not zero
  }

  TEST_CASE("Curves: a blown-up run keeps NaN finals and finite extremes") {
    auto t = testing::base_trace("nan");
    t.outcome = "nan_loss";
    testing::put(t, "epoch/train_loss", {2.0, 1.5, kNaN});
    testing::put(t, "train/loss", {2.0, 1.0, kNaN, kNaN});
    const auto v = features::feature_set("curves").compute(t);
    CHECK(std::isnan(value(v, "train_loss_final")));
    CHECK(value(v, "train_loss_min") == 1.5);
    CHECK(value(v, "step_loss_nonfinite_share") == 0.5);
    CHECK(value(v, "outcome_nan_loss") == 1.0);
  }

  TEST_CASE("Label inputs: each task declares what its rule reads") {
    using features::task_label_inputs;
    CHECK(features::label_input_names(task_label_inputs("instability")) ==
          std::vector<std::string>{"outcome", "loss_nonfinite", "loss_magnitude", "loss_trend",
                                   "loss_rises", "accuracy_oscillation"});
    CHECK(features::label_input_names(task_label_inputs("mismatch")) ==
          std::vector<std::string>{"final_train_metric", "final_val_metric"});
    CHECK(features::label_input_names(task_label_inputs("effective")) ==
          std::vector<std::string>{"outcome", "final_metric"});
    CHECK(task_label_inputs("detection") == features::kInputInjectedFault);
    CHECK(task_label_inputs("fault_type/default4") == features::kInputInjectedFault);
    CHECK(task_label_inputs("my_own_task") == features::kInputNone);
  }

  TEST_CASE("Label inputs: the sets declare the columns that restate a rule") {
    auto restating = [](const std::string& set, const std::string& task) {
      return features::feature_set(set).restating_columns(features::task_label_inputs(task));
    };
    auto has = [](const std::vector<std::string>& v, const std::string& name) {
      return std::find(v.begin(), v.end(), name) != v.end();
    };
    const auto curves = restating("curves", "instability");
    for (const char* c : {"outcome_completed", "outcome_nan_loss", "outcome_diverged",
                          "outcome_other", "epochs_run", "step_loss_nonfinite_share",
                          "train_loss_final", "train_loss_max", "train_loss_min"})
      CHECK_MESSAGE(has(curves, c), c);
    CHECK_FALSE(has(curves, "train_loss_slope_last_third"));  // describes the run, not the rule
    CHECK_FALSE(has(curves, "final_metric_gap"));
    CHECK(restating("curves", "mismatch") ==
          std::vector<std::string>{"train_metric_final", "val_metric_final", "final_metric_gap"});
    const auto deepfd = restating("deepfd", "instability");
    for (const char* stat : features::kDeepfdStats)
      CHECK(has(deepfd, std::string("ft_unstable_loss_") + stat));
    CHECK(has(deepfd, "ft_increase_loss_max"));
    CHECK(has(deepfd, "ft_loss"));
    CHECK_FALSE(has(deepfd, "ft_loss_mean"));
    CHECK_FALSE(has(deepfd, "ft_died_relu_max"));
    CHECK(has(restating("deepfd", "mismatch"), "ft_test_not_well_max"));
    CHECK(has(restating("default", "instability"), "def_increase_loss"));
    CHECK(restating("default", "mismatch") == std::vector<std::string>{"def_acc_gap_too_big"});
    // Runtime probe sets and the configuration restate no label rule; fault typing reads the
    // injected fault, which no feature holds.
    for (const char* set : {"curvature", "optimizer", "activation", "config"})
      for (const char* task : {"instability", "mismatch", "effective", "fault_type/default4"})
        CHECK(restating(set, task).empty());
    for (const char* set : {"curves", "deepfd", "default"})
      CHECK(restating(set, "fault_type/default4").empty());
    // A union keeps its parts' declarations.
    const auto u = restating("deepfd+curves", "instability");
    CHECK(u.size() == deepfd.size() + curves.size());
    // Declarations must match the columns.
    CHECK_THROWS_AS(features::FeatureSet("bad", "", {"a", "b"},
                                         [](const db::Trace&) { return std::vector<double>{}; },
                                         {features::kInputOutcome}),
                    dynfault::Error);
  }
}

// The feature-set registry's contract: every registered set, built-in or added later.
TEST_SUITE("features") {
  TEST_CASE(
      "Feature set registry: every set keeps its columns, is pure and NaN on an empty trace") {
    db::Trace blown = testing::base_trace("blown");
    blown.outcome = "nan_loss";
    testing::put(blown, "epoch/train_loss", {2.0, 1e6, testing::kNaN});
    testing::put(blown, "train/loss", {2.0, 5.0, 1e6, testing::kInf, testing::kNaN});
    db::Trace empty;  // nothing recorded, nothing known, not even how training ended
    empty.run_uuid = "empty";
    const std::vector<db::Trace> traces = {testing::five_epoch_trace(), blown, empty};
    const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
    for (const auto& name : features::feature_set_names()) {
      CAPTURE(name);
      CHECK(name.find('+') == std::string::npos);
      const auto set = features::feature_set(name);
      CHECK(set.name() == name);
      CHECK(!set.description().empty());
      REQUIRE(!set.names().empty());
      std::vector<std::vector<double>> first;
      for (const auto& t : traces) {
        const auto v = set.compute(t);
        CHECK(v.names == set.names());
        CHECK(v.values.size() == set.names().size());
        first.push_back(v.values);
      }
      // A trace with no series at all has no value to report: every feature is missing, and a
      // `<name>_missing` indicator next to its feature `<name>` says so with 1.
      const auto& names = set.names();
      for (size_t i = 0; i < first.back().size(); ++i) {
        CAPTURE(names[i]);
        const std::string suffix = "_missing";
        const std::string& n = names[i];
        const bool indicator = n.size() > suffix.size() &&
                               n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                               std::find(names.begin(), names.end(),
                                         n.substr(0, n.size() - suffix.size())) != names.end();
        if (indicator)
          CHECK(first.back()[i] == 1.0);
        else
          CHECK(std::isnan(first.back()[i]));
      }
      // No feature reads another run: the same trace gives the same values in any order.
      for (size_t k = traces.size(); k-- > 0;) {
        const auto again = set.values(traces[k]);
        for (size_t i = 0; i < again.size(); ++i) CHECK(same(again[i], first[k][i]));
      }
    }
  }
}
