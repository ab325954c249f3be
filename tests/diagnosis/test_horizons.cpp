// evaluate() at diagnosis horizons: one row per horizon and rung, on the runs still training at
// the cut, and the bad inputs (a horizon outside (0, 1], a task without two classes there).
#include <doctest/doctest.h>

#include <set>

#include "diagnosis/evaluation.h"
#include "features/feature_set.h"
#include "features/horizon.h"
#include "features/labels.h"
#include "tests/diagnosis/corpus_fixture.h"

using namespace dynfault;
using namespace dynfault::testing;

namespace {

// 6 programs x 8 runs of 8 epochs x 4 steps. Faulty runs: even ones a learning-rate fault whose
// loss blows up (1e6) from epoch 5 on in half of them, odd ones a loss fault; two clean runs per
// program. Every run records a step loss; one run per program dies at step 6 (nan_loss).
db::Store horizon_corpus() {
  db::Store store = db::Store::memory();
  store.upsert_campaign("c", "name: c\n", "");
  diagnosis::SplitMix64 rng(11);
  for (int p = 0; p < 6; ++p)
    for (int r = 0; r < 10; ++r) {
      const bool clean = r >= 8, lr = r % 2 == 0;
      const bool blows = !clean && lr && (r / 2) % 2 == 0;
      const bool dies = r == 1;
      db::Trace t = base_trace("r" + std::to_string(r));
      t.program = "prog" + std::to_string(p);
      t.recipe_json =
          R"({"data":{"name":"ds)" + std::to_string(p / 2) + R"("},"batch_size":8,"epochs":8})";
      if (!clean) {
        t.fault_ids = lr ? "lr_scale" : "loss_change";
        t.faults_json = lr ? R"([{"mutator":"lr_scale","category":"learning_rate"}])"
                           : R"([{"mutator":"loss_change","category":"loss"}])";
      }
      const double noise = static_cast<double>(rng.below(100)) / 1000.0;
      const int epochs = dies ? 2 : 8;
      std::vector<double> loss, acc, step_loss;
      for (int e = 0; e < epochs; ++e) {
        loss.push_back(blows && e >= 5 ? 1e6 : (1.0 + 0.1 * p) / (1 + e) + noise + (lr ? 0.2 : 0));
        acc.push_back(0.5 + 0.04 * e + noise - (lr ? 0.1 : 0));
      }
      const int steps = dies ? 6 : 32;
      for (int s = 0; s < steps; ++s)
        step_loss.push_back(dies && s == steps - 1 ? kNaN : loss[static_cast<size_t>(s / 4)]);
      if (dies) t.outcome = "nan_loss";
      put(t, "epoch/train_loss", loss);
      put(t, "epoch/val_loss", loss);
      put(t, "epoch/train_metric", acc);
      put(t, "epoch/val_metric", acc);
      put(t, "train/loss", step_loss);
      store_trace(store, t, "c", "FINISHED", clean ? r - 8 : r / 2);
    }
  features::derive_labels(store, features::LabelOptions()
                                     .taxonomies_path(kSourceDir + "/configs/taxonomies.yaml")
                                     .thresholds_path(kSourceDir + "/configs/thresholds.yaml"));
  for (const char* h : {"1", "0.25", "0.5"})
    features::extract_features(store,
                               features::ExtractOptions()
                                   .feature_sets({"curves", "deepfd"})
                                   .horizon(features::Horizon::parse(h))
                                   .thresholds_path(kSourceDir + "/configs/thresholds.yaml"));
  return store;
}

diagnosis::EvaluateOptions options() {
  return diagnosis::EvaluateOptions()
      .feature_sets({"curves", "deepfd"})
      .diagnosers({"logistic_regression"})
      .protocols({"random", "program"})
      .bootstrap(50)
      .program_structure(false)
      .taxonomies_path(kSourceDir + "/configs/taxonomies.yaml")
      .thresholds_path(kSourceDir + "/configs/thresholds.yaml");
}

}  // namespace

