#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/check.h"
#include "db/trace.h"
#include "diagnosis/class_weights.h"
#include "diagnosis/evaluation.h"
#include "tests/diagnosis/corpus_fixture.h"

using namespace dynfault::diagnosis;

namespace {

// 10 programs x 40 traces: 36 of class "a", 4 of class "b" per program. Column 0 separates the
// classes by one standard deviation (b is shifted by +1), so an unweighted linear model sits
// its boundary deep in b's half and misses most b; a balanced one moves it to the middle.
void imbalanced(Matrix& x, Labels& y, TraceGroups& g) {
  SplitMix64 rng(21);
  const size_t programs = 10, per = 40;
  x = Matrix(programs * per, 1);
  for (size_t p = 0; p < programs; ++p)
    for (size_t t = 0; t < per; ++t) {
      const size_t i = p * per + t;
      const bool b = t < 4;
      y.push_back(b ? "b" : "a");
      // A sum of 12 uniforms minus 6: close to a standard normal.
      double z = -6;
      for (int k = 0; k < 12; ++k) z += static_cast<double>(rng.below(1000000)) / 1e6;
      x(i, 0) = (b ? 1.0 : 0.0) + z;
      dynfault::db::RunSpec spec;
      spec.program = "prog" + std::to_string(p);
      spec.fault_ids = b ? "op_b" : "op_a";
      spec.faults_json = R"([{"mutator":")" + spec.fault_ids + R"(","params":{}}])";
      g.add(spec);
    }
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Class weights: balanced repeats each class up to the largest, in order") {
    Matrix x(7, 1);
    for (size_t i = 0; i < 7; ++i) x(i, 0) = static_cast<double>(i);
    x.names = {"v"};
    const Labels y = {"a", "b", "a", "a", "b", "a", "a"};  // 5 a, 2 b
    const WeightedRows none = weighted_rows(x, y, "none");
    CHECK(none.y == y);
    CHECK(none.x.data == x.data);
    const WeightedRows bal = weighted_rows(x, y, "balanced");
    // b: 5 / 2 = 2 each, plus one more for the first of them (5 mod 2 = 1).
    const Labels want_y = {"a", "b", "b", "b", "a", "a", "b", "b", "a", "a"};
    const std::vector<double> want_x = {0, 1, 1, 1, 2, 3, 4, 4, 5, 6};
    CHECK(bal.y == want_y);
    CHECK(bal.x.data == want_x);
    CHECK(bal.x.names == x.names);
    std::map<std::string, int> counts;
    for (const auto& c : bal.y) ++counts[c];
    CHECK(counts["a"] == 5);
    CHECK(counts["b"] == 5);
    CHECK_THROWS_WITH_AS(weighted_rows(x, y, "inverse"), doctest::Contains("'inverse'"),
                         dynfault::Error);
    CHECK(known_class_weight("balanced"));
    CHECK_FALSE(known_class_weight("Balanced"));
  }

  TEST_CASE("Class weights: evaluate weighs the training folds, and checks its options") {
    Matrix x;
    Labels y;
    TraceGroups g;
    imbalanced(x, y, g);
    const auto opts = EvaluateOptions().bootstrap(0).seed(3).protocols({"random", "program"});
    const auto plain = evaluate_matrix("logistic_regression", "toy", x, y, g, opts);
    const auto weighted = evaluate_matrix("logistic_regression", "toy", x, y, g,
                                          EvaluateOptions(opts).class_weight("balanced"));
    for (size_t k = 0; k < 2; ++k) {
      CAPTURE(plain.rungs[k].rung);
      const double b_plain = plain.rungs[k].recall.at("b");
      const double b_weighted = weighted.rungs[k].recall.at("b");
      // Unweighted, b is mostly missed; weighted, most b are found and balanced accuracy rises.
      CHECK(b_plain < 0.3);
      CHECK(b_weighted > 0.5);
      CHECK(weighted.rungs[k].balanced_accuracy.value >
            plain.rungs[k].balanced_accuracy.value + 0.05);
      // The test folds are never weighted: every trace is scored exactly once.
      CHECK(weighted.rungs[k].confusion.total() == static_cast<int64_t>(y.size()));
    }
    CHECK_THROWS_WITH_AS(evaluate_matrix("logistic_regression", "toy", x, y, g,
                                         EvaluateOptions(opts).class_weight("equal")),
                         doctest::Contains("--class-weight"), dynfault::Error);
    CHECK_THROWS_WITH_AS(
        evaluate_matrix("logistic_regression", "toy", x, y, g,
                        EvaluateOptions(opts).tasks({"instability"}).effective_only(true)),
        doctest::Contains("--effective-only"), dynfault::Error);
  }

  TEST_CASE("Class weights: evaluate --effective-only keeps clean runs and effective mutants") {
    dynfault::db::Store store = dynfault::testing::corpus(4, 6, 3);  // 24 faulty, 12 clean
    int64_t effective = 0;
    for (const auto& l : store.labels("effective")) effective += l.label == "effective" ? 1 : 0;
    REQUIRE(effective > 0);
    REQUIRE(effective < 24);
    const auto options =
        EvaluateOptions()
            .tasks({"detection"})
            .feature_sets({"curves"})
            .diagnosers({"logistic_regression"})
            .bootstrap(0)
            .paired(false)
            .program_structure(false)
            .taxonomies_path(dynfault::testing::kSourceDir + "/configs/taxonomies.yaml")
            .thresholds_path(dynfault::testing::kSourceDir + "/configs/thresholds.yaml");
    const auto all = evaluate(store, options);
    const auto eff =
        evaluate(store, EvaluateOptions(options).effective_only(true).class_weight("balanced"));
    REQUIRE(all.tasks.size() == 1);
    REQUIRE(eff.tasks.size() == 1);
    CHECK(all.tasks[0].n_traces == 36);
    CHECK(all.tasks[0].n_ineffective == 0);
    CHECK(eff.tasks[0].n_traces == 12 + effective);
    CHECK(eff.tasks[0].n_ineffective == 24 - effective);
    CHECK(eff.tasks[0].class_counts.at("clean") == 12);
    CHECK(eff.tasks[0].class_counts.at("faulty") == effective);
    // The stored rows record both options.
    bool seen = false;
    for (const auto& row : store.evaluation(eff.evaluation_id))
      if (row.metric == "balanced_accuracy" && row.diagnoser == "logistic_regression") {
        const auto d = nlohmann::json::parse(row.details);
        if (!d.contains("split")) continue;  // a loss row between rungs
        CHECK(d.at("class_weight") == "balanced");
        CHECK(d.at("effective_only") == true);
        CHECK(d.at("n_ineffective") == 24 - effective);
        seen = true;
      }
    CHECK(seen);
  }
}
