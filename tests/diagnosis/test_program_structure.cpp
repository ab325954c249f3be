// Program-level structure and paired comparisons: eta^2 on hand-made tables, the weighted
// bootstrap against the explicit resample indices, and the new rows of evaluate().
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "diagnosis/evaluation.h"
#include "diagnosis/metrics.h"
#include "tests/diagnosis/corpus_fixture.h"

using namespace dynfault;
using namespace dynfault::diagnosis;

TEST_SUITE("diagnosis") {
  TEST_CASE("Program structure: eta^2 of a one-way layout, worked by hand") {
    // Groups A = {1, 2, 3}, B = {5, 6, 7}: grand mean 4, SS_between = 3*4 + 3*4 = 24,
    // SS_total = 9 + 4 + 1 + 1 + 4 + 9 = 28, eta^2 = 24 / 28.
    const std::vector<std::string> g = {"A", "A", "A", "B", "B", "B"};
    CHECK(eta_squared({1, 2, 3, 5, 6, 7}, g) == doctest::Approx(24.0 / 28.0));
    CHECK(eta_squared({1, 2, 3, 1, 2, 3}, g) == doctest::Approx(0.0));
    CHECK(eta_squared({1, 1, 1, 5, 5, 5}, g) == doctest::Approx(1.0));
    CHECK(std::isnan(eta_squared({4, 4, 4, 4, 4, 4}, g)));  // no variance to explain
    // Non-finite values are left out: A = {1, 3}, B = {5, 7} -> 16 / 20.
    CHECK(eta_squared({1, NAN, 3, 5, INFINITY, 7}, g) == doctest::Approx(16.0 / 20.0));

    Matrix x(6, 3);
    x.names = {"level", "noise", "constant"};
    const double level[] = {1, 2, 3, 5, 6, 7}, noise[] = {1, 2, 3, 1, 2, 3};
    for (size_t i = 0; i < 6; ++i) {
      x(i, 0) = level[i];
      x(i, 1) = noise[i];
      x(i, 2) = 4;
    }
    const VarianceShare v = variance_share("toy", x, g, /*top=*/1);
    CHECK(v.n_defined == 2);
    CHECK(v.mean_eta2 == doctest::Approx((24.0 / 28.0 + 0.0) / 2));
    REQUIRE(v.top.size() == 1);
    CHECK(v.top[0].first == "level");
    CHECK(std::isnan(v.eta2[2].second));
  }

  TEST_CASE("Paired comparison: differences on shared resamples") {
    const std::vector<double> a = {0.8, 0.9, 0.7, 0.6}, b = {0.7, 0.7, 0.75, 0.5};
    const PairedDifference c = paired_difference(0.8, a, 0.7, b, 0.5);
    CHECK(c.difference.value == doctest::Approx(0.1));
    CHECK(c.share_positive == doctest::Approx(0.75));  // 0.1, 0.2, -0.05, 0.1
    // 25th and 75th percentiles of {-0.05, 0.1, 0.1, 0.2}: 0.0625 and 0.125 (numpy linear).
    CHECK(c.difference.low == doctest::Approx(0.0625));
    CHECK(c.difference.high == doctest::Approx(0.125));
    CHECK_THROWS_AS(paired_difference(0.8, a, 0.7, {0.7, 0.7, 0.75}, 0.5), dynfault::Error);
  }

  TEST_CASE("Bootstrap: weighted per-program scoring equals scoring the resampled traces") {
    SplitMix64 rng(4);
    Labels y, pred, other;
    std::vector<std::string> groups;
    const char* cls[] = {"a", "b", "c"};
    for (int i = 0; i < 90; ++i) {
      groups.push_back("p" + std::to_string(i % 7));
      y.push_back(cls[rng.below(3)]);
      pred.push_back(rng.below(2) == 0 ? cls[rng.below(3)] : y.back());
      other.push_back(rng.below(3) == 0 ? cls[rng.below(3)] : y.back());
    }
    const BootstrapPlan plan = make_plan(groups, 3, 50);
    const RungScores r = score_predictions(y, {pred}, plan, 0.95);
    REQUIRE(r.draws.size() == 50);
    std::set<std::string> all(y.begin(), y.end());
    all.insert(pred.begin(), pred.end());
    const std::vector<std::string> classes(all.begin(), all.end());
    for (int64_t b = 0; b < 50; ++b) {
      Labels yt, ph;
      for (size_t i : bootstrap_indices(groups, 3, b)) {
        yt.push_back(y[i]);
        ph.push_back(pred[i]);
      }
      const auto cm = confusion_matrix(yt, ph, classes);
      CHECK(r.draws[static_cast<size_t>(b)] == doctest::Approx(balanced_accuracy(cm)));
      CHECK(r.f1_draws[static_cast<size_t>(b)] == doctest::Approx(macro_f1(cm)));
    }
    CHECK(r.balanced_accuracy.value == doctest::Approx(balanced_accuracy(y, pred)));
    CHECK(r.learner_seeds == 1);
    CHECK(std::isnan(r.learner_sd));
    // Two learner seeds: every score is the mean of the two seeds' scores, on the whole set and
    // on each resample; the SD is that of the two balanced accuracies.
    const RungScores two = score_predictions(y, {pred, other}, plan, 0.95);
    const double ba0 = balanced_accuracy(y, pred), ba1 = balanced_accuracy(y, other);
    CHECK(two.balanced_accuracy.value == doctest::Approx((ba0 + ba1) / 2));
    CHECK(two.learner_sd == doctest::Approx(std::fabs(ba0 - ba1) / std::sqrt(2.0)));
    const RungScores one_other = score_predictions(y, {other}, plan, 0.95);
    for (size_t b = 0; b < 50; ++b)
      CHECK(two.draws[b] == doctest::Approx((r.draws[b] + one_other.draws[b]) / 2));
    CHECK(two.confusion.total() == 2 * static_cast<int64_t>(y.size()));  // summed over seeds
    const auto recall0 = per_class_recall(confusion_matrix(y, pred, classes));
    const auto recall1 = per_class_recall(confusion_matrix(y, other, classes));
    for (const auto& [c, rec] : two.recall)
      CHECK(rec == doctest::Approx((recall0.at(c) + recall1.at(c)) / 2));
  }

  TEST_CASE("Verdicts: an interval against an equivalence margin fixed in advance") {
    const double m = 0.02;
    CHECK(judge(Interval{0.00, -0.01, 0.015}, m) == Verdict::equivalent);
    CHECK(judge(Interval{0.01, 0.005, 0.015}, m) == Verdict::equivalent);  // real but small
    CHECK(judge(Interval{0.05, 0.01, 0.09}, m) == Verdict::positive);
    CHECK(judge(Interval{-0.05, -0.09, -0.01}, m) == Verdict::negative);
    CHECK(judge(Interval{0.01, -0.01, 0.04}, m) == Verdict::inconclusive);
    CHECK(judge(Interval{0.01}, m) == Verdict::none);
    CHECK(comparison_word(Verdict::positive) == "helps");
    CHECK(comparison_word(Verdict::negative) == "hurts");
    CHECK(loss_word(Verdict::positive) == "loses");
    CHECK(loss_word(Verdict::equivalent) == "equivalent");
  }

  TEST_CASE("Evaluate: bound baselines, paired rows, program identity and eta^2 are stored") {
    db::Store store = testing::corpus(/*programs=*/4, /*per=*/10, /*clean=*/2);
    const auto report =
        evaluate(store, EvaluateOptions()
                            .tasks({"fault_type/default4", "detection"})
                            .feature_sets({"curves", "deepfd"})
                            .diagnosers({"logistic_regression", "autotrainer_rules", "deepfd"})
                            .bootstrap(50)
                            .identity_diagnoser("decision_tree")
                            .taxonomies_path(testing::kSourceDir + "/configs/taxonomies.yaml")
                            .thresholds_path(testing::kSourceDir + "/configs/thresholds.yaml")
                            .threads(2));
    REQUIRE(report.tasks.size() == 2);
    const auto& ft = report.tasks[0];
    // logistic_regression on both sets, the two deepfd-bound diagnosers on deepfd only, then the
    // label rule.
    REQUIRE(ft.results.size() == 5);
    CHECK(ft.results[2].diagnoser == "autotrainer_rules");
    CHECK(ft.results[2].feature_set == "deepfd");
    CHECK(ft.results[3].diagnoser == "deepfd");
    CHECK(ft.results[4].diagnoser == "label_rule");
    REQUIRE(ft.paired.size() == 2);  // curves vs deepfd on each of the two rungs
    CHECK(ft.paired[0].set_a == "curves");
    CHECK(ft.paired[0].set_b == "deepfd");
    CHECK(ft.paired[0].rung == "random");
    CHECK(ft.paired[1].rung == "program");
    REQUIRE(report.identity.size() == 2);
    CHECK(report.identity[0].n_programs == 4);
    CHECK(report.identity[0].chance == doctest::Approx(0.25));
    // The corpus shifts every level by program: the curves identify it well above chance.
    CHECK(report.identity[0].balanced_accuracy > 0.5);
    REQUIRE(report.variance.size() == 2);
    CHECK(report.variance[0].mean_eta2 > 0);
    CHECK(report.variance[0].top.size() == 5);

    std::set<std::string> tasks, protocols;
    size_t eta_rows = 0;
    for (const auto& r : store.evaluation(report.evaluation_id)) {
      tasks.insert(r.task);
      protocols.insert(r.protocol);
      if (r.metric.rfind("eta2/", 0) == 0) ++eta_rows;
    }
    CHECK(tasks.count("program_identity") == 1);
    CHECK(tasks.count("program_variance") == 1);
    CHECK(protocols.count("paired/random") == 1);
    CHECK(protocols.count("paired/program") == 1);
    CHECK(eta_rows == 25 + 172);
    const std::string table = format_table(report);
    CHECK(table.find("paired: balanced accuracy of set a - set b") != std::string::npos);
    CHECK(table.find("== program identity") != std::string::npos);
    CHECK(table.find("chance = 1/4") != std::string::npos);
    // A bound diagnoser whose set was never extracted fails before anything is written.
    db::Store bare = testing::corpus(2, 4, 0, {"curves"});
    CHECK_THROWS_WITH_AS(
        evaluate(bare, EvaluateOptions().feature_sets({"curves"}).diagnosers({"default_rf"})),
        doctest::Contains("'default'"), dynfault::Error);
    CHECK(bare.evaluation("").empty());
  }
}