TEST_CASE("evaluate at horizons: a row per horizon, on the runs alive at the cut") {
  db::Store store = horizon_corpus();
  const auto report = diagnosis::evaluate(
      store,
      options().tasks({"fault_type/default4", "instability_ahead"}).horizons({"0.25", "0.5", "1"}));
  std::map<std::string, int64_t> n;
  for (const auto& t : report.tasks) n[t.task] = t.n_traces;
  REQUIRE(n.size() == 6);
  // 6 x 8 faulty runs; the 6 that died at step 6 ended before the cut at 0.25 (step 8).
  CHECK(n.at("fault_type/default4") == 48);
  CHECK(n.at("fault_type/default4@h0.25") == 42);
  CHECK(n.at("fault_type/default4@h0.5") == 42);
  // Ahead: the runs that blow up from epoch 5 are "unstable" at 0.25 and 0.5, not yet seen.
  for (const auto& t : report.tasks) {
    if (t.task.rfind("instability_ahead", 0) != 0) continue;
    CAPTURE(t.task);
    // At H = 1 nothing is ahead: the triage read as two classes (the 6 runs that died count).
    CHECK(t.class_counts.at("unstable") == (t.task == "instability_ahead" ? 18 : 12));
    CHECK(t.classes == std::vector<std::string>{"stable", "unstable"});
    // The label_rule row: the rule on the prefix foresees nothing (0.5); at H = 1 it is the label.
    const auto& rule = t.results.back();
    REQUIRE(rule.diagnoser == diagnosis::kLabelRule);
    const double ba = rule.rungs[0].balanced_accuracy.value;
    CHECK(ba == doctest::Approx(t.task == "instability_ahead" ? 1.0 : 0.5));
  }
  // Stored: one set of rows per horizon, under the task's name at that horizon.
  std::set<std::string> stored;
  for (const auto& row : store.evaluation(report.evaluation_id)) stored.insert(row.task);
  CHECK(stored.count("instability_ahead@h0.25") == 1);
  CHECK(stored.count("fault_type/default4@h0.5") == 1);
}

TEST_CASE("evaluate at horizons: bad input is a clear error and nothing is stored") {
  db::Store store = horizon_corpus();
  for (const char* bad : {"0", "1.5", "-0.25", "x"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(
        diagnosis::evaluate(store, options().tasks({"fault_type/default4"}).horizons({bad})),
        doctest::Contains("horizon"), Error);
  }
  // A horizon without tables: says which command stores them.
  CHECK_THROWS_WITH_AS(
      diagnosis::evaluate(store, options().tasks({"fault_type/default4"}).horizons({"0.1"})),
      doctest::Contains("--horizon h0.1"), Error);
  CHECK(store.evaluation().empty());
  // A task with one class at a horizon: instability_ahead restricted to a campaign whose runs
  // never blow up.
  db::Store calm = db::Store::memory();
  calm.upsert_campaign("k", "name: k\n", "");
  for (int r = 0; r < 6; ++r) {
    db::Trace t = base_trace("k" + std::to_string(r));
    t.program = "p" + std::to_string(r % 3);
    t.recipe_json = R"({"data":{"name":"d"},"batch_size":8,"epochs":4})";
    t.fault_ids = "lr_scale";
    t.faults_json = R"([{"mutator":"lr_scale","category":"learning_rate"}])";
    put(t, "epoch/train_loss", {1.0, 0.8, 0.6, 0.5});
    put(t, "epoch/train_metric", {0.5, 0.6, 0.7, 0.75});
    put(t, "train/loss", std::vector<double>(16, 0.7));
    store_trace(calm, t, "k");
  }
  features::derive_labels(calm, features::LabelOptions()
                                    .taxonomies_path(kSourceDir + "/configs/taxonomies.yaml")
                                    .thresholds_path(kSourceDir + "/configs/thresholds.yaml"));
  features::extract_features(calm, features::ExtractOptions()
                                       .feature_sets({"curves", "deepfd"})
                                       .horizon(features::Horizon::parse("0.5"))
                                       .thresholds_path(kSourceDir + "/configs/thresholds.yaml"));
  CHECK_THROWS_WITH_AS(
      diagnosis::evaluate(calm, options().tasks({"instability_ahead"}).horizons({"0.5"})),
      doctest::Contains("'instability_ahead@h0.5' needs at least 2 classes"), Error);
  CHECK(calm.evaluation().empty());
}
