// The killing test (task "effective"): Student's t, the test itself, the per-run labels and the
// per-operator rates. Reference values: Student-t tail probabilities from standard tables
// (t_{0.975, 10} = 2.228139, t_{0.975, 5} = 2.570582) and R's `2 * pt(-2, 10)` = 0.07338803.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "features/labels.h"
#include "features/stats.h"
#include "tests/features/store_fixtures.h"

using namespace dynfault;
using dynfault::testing::kNaN;
using dynfault::testing::put;

namespace {

const std::string kSourceDir = DYNFAULT_SOURCE_DIR;

features::KillingInput input(const std::string& run, const std::string& config, double metric) {
  features::KillingInput in;
  in.run_uuid = run;
  in.program = "p";
  in.config = config;
  in.clean = config == "[]";
  in.metric = metric;
  in.source = "test";
  return in;
}

}  // namespace

TEST_SUITE("features") {
  TEST_CASE("Student t: two-sided p-values match tables") {
    using features::student_t_two_sided_p;
    CHECK(student_t_two_sided_p(2.0, 10) == doctest::Approx(0.07338803).epsilon(1e-6));
    CHECK(student_t_two_sided_p(-2.0, 10) == doctest::Approx(0.07338803).epsilon(1e-6));
    CHECK(student_t_two_sided_p(2.228139, 10) == doctest::Approx(0.05).epsilon(1e-5));
    CHECK(student_t_two_sided_p(2.570582, 5) == doctest::Approx(0.05).epsilon(1e-5));
    CHECK(student_t_two_sided_p(1.0, 1) == doctest::Approx(0.5));  // Cauchy: 1 - 2 atan(1)/pi
    CHECK(student_t_two_sided_p(0.0, 7) == doctest::Approx(1.0));
    CHECK(student_t_two_sided_p(INFINITY, 3) == 0.0);
    CHECK(std::isnan(student_t_two_sided_p(kNaN, 3)));
    CHECK(std::isnan(student_t_two_sided_p(1.0, 0)));
    // Large df tends to the normal: two-sided p(1.959964) = 0.05.
    CHECK(student_t_two_sided_p(1.959964, 1e6) == doctest::Approx(0.05).epsilon(1e-4));
  }

  TEST_CASE("Student t: the regularised incomplete beta on closed forms") {
    using features::regularized_incomplete_beta;
    CHECK(regularized_incomplete_beta(1, 1, 0.3) == doctest::Approx(0.3));
    CHECK(regularized_incomplete_beta(3, 1, 0.5) == doctest::Approx(0.125));  // x^a
    CHECK(regularized_incomplete_beta(2.5, 2.5, 0.5) == doctest::Approx(0.5));
    CHECK(regularized_incomplete_beta(2, 3, 0.0) == 0.0);
    CHECK(regularized_incomplete_beta(2, 3, 1.0) == 1.0);
    CHECK(std::isnan(regularized_incomplete_beta(2, 3, 1.5)));
  }

  TEST_CASE("Killing test: a clearly worse mutant is effective, a similar one is not") {
    const features::EffectiveThresholds th;
    const std::vector<double> clean = {0.90, 0.91, 0.89, 0.90, 0.92};
    const auto killed = features::killing_test(clean, {0.70, 0.72, 0.69, 0.71, 0.70}, th);
    CHECK(killed.effective);
    CHECK(killed.n_clean == 5);
    CHECK(killed.mean_clean == doctest::Approx(0.904));
    CHECK(killed.mean_mutant == doctest::Approx(0.704));
    CHECK(killed.df == 8);
    CHECK(killed.p < 1e-8);
    CHECK(killed.d > 10);
    // Means 0.904 vs 0.901, pooled SD 0.0096: d = 0.312 -> not effective.
    const auto kept = features::killing_test(clean, {0.905, 0.89, 0.91, 0.90, 0.90}, th);
    CHECK_FALSE(kept.effective);
    CHECK(kept.p > 0.05);
    CHECK(kept.d == doctest::Approx(0.31193).epsilon(1e-3));
    // A better mutant is never effective, however significant (d < 0).
    CHECK_FALSE(features::killing_test(clean, {0.99, 0.99, 0.98, 0.99, 0.99}, th).effective);
    // Zero variance on both sides: different means are decisive, equal means are not.
    CHECK(features::killing_test({0.9, 0.9}, {0.5, 0.5}, th).effective);
    CHECK_FALSE(features::killing_test({0.9, 0.9}, {0.9, 0.9}, th).effective);
    CHECK_THROWS_AS(features::killing_test({0.9}, {0.5, 0.5}, th), dynfault::Error);
  }

  TEST_CASE("Killing test: labels per configuration, diverged runs at chance level") {
    const std::string cfg_a = R"([{"mutator":"lr_scale"}])", cfg_b = R"([{"mutator":"x"}])",
                      cfg_c = R"([{"mutator":"y"}])";
    std::vector<features::KillingInput> runs = {
        input("c1", "[]", 0.90),  input("c2", "[]", 0.91),  input("c3", "[]", 0.89),
        input("a1", cfg_a, 0.10), input("a2", cfg_a, 0.12), input("a3", cfg_a, 0.11),
        input("b1", cfg_b, 0.90), input("b2", cfg_b, 0.91), input("b3", cfg_b, 0.895),
        input("c9", cfg_c, 0.5),  input("n1", cfg_b, kNaN)};
    const auto rows = features::effective_labels(runs, features::EffectiveThresholds());
    std::map<std::string, std::string> label;
    for (const auto& r : rows) label[r.run_uuid] = r.label;
    CHECK(rows.size() == runs.size());
    CHECK(label["c1"] == "");  // clean runs are not mutants
    CHECK(label["a1"] == "effective");
    CHECK(label["a3"] == "effective");
    CHECK(label["b2"] == "not_effective");
    CHECK(label["c9"] == "");  // one repetition: no variance
    CHECK(label["n1"] == "");  // no metric
    const auto d = nlohmann::json::parse(std::find_if(rows.begin(), rows.end(), [](const auto& r) {
                                           return r.run_uuid == "a2";
                                         })->details);
    CHECK(d["n_mutant"] == 3);
    CHECK(d["n_clean"] == 3);
    CHECK(d["mean_clean"].get<double>() == doctest::Approx(0.90));
    CHECK(d["mean_mutant"].get<double>() == doctest::Approx(0.11));
    CHECK(d["p"].get<double>() < 0.05);
    CHECK(d["d"].get<double>() >= 0.5);
  }

  TEST_CASE("Killing test: the metric of a run and its chance level") {
    db::Trace t = testing::base_trace("r");
    t.recipe_json = R"({"layers":[{"type":"linear","out":16},{"type":"relu"},)"
                    R"({"type":"linear","out":4}]})";
    CHECK(features::chance_level(t) == doctest::Approx(0.25));
    put(t, "epoch/val_metric", {0.5, 0.6});
    CHECK(features::killing_input(t).metric == doctest::Approx(0.6));
    put(t, "final/test_metric", {0.7});
    CHECK(features::killing_input(t).metric == doctest::Approx(0.7));
    CHECK(features::killing_input(t).source == "final/test_metric");
    t.outcome = "nan_loss";
    CHECK(features::killing_input(t).metric == doctest::Approx(0.25));
    t.outcome = "timeout";
    CHECK(std::isnan(features::killing_input(t).metric));
    t.task = "regression";
    CHECK(features::chance_level(t) == 0.0);
    t.task = "binary";
    CHECK(features::chance_level(t) == 0.5);
    // Key order of faults_json does not split a configuration.
    db::Trace a = testing::base_trace("a"), b = testing::base_trace("b");
    a.faults_json = R"([{"mutator":"m","params":{"f":2}}])";
    b.faults_json = R"([{"params":{"f":2},"mutator":"m"}])";
    a.fault_ids = b.fault_ids = "m";
    CHECK(features::killing_input(a).config == features::killing_input(b).config);
  }

  TEST_CASE("Killing test: derive_labels writes task effective; rates per operator") {
    db::Store store = db::Store::memory();
    auto add = [&](const std::string& name, const std::string& mutator, double metric) {
      db::Trace t = testing::base_trace(name);
      if (!mutator.empty()) {
        t.fault_ids = mutator;
        t.faults_json = R"([{"mutator":")" + mutator + R"(","category":"learning_rate"}])";
      }
      put(t, "epoch/val_metric", {metric});
      testing::store_trace(store, t, "c");
    };
    for (int i = 0; i < 4; ++i) {
      add("clean" + std::to_string(i), "", 0.90 + 0.01 * (i % 2));
      add("big" + std::to_string(i), "lr_big", 0.30 + 0.01 * (i % 2));
      add("small" + std::to_string(i), "lr_small", 0.90 + 0.01 * ((i + 1) % 2));
    }
    const auto counts =
        features::derive_labels(store, features::LabelOptions()
                                           .taxonomies_path(kSourceDir + "/configs/taxonomies.yaml")
                                           .thresholds_path(kSourceDir + "/configs/thresholds.yaml")
                                           .tasks({"effective"}));
    CHECK(counts.by_task.at("effective").at("effective") == 4);
    CHECK(counts.by_task.at("effective").at("not_effective") == 4);
    CHECK(counts.by_task.at("effective").at("") == 4);
    CHECK(store.labels("effective").size() == 12);
    const auto rates = features::effectiveness_by_operator(store);
    REQUIRE(rates.size() == 2);
    CHECK(rates[0].mutator == "lr_big");
    CHECK(rates[0].mutants == 1);
    CHECK(rates[0].effective == 1);
    CHECK(rates[0].rate == 1.0);
    CHECK(rates[1].mutator == "lr_small");
    CHECK(rates[1].rate == 0.0);
    CHECK(features::effectiveness_by_operator(store, "other").empty());
  }

  TEST_CASE("Killing test: thresholds come from configs/thresholds.yaml, strictly") {
    const auto th = features::load_thresholds(kSourceDir + "/configs/thresholds.yaml");
    CHECK(th.effective.alpha == 0.05);
    CHECK(th.effective.effect_size == 0.5);
    CHECK_THROWS_AS(features::parse_thresholds("effective: {alpha: 2}", "t.yaml"),
                    dynfault::ConfigError);
    CHECK_THROWS_AS(features::parse_thresholds("effective: {beta: 1}", "t.yaml"),
                    dynfault::ConfigError);
  }
}
