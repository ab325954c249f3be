// evaluate() end to end on an in-memory store: labels and features derived from synthetic
// traces of several programs.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "diagnosis/evaluation.h"
#include "features/feature_set.h"
#include "features/labels.h"
#include "tests/diagnosis/corpus_fixture.h"

using namespace dynfault;

using dynfault::testing::corpus;

namespace {

diagnosis::EvaluateOptions with_configs(diagnosis::EvaluateOptions o) {
  return o.taxonomies_path(testing::kSourceDir + "/configs/taxonomies.yaml")
      .thresholds_path(testing::kSourceDir + "/configs/thresholds.yaml");
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Evaluate: stores splits per rung, rung and loss rows, and reports both protocols") {
    db::Store store = corpus(/*programs=*/5, /*per=*/12);
    const auto report =
        diagnosis::evaluate(store, with_configs(diagnosis::EvaluateOptions()
                                                    .tasks({"fault_type/default4"})
                                                    .feature_sets({"curves", "deepfd+curves"})
                                                    .bootstrap(100)
                                                    .seed(3)
                                                    .paired(false)
                                                    .program_structure(false)));
    REQUIRE(report.tasks.size() == 1);
    const auto& ft = report.tasks[0];
    CHECK(ft.n_traces == 60);
    CHECK(ft.n_programs == 5);
    CHECK(ft.classes == std::vector<std::string>{"learning_rate", "loss"});
    REQUIRE(ft.results.size() == 3);
    CHECK(ft.results[1].feature_set == "deepfd+curves");
    CHECK(ft.results[1].n_features == 197);  // fault typing: no column restates its rule
    CHECK(ft.dropped.empty());
    REQUIRE(ft.results[0].rungs.size() == 2);
    CHECK(ft.results[0].rungs[0].rung == "random");
    CHECK(ft.results[0].rungs[0].balanced_accuracy.value > 0.5);
    REQUIRE(ft.results[0].losses.size() == 1);
    const auto& loss = ft.results[0].losses[0];
    // Independently of the scoring code: balanced accuracy counted by hand from each rung's
    // stored confusion matrix, and the stored loss row is their difference.
    const auto ba_of = [&](const std::string& protocol) {
      for (const auto& row : store.evaluation(report.evaluation_id))
        if (row.protocol == protocol && row.diagnoser == ft.results[0].diagnoser &&
            row.feature_set == "curves" && row.metric == "balanced_accuracy") {
          const auto counts = nlohmann::json::parse(row.details).at("confusion");
          double sum = 0;
          int classes = 0;
          for (size_t i = 0; i < counts.size(); ++i) {
            double total = 0;
            for (const auto& v : counts[i]) total += v.get<double>();
            if (total == 0) continue;
            sum += counts[i][i].get<double>() / total;
            ++classes;
          }
          return sum / classes;
        }
      FAIL("no balanced_accuracy row for ", protocol);
      return 0.0;
    };
    CHECK(loss.balanced_accuracy.value == doctest::Approx(ba_of("random") - ba_of("program")));
    double stored_loss = NAN;
    for (const auto& row : store.evaluation(report.evaluation_id))
      if (row.protocol == "loss/random/program" && row.feature_set == "curves" &&
          row.metric == "balanced_accuracy")
        stored_loss = row.value;
    CHECK(stored_loss == doctest::Approx(ba_of("random") - ba_of("program")));
    // The label rule re-applied to the stored traces gives the stored labels: the ceiling.
    CHECK(ft.results[2].diagnoser == "label_rule");
    CHECK(ft.results[2].rungs[1].balanced_accuracy.value == 1.0);
    CHECK(ft.results[2].rungs[1].balanced_accuracy.low == 1.0);

    // Program splits never put a program on both sides: each program has a single fold.
    const auto held = store.splits(report.evaluation_id, "fault_type/default4", "program");
    REQUIRE(held.size() == 60);
    std::map<std::string, std::set<int64_t>> folds_of_program;
    for (const auto& s : held) folds_of_program[store.run(s.run_uuid)->spec.program].insert(s.fold);
    CHECK(folds_of_program.size() == 5);
    std::set<int64_t> all;
    for (const auto& [p, f] : folds_of_program) {
      CHECK(f.size() == 1);
      all.insert(*f.begin());
    }
    CHECK(all.size() == 5);
    CHECK(store.splits(report.evaluation_id, "fault_type/default4", "random").size() == 60);

    const auto rows = store.evaluation(report.evaluation_id);
    std::set<std::string> protocols;
    for (const auto& r : rows) {
      protocols.insert(r.protocol);
      CHECK(r.task == "fault_type/default4");
    }
    CHECK(protocols == std::set<std::string>{"loss/random/program", "program", "random"});
    const std::string table = diagnosis::format_table(report);
    CHECK(table.find("fault_type/default4: 2 classes, 60 traces, 5 programs") != std::string::npos);
    CHECK(table.find("random -> program") != std::string::npos);
    CHECK(table.find("recall per class") != std::string::npos);
  }

  TEST_CASE("Evaluate: bad input is an error naming it, and nothing is stored") {
    db::Store store = corpus(/*programs=*/5, /*per=*/6);
    auto o = with_configs(diagnosis::EvaluateOptions().feature_sets({"curves"}).bootstrap(10));
    auto fails = [&](const diagnosis::EvaluateOptions& bad, const std::string& says) {
      CAPTURE(says);
      CHECK_THROWS_WITH_AS(diagnosis::evaluate(store, bad), doctest::Contains(says.c_str()),
                           dynfault::Error);
    };
    fails(diagnosis::EvaluateOptions(o).protocols({"random", "unseen"}),
          "unknown protocol 'unseen'");
    fails(diagnosis::EvaluateOptions(o).protocols({}), "no protocol");
    fails(diagnosis::EvaluateOptions(o).margin(0), "margin must be in (0, 1)");
    fails(diagnosis::EvaluateOptions(o).margin(1.5), "margin must be in (0, 1)");
    fails(diagnosis::EvaluateOptions(o).learner_seeds(0), "learner_seeds");
    fails(diagnosis::EvaluateOptions(o).max_bins(256), "max_bins");
    fails(diagnosis::EvaluateOptions(o).resample_by("operator"), "resample_by");
    // Every trace is detection "faulty": a task without two classes.
    fails(diagnosis::EvaluateOptions(o).tasks({"fault_type/default4", "detection"}),
          "task 'detection' needs at least 2 classes, found 1 (faulty)");
    fails(diagnosis::EvaluateOptions(o).tasks({"no_such_task"}), "no labels stored");
    // The corpus has no data set in its recipes: every program is its own data set, so the
    // dataset rung works; one data set for all would not.
    fails(diagnosis::EvaluateOptions(o).diagnosers({"svm"}), "unknown diagnoser 'svm'");
    fails(diagnosis::EvaluateOptions(o).feature_sets({"activation"}), "'activation'");
    CHECK(store.evaluation("").empty());
    db::Store one = corpus(/*programs=*/1, /*per=*/10);
    CHECK_THROWS_WITH_AS(diagnosis::evaluate(one, o),
                         doctest::Contains("protocol 'program': needs at least 2 programs"),
                         dynfault::Error);
    CHECK(one.evaluation("").empty());
  }
}
