#include <doctest/doctest.h>

#include <cmath>

#include "diagnosis/evaluation.h"

using namespace dynfault::diagnosis;

namespace {

// 8 programs x 24 traces, 2 classes. Column 0 carries a weak class signal shared by all
// programs; columns 1-8 are a one-hot program fingerprint whose class meaning differs per
// program (in program p, class "b" traces get +1 on column 1 + p). A within-program split can
// learn the fingerprint; a held-out program cannot, so held-out scores lower: the paper's gap.
void program_data(Matrix& x, Labels& y, std::vector<std::string>& groups) {
  SplitMix64 rng(9);
  const size_t programs = 8, per = 24;
  x = Matrix(programs * per, 9);
  for (size_t p = 0; p < programs; ++p)
    for (size_t t = 0; t < per; ++t) {
      const size_t i = p * per + t;
      const bool b = t % 2 == 1;
      y.push_back(b ? "b" : "a");
      groups.push_back("prog" + std::to_string(p));
      const double noise = static_cast<double>(rng.below(1000)) / 1000.0 - 0.5;
      x(i, 0) = (b ? 0.3 : -0.3) + 2.0 * noise;
      x(i, 1 + p) = b ? 1.0 + 0.1 * noise : 0.0;
    }
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Evaluation: within beats held-out on program-fingerprinted features") {
    Matrix x;
    Labels y;
    std::vector<std::string> groups;
    program_data(x, y, groups);
    const auto opts = EvaluateOptions().bootstrap(200).seed(1);
    const auto within = stratified_kfold(y, 5, 1);
    const auto heldout = leave_one_group_out(groups);
    const auto r =
        evaluate_matrix("logistic_regression", "toy", x, y, groups, within, heldout, opts);
    CHECK(r.within.n == static_cast<int64_t>(y.size()));
    CHECK(r.heldout.folds == 8);
    CHECK(r.within.balanced_accuracy.value > 0.9);
    CHECK(r.heldout.balanced_accuracy.value < r.within.balanced_accuracy.value - 0.1);
    CHECK(r.gap_balanced_accuracy.value ==
          doctest::Approx(r.within.balanced_accuracy.value - r.heldout.balanced_accuracy.value));
    for (const Interval& v : {r.within.balanced_accuracy, r.heldout.balanced_accuracy,
                              r.gap_balanced_accuracy, r.gap_macro_f1}) {
      CHECK(v.low <= v.value + 1e-12);
      CHECK(v.value <= v.high + 1e-12);
    }
    CHECK(r.within.confusion.total() == static_cast<int64_t>(y.size()));
    // Same seed, same numbers, whatever the thread count.
    const auto again = evaluate_matrix("logistic_regression", "toy", x, y, groups, within, heldout,
                                       EvaluateOptions().bootstrap(200).seed(1).threads(2));
    CHECK(again.gap_balanced_accuracy.low == r.gap_balanced_accuracy.low);
    CHECK(again.heldout.macro_f1.high == r.heldout.macro_f1.high);
  }

  TEST_CASE("Evaluation: held-out folds that share a program are refused") {
    Matrix x;
    Labels y;
    std::vector<std::string> groups;
    program_data(x, y, groups);
    const auto within = stratified_kfold(y, 5, 1);
    CHECK_THROWS_AS(evaluate_matrix("logistic_regression", "toy", x, y, groups, within, within,
                                    EvaluateOptions().bootstrap(0)),
                    dynfault::Error);
  }

  TEST_CASE("Evaluation: format_table shows results and skipped tasks") {
    EvaluationReport report;
    report.evaluation_id = "ev-test";
    TaskReport ok;
    ok.task = "fault_type/default4";
    ok.classes = {"loss", "optimizer"};
    ok.class_counts = {{"loss", 10}, {"optimizer", 12}};
    ok.n_traces = 22;
    ok.n_programs = 3;
    EvaluationResult r;
    r.diagnoser = "logistic_regression";
    r.feature_set = "deepfd";
    r.within.balanced_accuracy = Interval{0.8, 0.75, 0.85};
    r.heldout.balanced_accuracy = Interval{0.61, 0.5, 0.7};
    r.gap_balanced_accuracy = Interval{0.19, 0.1, 0.3};
    ok.results.push_back(r);
    TaskReport skipped;
    skipped.task = "instability";
    skipped.message = "needs at least 2 classes, found 1 (stable)";
    report.tasks = {ok, skipped};
    const std::string table = format_table(report);
    CHECK(table.find("fault_type/default4: 2 classes, 22 traces, 3 programs") != std::string::npos);
    CHECK(table.find("logistic_regression  deepfd") != std::string::npos);
    CHECK(table.find("0.800 [0.750, 0.850]") != std::string::npos);
    CHECK(table.find("0.190 [0.100, 0.300]") != std::string::npos);
    CHECK(table.find("instability: skipped: needs at least 2 classes") != std::string::npos);
  }
}
