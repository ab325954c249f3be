// evaluate() end to end on an in-memory store: labels and features derived from synthetic
// traces of several programs.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "diagnosis/evaluation.h"
#include "features/feature_set.h"
#include "features/labels.h"
#include "tests/features/store_fixtures.h"

using namespace dynfault;
using dynfault::testing::put;

namespace {

const std::string kSourceDir = DYNFAULT_SOURCE_DIR;

// `programs` programs x `per` runs; even runs carry an lr_scale fault (loss stalls high and
// noisy), odd runs a loss_change fault (loss falls low); each program shifts the levels.
db::Store corpus(int programs, int per) {
  db::Store store = db::Store::memory();
  diagnosis::SplitMix64 rng(5);
  for (int p = 0; p < programs; ++p)
    for (int r = 0; r < per; ++r) {
      const bool lr = r % 2 == 0;
      db::Trace t = testing::base_trace("r" + std::to_string(r));
      t.program = "prog" + std::to_string(p);
      t.recipe_json = R"({"epochs":6})";
      t.fault_ids = lr ? "lr_scale" : "loss_change";
      t.faults_json = lr ? R"([{"mutator":"lr_scale","category":"learning_rate"}])"
                         : R"([{"mutator":"loss_change","category":"loss"}])";
      const double shift = 0.2 * p;
      const double noise = static_cast<double>(rng.below(100)) / 500.0;
      std::vector<double> loss, acc;
      for (int e = 0; e < 6; ++e) {
        loss.push_back(lr ? 1.0 + shift + noise + 0.05 * (e % 2) : (1.0 + shift) / (1 + e) + noise);
        acc.push_back(lr ? 0.4 + noise : 0.5 + 0.07 * e + noise);
      }
      put(t, "epoch/train_loss", loss);
      put(t, "epoch/val_loss", loss);
      put(t, "epoch/train_metric", acc);
      put(t, "epoch/val_metric", acc);
      testing::store_trace(store, t, "c");
    }
  features::derive_labels(store, features::LabelOptions()
                                     .taxonomies_path(kSourceDir + "/configs/taxonomies.yaml")
                                     .thresholds_path(kSourceDir + "/configs/thresholds.yaml"));
  features::extract_features(store, features::ExtractOptions().feature_sets({"curves", "deepfd"}));
  return store;
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Evaluate: stores splits and within/heldout/gap rows and reports both protocols") {
    db::Store store = corpus(/*programs=*/5, /*per=*/12);
    const auto report = diagnosis::evaluate(store, diagnosis::EvaluateOptions()
                                                       .tasks({"fault_type/default4", "detection"})
                                                       .feature_sets({"curves", "deepfd+curves"})
                                                       .bootstrap(100)
                                                       .seed(3));
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
