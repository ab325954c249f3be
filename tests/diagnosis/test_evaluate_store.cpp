// evaluate() end to end on an in-memory store: labels and features derived from synthetic
// traces of several programs.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "diagnosis/evaluation.h"
#include "features/feature_set.h"
#include "features/labels.h"
#include "tests/diagnosis/corpus_fixture.h"

using namespace dynfault;

using dynfault::testing::corpus;

TEST_SUITE("diagnosis") {
  TEST_CASE("Evaluate: stores splits and within/heldout/gap rows and reports both protocols") {
    db::Store store = corpus(/*programs=*/5, /*per=*/12);
    const auto report = diagnosis::evaluate(store, diagnosis::EvaluateOptions()
                                                       .tasks({"fault_type/default4", "detection"})
                                                       .feature_sets({"curves", "deepfd+curves"})
                                                       .bootstrap(100)
                                                       .seed(3)
                                                       .paired(false)
                                                       .program_structure(false));
    REQUIRE(report.tasks.size() == 2);
    const auto& ft = report.tasks[0];
    CHECK(ft.message.empty());
    CHECK(ft.n_traces == 60);
    CHECK(ft.n_programs == 5);
    CHECK(ft.classes == std::vector<std::string>{"learning_rate", "loss"});
    REQUIRE(ft.results.size() == 2);
    CHECK(ft.results[1].feature_set == "deepfd+curves");
    CHECK(ft.results[1].n_features == 197);
    CHECK(ft.results[0].within.balanced_accuracy.value > 0.5);
    // Every trace is detection "faulty": one class, so a message instead of a crash.
    CHECK(report.tasks[1].message.find("at least 2 classes") != std::string::npos);

    // Held-out splits never put a program on both sides: each program has a single fold.
    const auto held = store.splits(report.evaluation_id, "fault_type/default4", "heldout");
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
    CHECK(store.splits(report.evaluation_id, "fault_type/default4", "within").size() == 60);

    const auto rows = store.evaluation(report.evaluation_id);
    std::set<std::string> protocols;
    for (const auto& r : rows) {
      protocols.insert(r.protocol);
      CHECK(r.task == "fault_type/default4");
    }
    CHECK(protocols == std::set<std::string>{"gap", "heldout", "within"});
    const std::string table = diagnosis::format_table(report);
    CHECK(table.find("fault_type/default4: 2 classes, 60 traces, 5 programs") != std::string::npos);
    CHECK(table.find("detection: skipped") != std::string::npos);
  }

  TEST_CASE("Evaluate: one program cannot be held out; unknown inputs throw before writing") {
    db::Store store = corpus(/*programs=*/1, /*per=*/10);
    const auto report =
        diagnosis::evaluate(store, diagnosis::EvaluateOptions().feature_sets({"curves"}));
    REQUIRE(report.tasks.size() == 1);
    CHECK(report.tasks[0].message.find("2 programs") != std::string::npos);
    CHECK_THROWS_AS(diagnosis::evaluate(store, diagnosis::EvaluateOptions().diagnosers({"svm"})),
                    dynfault::Error);
    CHECK_THROWS_AS(
        diagnosis::evaluate(store, diagnosis::EvaluateOptions().feature_sets({"activation"})),
        dynfault::Error);
    CHECK(store.evaluation("").empty());
  }
}
