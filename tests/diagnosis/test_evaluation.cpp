#include <doctest/doctest.h>

#include <cmath>

#include "db/trace.h"
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

// Groups of the toy data: each program is its own data set; two configurations per program and
// class (seeds split by parity of t / 2); the operator is the class.
TraceGroups toy_groups(const Labels& y, const std::vector<std::string>& programs) {
  TraceGroups g;
  for (size_t i = 0; i < y.size(); ++i) {
    dynfault::db::RunSpec spec;
    spec.program = programs[i];
    spec.fault_ids = y[i] == "a" ? "op_a" : "op_b";
    spec.faults_json = R"([{"mutator":")" + spec.fault_ids + R"(","params":{"v":)" +
                       std::to_string((i / 2) % 2) + "}}]";
    g.add(spec);
  }
  return g;
}

// Balanced accuracy counted from a confusion matrix: the mean over classes with support of
// correct / support (written here, not taken from diagnosis/metrics.h).
double recall_mean(const ConfusionMatrix& c) {
  double sum = 0;
  int classes = 0;
  for (size_t i = 0; i < c.counts.size(); ++i) {
    int64_t row = 0;
    for (int64_t v : c.counts[i]) row += v;
    if (row == 0) continue;
    sum += static_cast<double>(c.counts[i][i]) / static_cast<double>(row);
    ++classes;
  }
  return sum / classes;
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Evaluation: within beats held-out on program-fingerprinted features") {
    Matrix x;
    Labels y;
    std::vector<std::string> groups;
    program_data(x, y, groups);
    const TraceGroups g = toy_groups(y, groups);
    const auto opts = EvaluateOptions().bootstrap(200).seed(1);
    const auto r = evaluate_matrix("logistic_regression", "toy", x, y, g, opts);
    REQUIRE(r.rungs.size() == 2);
    const RungScores &within = r.rungs[0], &heldout = r.rungs[1];
    CHECK(within.rung == "random");
    CHECK(heldout.rung == "program");
    CHECK(within.n == static_cast<int64_t>(y.size()));
    CHECK(heldout.folds == 8);
    CHECK(within.balanced_accuracy.value > 0.9);
    CHECK(heldout.balanced_accuracy.value < within.balanced_accuracy.value - 0.1);
    REQUIRE(r.losses.size() == 1);
    const RungLoss& gap = r.losses[0];
    CHECK(gap.consecutive);
    CHECK(gap.from_first);
    // Independently of the scoring code: each rung's balanced accuracy counted by hand from its
    // pooled confusion matrix (mean per-class recall), and the loss is their difference.
    CHECK(within.balanced_accuracy.value == doctest::Approx(recall_mean(within.confusion)));
    CHECK(heldout.balanced_accuracy.value == doctest::Approx(recall_mean(heldout.confusion)));
    CHECK(gap.balanced_accuracy.value ==
          doctest::Approx(recall_mean(within.confusion) - recall_mean(heldout.confusion)));
    CHECK(gap.from == "random");
    CHECK(gap.to == "program");
    CHECK(gap.verdict == Verdict::positive);
    for (const Interval& v : {within.balanced_accuracy, heldout.balanced_accuracy,
                              gap.balanced_accuracy, gap.macro_f1}) {
      CHECK(v.low <= v.value + 1e-12);
      CHECK(v.value <= v.high + 1e-12);
    }
    CHECK(within.confusion.total() == static_cast<int64_t>(y.size()));
    // Same seed, same numbers, whatever the thread count.
    const auto again = evaluate_matrix("logistic_regression", "toy", x, y, g,
                                       EvaluateOptions().bootstrap(200).seed(1).threads(2));
    CHECK(again.losses[0].balanced_accuracy.low == gap.balanced_accuracy.low);
    CHECK(again.rungs[1].macro_f1.high == heldout.macro_f1.high);
  }

  TEST_CASE("Evaluation: the bootstrap resamples programs, or data sets on request") {
    Matrix x;
    Labels y;
    std::vector<std::string> groups;
    program_data(x, y, groups);
    // Only the weak shared signal: scores that vary from resample to resample.
    for (size_t i = 0; i < x.rows; ++i)
      for (size_t j = 1; j < x.cols; ++j) x(i, j) = 0;
    TraceGroups g = toy_groups(y, groups);
    for (size_t i = 0; i < g.size(); ++i) g.dataset[i] = "ds" + std::to_string(i / 48);  // 4
    const auto o = EvaluateOptions().protocols({"random", "program"}).bootstrap(200).seed(1);
    const auto by_program = evaluate_matrix("logistic_regression", "toy", x, y, g, o);
    const auto by_dataset = evaluate_matrix("logistic_regression", "toy", x, y, g,
                                            EvaluateOptions(o).resample_by("dataset"));
    // Same folds and fits, so the same point estimates; other resamples, so other intervals.
    const RungScores &p = by_program.rungs[0], &d = by_dataset.rungs[0];
    CHECK(d.balanced_accuracy.value == p.balanced_accuracy.value);
    CHECK(d.draws != p.draws);
    // Drawing 4 data sets of 2 programs each varies more than drawing 8 programs.
    auto width = [](const Interval& v) { return v.high - v.low; };
    CHECK(width(p.balanced_accuracy) > 0);
    CHECK(width(d.balanced_accuracy) > width(p.balanced_accuracy));
  }

  TEST_CASE("Evaluation: the ladder scores every rung on shared resamples") {
    Matrix x;
    Labels y;
    std::vector<std::string> groups;
    program_data(x, y, groups);
    const TraceGroups g = toy_groups(y, groups);
    const std::vector<std::string> ladder = {"random", "config",  "value",
                                             "fault",  "program", "dataset"};
    const auto r = evaluate_matrix("logistic_regression", "toy", x, y, g,
                                   EvaluateOptions().protocols(ladder).bootstrap(100).seed(2));
    REQUIRE(r.rungs.size() == 6);
    for (size_t k = 0; k < 6; ++k) {
      CHECK(r.rungs[k].rung == ladder[k]);
      CHECK(r.rungs[k].draws.size() == 100);
    }
    // Holding out an operator holds out its whole class here: never predicted right.
    CHECK(r.rungs[3].balanced_accuracy.value == 0.0);
    // Each program is its own data set: the two rungs split alike.
    CHECK(r.rungs[5].balanced_accuracy.value == r.rungs[4].balanced_accuracy.value);
    // 5 consecutive losses, then random -> value, fault, program, dataset.
    REQUIRE(r.losses.size() == 9);
    CHECK(r.losses[0].from == "random");
    CHECK(r.losses[0].to == "config");
    CHECK(r.losses[4].from == "program");
    CHECK(r.losses[4].to == "dataset");
    CHECK(r.losses[8].from == "random");
    CHECK(r.losses[8].to == "dataset");
    CHECK_FALSE(r.losses[8].consecutive);
    CHECK(r.losses[8].from_first);
    // A loss is the paired difference of the two rungs' resampled scores.
    std::vector<double> diff;
    for (size_t b = 0; b < 100; ++b) diff.push_back(r.rungs[0].draws[b] - r.rungs[4].draws[b]);
    CHECK(r.losses[7].to == "program");
    CHECK(r.losses[7].balanced_accuracy.low == doctest::Approx(percentile(diff, 0.025)));
    CHECK(r.losses[7].balanced_accuracy.high == doctest::Approx(percentile(diff, 0.975)));
  }

  TEST_CASE("Evaluation: a rung with one group is refused") {
    Matrix x;
    Labels y;
    std::vector<std::string> groups;
    program_data(x, y, groups);
    TraceGroups one = toy_groups(y, groups);
    one.program.assign(one.size(), "prog0");
    CHECK_THROWS_WITH_AS(
        evaluate_matrix("logistic_regression", "toy", x, y, one, EvaluateOptions().bootstrap(0)),
        doctest::Contains("needs at least 2 programs"), dynfault::Error);
  }

  TEST_CASE("Evaluation: format_table shows the ladder, losses, recall and dropped inputs") {
    EvaluationReport report;
    report.evaluation_id = "ev-test";
    report.options.protocols({"random", "program"}).bootstrap(100);
    TaskReport ok;
    ok.task = "instability";
    ok.classes = {"diverged", "stable"};
    ok.class_counts = {{"diverged", 10}, {"stable", 12}};
    ok.n_traces = 22;
    ok.n_programs = 3;
    ok.rungs = {RungInfo{"random", "stratified 5-fold over traces", 22, 5},
                RungInfo{"program", "leave one program out (3 folds)", 3, 3}};
    ok.label_inputs = {"outcome"};
    ok.dropped["curves"] = {"outcome_completed", "epochs_run"};
    EvaluationResult r;
    r.diagnoser = "logistic_regression";
    r.feature_set = "curves";
    r.rungs.resize(2);
    r.rungs[0].rung = "random";
    r.rungs[0].balanced_accuracy = Interval{0.8, 0.75, 0.85};
    r.rungs[0].recall = {{"diverged", 0.7}, {"stable", 0.9}};
    r.rungs[1].rung = "program";
    r.rungs[1].balanced_accuracy = Interval{0.61, 0.5, 0.7};
    RungLoss l;
    l.from = "random";
    l.to = "program";
    l.balanced_accuracy = Interval{0.19, 0.1, 0.3};
    l.verdict = Verdict::positive;
    r.losses = {l};
    ok.results.push_back(r);
    report.tasks = {ok};
    const std::string table = format_table(report);
    CHECK(table.find("instability: 2 classes, 22 traces, 3 programs") != std::string::npos);
    CHECK(table.find("logistic_regression  curves") != std::string::npos);
    CHECK(table.find("0.800 [0.750, 0.850]") != std::string::npos);
    CHECK(table.find("random -> program") != std::string::npos);
    CHECK(table.find("0.190 [0.100, 0.300]    loses") != std::string::npos);
    CHECK(table.find("curves (2): outcome_completed, epochs_run") != std::string::npos);
    CHECK(table.find("program  leave one program out (3 folds); 3 programs") != std::string::npos);
    CHECK(table.find("0.700    0.900") != std::string::npos);  // recall per class
  }
}
