// The killing test (task "effective"): Student's t, the paired test itself, its power, the
// per-run labels and the per-operator rates. Reference values: Student-t tail probabilities from
// standard tables (t_{0.975, 10} = 2.228139, t_{0.975, 5} = 2.570582, t_{0.975, 3} = 3.182446,
// t_{0.975, 9} = 2.262157) and R's `2 * pt(-2, 10)` = 0.07338803; paired-t power from G*Power's
// matched-pairs example (d_z = 0.5, alpha = 0.05: n = 10 -> 0.2931, n = 34 -> 0.8078) and a
// 400,000-draw Monte Carlo of the test (n = 4 -> 0.1121, n = 10 -> 0.2932).
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

features::KillingInput input(const std::string& run, const std::string& config, double metric,
                             int64_t seed) {
  features::KillingInput in;
  in.run_uuid = run;
  in.seed = seed;
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

  TEST_CASE("Student t: critical values, the noncentral t and the paired test's power") {
    using features::noncentral_t_cdf;
    using features::paired_t_power;
    using features::student_t_critical;
    CHECK(student_t_critical(0.05, 3) == doctest::Approx(3.182446).epsilon(1e-6));
    CHECK(student_t_critical(0.05, 9) == doctest::Approx(2.262157).epsilon(1e-6));
    CHECK(std::isnan(student_t_critical(1.5, 9)));
    // Without noncentrality it is Student's t: P(T <= 2) with df 10 = 1 - 0.07338803 / 2.
    CHECK(noncentral_t_cdf(2.0, 10, 0.0) == doctest::Approx(1 - 0.07338803 / 2).epsilon(1e-7));
    CHECK(noncentral_t_cdf(0.0, 1, 0.0) == doctest::Approx(0.5).epsilon(1e-9));
    CHECK(noncentral_t_cdf(1.0, 1, 0.0) == doctest::Approx(0.75).epsilon(1e-8));  // Cauchy
    CHECK(paired_t_power(10, 0.5, 0.05) == doctest::Approx(0.2931).epsilon(2e-3));
    CHECK(paired_t_power(34, 0.5, 0.05) == doctest::Approx(0.8078).epsilon(2e-3));
    CHECK(paired_t_power(4, 0.5, 0.05) == doctest::Approx(0.1121).epsilon(2e-2));
    // No effect: the power is the level.
    CHECK(paired_t_power(8, 0.0, 0.05) == doctest::Approx(0.05).epsilon(1e-6));
    CHECK(std::isnan(paired_t_power(1, 0.5, 0.05)));
  }

  TEST_CASE("Killing test: paired by seed, against a hand-computed example") {
    const features::EffectiveThresholds th;
    // Seeds 1..4: clean 0.90 0.92 0.88 0.91, mutant 0.85 0.88 0.86 0.84. By hand: differences
    // 0.05 0.04 0.02 0.07, mean 0.045, squared deviations 25 + 25 + 625 + 625 (x 1e-6) = 1.3e-3,
    // SD = sqrt(1.3e-3 / 3) = 0.0208167, t = 0.045 / (0.0208167 / 2) = 4.32346 with df = 3;
    // two-sided p = 1 - (2 / pi)(theta + sin(theta) cos(theta)), theta = atan(t / sqrt(3)) (the
    // closed form of Student's t with 3 df) = 0.0228073. Both sides have variance 8.75e-4 / 3,
    // so Cohen's d = 0.045 / 0.0170783 = 2.63493; d_z = 0.045 / 0.0208167 = 2.16173.
    const auto k = features::killing_test({0.90, 0.92, 0.88, 0.91}, {0.85, 0.88, 0.86, 0.84}, th);
    CHECK(k.n_pairs == 4);
    CHECK(k.mean_diff == doctest::Approx(0.045));
    CHECK(k.sd_diff == doctest::Approx(0.0208167).epsilon(1e-5));
    CHECK(k.t == doctest::Approx(4.32346).epsilon(1e-5));
    CHECK(k.df == 3);
    CHECK(k.p == doctest::Approx(0.0228073).epsilon(1e-5));
    CHECK(k.d == doctest::Approx(2.63493).epsilon(1e-5));
    CHECK(k.d_z == doctest::Approx(2.16173).epsilon(1e-5));
    CHECK(k.power == doctest::Approx(features::paired_t_power(4, 0.5, 0.05)));
    CHECK(k.effective);
    // The pairing matters: the same values with the mutant seeds shuffled (0.84 with the 0.90
    // clean run, ...) give differences 0.06 0.07 0.00 0.05 and a larger spread.
    const auto shuffled =
        features::killing_test({0.90, 0.92, 0.88, 0.91}, {0.84, 0.85, 0.88, 0.86}, th);
    CHECK(shuffled.mean_diff == doctest::Approx(0.045));
    CHECK(shuffled.sd_diff > k.sd_diff);
    CHECK(shuffled.p > k.p);
    CHECK(shuffled.d == doctest::Approx(k.d));  // d compares the sides, not the pairs
  }

  TEST_CASE("Killing test: a clearly worse mutant is effective, a similar one is not") {
    const features::EffectiveThresholds th;
    const std::vector<double> clean = {0.90, 0.91, 0.89, 0.90, 0.92};
    const auto killed = features::killing_test(clean, {0.70, 0.72, 0.69, 0.71, 0.70}, th);
    CHECK(killed.effective);
    CHECK(killed.n_pairs == 5);
    CHECK(killed.mean_clean == doctest::Approx(0.904));
    CHECK(killed.mean_mutant == doctest::Approx(0.704));
    CHECK(killed.df == 4);
    CHECK(killed.p < 1e-5);
    CHECK(killed.d > 10);
    // Means 0.904 vs 0.901, pooled SD 0.0096: d = 0.312 -> not effective.
    const auto kept = features::killing_test(clean, {0.905, 0.89, 0.91, 0.90, 0.90}, th);
    CHECK_FALSE(kept.effective);
    CHECK(kept.p > 0.05);
    CHECK(kept.d == doctest::Approx(0.31193).epsilon(1e-3));
    // A better mutant is never effective, however significant (d < 0).
    CHECK_FALSE(features::killing_test(clean, {0.99, 0.99, 0.98, 0.99, 0.99}, th).effective);
    // Zero variance: a constant loss is decisive, no loss is not.
    CHECK(features::killing_test({0.9, 0.9}, {0.5, 0.5}, th).effective);
    CHECK_FALSE(features::killing_test({0.9, 0.9}, {0.9, 0.9}, th).effective);
    // A non-finite pair is dropped; fewer than 2 pairs, or unequal sides, throw.
    CHECK(features::killing_test({0.9, 0.9, kNaN}, {0.5, 0.5, 0.5}, th).n_pairs == 2);
    CHECK_THROWS_AS(features::killing_test({0.9, kNaN}, {0.5, 0.5}, th), dynfault::Error);
    CHECK_THROWS_AS(features::killing_test({0.9}, {0.5, 0.5}, th), dynfault::Error);
  }

  TEST_CASE("Killing test: labels per configuration, paired by seed, diverged runs at chance") {
    const std::string cfg_a = R"([{"mutator":"lr_scale"}])", cfg_b = R"([{"mutator":"x"}])",
                      cfg_c = R"([{"mutator":"y"}])", cfg_d = R"([{"mutator":"z"}])";
    std::vector<features::KillingInput> runs = {
        input("c1", "[]", 0.90, 1), input("c2", "[]", 0.91, 2), input("c3", "[]", 0.89, 3),
        input("a1", cfg_a, 0.10, 1), input("a2", cfg_a, 0.12, 2), input("a3", cfg_a, 0.11, 3),
        input("b1", cfg_b, 0.90, 1), input("b2", cfg_b, 0.91, 2), input("b3", cfg_b, 0.895, 3),
        input("c9", cfg_c, 0.5, 1), input("n1", cfg_b, kNaN, 4),
        // Two mutant runs whose seeds have no clean run: nothing to pair with.
        input("d1", cfg_d, 0.2, 7), input("d2", cfg_d, 0.2, 8)};
    const auto rows = features::effective_labels(runs, features::EffectiveThresholds());
    std::map<std::string, std::string> label;
    for (const auto& r : rows) label[r.run_uuid] = r.label;
    CHECK(rows.size() == runs.size());
    CHECK(label["c1"] == "");  // clean runs are not mutants
    CHECK(label["a1"] == "effective");
    CHECK(label["a3"] == "effective");
    CHECK(label["b2"] == "not_effective");
    CHECK(label["c9"] == "");  // one seed: no variance
    CHECK(label["n1"] == "");  // no metric
    CHECK(label["d1"] == "");  // no clean run of seeds 7 and 8
    auto details = [&](const std::string& run) {
      return nlohmann::json::parse(std::find_if(rows.begin(), rows.end(), [&](const auto& r) {
                                     return r.run_uuid == run;
                                   })->details);
    };
    const auto d = details("a2");
    CHECK(d["n_pairs"] == 3);
    CHECK(d["n_mutant"] == 3);
    CHECK(d["n_clean"] == 3);
    CHECK(d["mean_clean"].get<double>() == doctest::Approx(0.90));
    CHECK(d["mean_mutant"].get<double>() == doctest::Approx(0.11));
    CHECK(d["p"].get<double>() < 0.05);
    CHECK(d["d"].get<double>() >= 0.5);
    CHECK(d["test"].get<std::string>().find("paired t") != std::string::npos);
    CHECK(d["power"].get<double>() == doctest::Approx(features::paired_t_power(3, 0.5, 0.05)));
    CHECK(d["paired"] == true);
    CHECK(details("n1")["paired"] == false);
    CHECK(details("d1")["n_pairs"] == 0);
  }

  TEST_CASE("Killing test: the metric of a run and its chance level") {
    db::Trace t = testing::base_trace("r");
    t.recipe_json = R"({"layers":[{"type":"linear","out":16},{"type":"relu"},)"
                    R"({"type":"linear","out":4}]})";
    CHECK(features::chance_level(t) == doctest::Approx(0.25));
    put(t, "epoch/val_metric", {0.5, 0.6});
    CHECK(features::killing_input(t, 0).metric == doctest::Approx(0.6));
    put(t, "final/test_metric", {0.7});
    CHECK(features::killing_input(t, 0).metric == doctest::Approx(0.7));
    CHECK(features::killing_input(t, 0).source == "final/test_metric");
    t.outcome = "nan_loss";
    CHECK(features::killing_input(t, 0).metric == doctest::Approx(0.25));
    t.outcome = "timeout";
    CHECK(std::isnan(features::killing_input(t, 0).metric));
    t.task = "regression";
    CHECK(features::chance_level(t) == 0.0);
    t.task = "binary";
    CHECK(features::chance_level(t) == 0.5);
    // Key order of faults_json does not split a configuration.
    db::Trace a = testing::base_trace("a"), b = testing::base_trace("b");
    a.faults_json = R"([{"mutator":"m","params":{"f":2}}])";
    b.faults_json = R"([{"params":{"f":2},"mutator":"m"}])";
    a.fault_ids = b.fault_ids = "m";
    CHECK(features::killing_input(a, 0).config == features::killing_input(b, 0).config);
  }

  TEST_CASE("Killing test: derive_labels writes task effective; rates per operator") {
    db::Store store = db::Store::memory();
    auto add = [&](const std::string& name, const std::string& mutator, double metric, int seed) {
      db::Trace t = testing::base_trace(name);
      if (!mutator.empty()) {
        t.fault_ids = mutator;
        t.faults_json = R"([{"mutator":")" + mutator + R"(","category":"learning_rate"}])";
      }
      put(t, "epoch/val_metric", {metric});
      testing::store_trace(store, t, "c", "FINISHED", seed);
    };
    for (int i = 0; i < 4; ++i) {
      add("clean" + std::to_string(i), "", 0.90 + 0.01 * (i % 2), i);
      add("big" + std::to_string(i), "lr_big", 0.30 + 0.01 * (i % 2), i);
      add("small" + std::to_string(i), "lr_small", 0.90 + 0.01 * ((i + 1) % 2), i);
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
