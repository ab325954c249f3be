// The protocol ladder: each rung's folds keep its grouping on one side (fold by fold, on hand-made
// groups and on what evaluate() stored), learner seeds, and label inputs dropped per task.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "db/trace.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/tree.h"
#include "tests/diagnosis/corpus_fixture.h"

using namespace dynfault;
using namespace dynfault::diagnosis;

namespace {

// 6 programs on 3 data sets (two share "fashion"), 4 operators over 2 classes, each
// configuration on 3 seeds, and 2 clean runs per program.
void ladder_corpus(Labels& y, TraceGroups& g) {
  const char* datasets[] = {"fashion", "fashion", "fashion", "iris", "iris", "digits"};
  const char* ops[] = {"lr_scale", "lr_set", "loss_change", "loss_sign_flip"};
  for (int p = 0; p < 6; ++p) {
    auto add = [&](const std::string& op, int value, int seed) {
      db::RunSpec s;
      s.program = "prog" + std::to_string(p);
      s.recipe_json = std::string(R"({"data":{"name":")") + datasets[p] + R"("}})";
      s.seed = seed;
      if (!op.empty()) {
        s.fault_ids = op;
        s.faults_json =
            R"([{"mutator":")" + op + R"(","params":{"v":)" + std::to_string(value) + "}}]";
      }
      g.add(s);
      y.push_back(op.empty() ? "clean" : (op.rfind("lr", 0) == 0 ? "lr" : "loss"));
    };
    for (int o = 0; o < 4; ++o)
      for (int value = 0; value < 2; ++value)
        for (int seed = 0; seed < 3; ++seed) add(ops[o], value, seed);
    for (int seed = 0; seed < 2; ++seed) add("", 0, seed);
  }
}

// Fails the test when some group of `groups` has traces on both sides of a fold.
void check_disjoint(const std::vector<Fold>& folds, const std::vector<std::string>& groups,
                    const std::string& rung) {
  for (size_t f = 0; f < folds.size(); ++f) {
    std::set<std::string> train, test;
    for (size_t i : folds[f].train) train.insert(groups[i]);
    for (size_t i : folds[f].test) test.insert(groups[i]);
    for (const auto& t : test) {
      CAPTURE(rung);
      CAPTURE(f);
      CAPTURE(t);
      CHECK(train.count(t) == 0);
    }
  }
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Ladder: no program, operator, configuration or data set on both sides of its rung") {
    Labels y;
    TraceGroups g;
    ladder_corpus(y, g);
    REQUIRE(g.size() == 6 * (24 + 2));
    CHECK(rung_groups(rung("program"), g) == 6);
    CHECK(rung_groups(rung("dataset"), g) == 3);
    CHECK(rung_groups(rung("fault"), g) == 4 + 6);  // 4 operators, 6 clean configurations
    CHECK(rung_groups(rung("config"), g) == 6 * (8 + 1));
    CHECK(rung_groups(rung("value"), g) == 4 * 2 + 6);  // 8 fault values, 6 clean configurations
    CHECK(rung_names() ==
          std::vector<std::string>{"random", "config", "value", "fault", "program", "dataset"});
    for (const int group_k : {0, 2}) {
      const RungOptions o{/*k=*/5, group_k, /*seed=*/11};
      for (const auto& name : rung_names()) {
        const Rung& r = rung(name);
        const auto folds = rung_folds(r, y, g, o);
        // Every trace is tested exactly once.
        const auto fold_of = test_fold_of(folds, y.size());
        for (int64_t f : fold_of) CHECK(f >= 0);
        if (r.grouping.empty()) continue;
        check_disjoint(folds, g.by(r.grouping), name);
        // The rungs above config also keep whole configurations together; the fault rung keeps
        // whole operators, so it never splits one either.
        check_disjoint(folds, g.configuration, name + " (configuration)");
        if (name == "dataset") check_disjoint(folds, g.program, name + " (program)");
        if (name == "fault") check_disjoint(folds, g.value, name + " (value)");
        if (group_k == 0 && r.leave_one_out) CHECK(folds.size() == rung_groups(r, g));
      }
    }
    // A clean run goes with its program's clean configuration, never with every clean run.
    const auto fault_folds = rung_folds(rung("fault"), y, g, RungOptions{});
    for (const auto& f : fault_folds) {
      std::set<std::string> classes;
      for (size_t i : f.train) classes.insert(y[i]);
      CHECK(classes.count("clean") == 1);
    }
    // Each class has two operators: holding one out leaves the class in training.
    CHECK(unseen_class_traces(fault_folds, y) == 0);
    // Relabel so that "loss" comes from loss_change only: its 36 runs (6 programs x 2 values x
    // 3 seeds) are then tested by models that never saw the class.
    Labels relabelled = y;
    for (size_t i = 0; i < y.size(); ++i)
      if (g.fault[i] == "loss_sign_flip") relabelled[i] = "lr";
    CHECK(unseen_class_traces(rung_folds(rung("fault"), relabelled, g, RungOptions{}),
                              relabelled) == 36);
    CHECK(unseen_class_traces(rung_folds(rung("value"), relabelled, g, RungOptions{}),
                              relabelled) == 0);
  }

  TEST_CASE("Ladder: rungs without two groups, unknown rungs and bad data are refused") {
    Labels y;
    TraceGroups g;
    ladder_corpus(y, g);
    TraceGroups one = g;
    one.dataset.assign(one.size(), "fashion");
    CHECK_THROWS_WITH_AS(rung_folds(rung("dataset"), y, one, RungOptions{}),
                         doctest::Contains("'dataset': needs at least 2 data sets to hold "
                                           "one out, found 1 (fashion)"),
                         dynfault::Error);
    CHECK_NOTHROW(rung_folds(rung("program"), y, one, RungOptions{}));
    CHECK_THROWS_WITH_AS(rung("horizon"), doctest::Contains("unknown protocol 'horizon'"),
                         dynfault::Error);
    CHECK_THROWS_AS(g.by("seed"), dynfault::Error);
    Labels short_y(y.begin(), y.begin() + 3);
    CHECK_THROWS_AS(rung_folds(rung("random"), short_y, g, RungOptions{}), dynfault::Error);
    // Groups from a spec: canonical configuration whatever the key order, data set from the
    // recipe, the program when the recipe names none.
    db::RunSpec a, b;
    a.program = b.program = "p";
    a.fault_ids = b.fault_ids = "m";
    a.faults_json = R"([{"mutator":"m","params":{"f":2}}])";
    b.faults_json = R"([{"params":{"f":2},"mutator":"m"}])";
    a.recipe_json = R"({"data":{"name":"iris"}})";
    TraceGroups ab;
    ab.add(a);
    ab.add(b);
    CHECK(ab.configuration[0] == ab.configuration[1]);
    CHECK(ab.fault[0] == "m");
    // A fault value is the operator with its parameters, on any program; the record's change
    // text names the program's own values and does not split it.
    db::RunSpec c = a;
    c.program = "q";
    c.faults_json = R"([{"mutator":"m","params":{"f":2},"change":"lr: 0.1 -> 0.2"}])";
    ab.add(c);
    CHECK(ab.value[2] == ab.value[0]);
    CHECK(ab.configuration[2] != ab.configuration[0]);
    CHECK(ab.dataset[0] == "iris");
    CHECK(ab.dataset[1] == "program:p");
  }

  TEST_CASE("Ladder: evaluate() stores folds that keep every rung's groups apart") {
    db::Store store = testing::corpus(/*programs=*/6, /*per=*/8, /*clean=*/2);
    const std::vector<std::string> ladder = {"random", "config", "fault", "program", "dataset"};
    const auto report =
        evaluate(store, EvaluateOptions()
                            .tasks({"fault_type/default4", "detection"})
                            .feature_sets({"curves"})
                            .protocols(ladder)
                            .bootstrap(20)
                            .program_structure(false)
                            .taxonomies_path(testing::kSourceDir + "/configs/taxonomies.yaml")
                            .thresholds_path(testing::kSourceDir + "/configs/thresholds.yaml"));
    REQUIRE(report.tasks.size() == 2);
    for (const auto& tr : report.tasks) {
      REQUIRE(tr.rungs.size() == 5);
      // Groups of the stored runs, per the ladder's definitions.
      for (const auto& name : ladder) {
        const auto splits = store.splits(report.evaluation_id, tr.task, name);
        REQUIRE(splits.size() == static_cast<size_t>(tr.n_traces));
        TraceGroups g;
        std::vector<int64_t> fold;
        for (const auto& s : splits) {
          g.add(store.run(s.run_uuid)->spec);
          fold.push_back(s.fold);
        }
        const Rung& r = rung(name);
        if (r.grouping.empty()) continue;
        std::map<std::string, std::set<int64_t>> folds_of;
        for (size_t i = 0; i < fold.size(); ++i) folds_of[g.by(r.grouping)[i]].insert(fold[i]);
        for (const auto& [group, f] : folds_of) {
          CAPTURE(name);
          CAPTURE(group);
          CHECK(f.size() == 1);  // tested in one fold only: never on both sides
        }
      }
    }
    // Three data sets, six programs: the data-set rung has three folds, the program rung six.
    CHECK(report.tasks[0].rungs[4].folds == 3);
    CHECK(report.tasks[0].rungs[3].folds == 6);
    std::set<std::string> protocols;
    for (const auto& r : store.evaluation(report.evaluation_id)) protocols.insert(r.protocol);
    for (const char* p : {"random", "config", "fault", "program", "dataset", "loss/random/config",
                          "loss/config/fault", "loss/fault/program", "loss/program/dataset",
                          "loss/random/fault", "loss/random/program", "loss/random/dataset"})
      CHECK_MESSAGE(protocols.count(p) == 1, p);
    CHECK(protocols.size() == 12);
  }

  TEST_CASE("Learner seeds: they change a forest's predictions, and scores average over them") {
    SplitMix64 rng(21);
    Matrix x(200, 6);
    Labels y;
    TraceGroups g;
    for (size_t i = 0; i < 200; ++i) {
      const bool b = rng.below(2) == 1;
      y.push_back(b ? "b" : "a");
      for (size_t j = 0; j < 6; ++j)
        x(i, j) = static_cast<double>(rng.below(1000)) / 1000.0 + (j == 0 && b ? 0.2 : 0.0);
      db::RunSpec s;
      s.program = "prog" + std::to_string(i % 8);
      g.add(s);
    }
    RandomForest f1, f2;
    f1.configure(LearnerSettings{1, 255});
    f2.configure(LearnerSettings{2, 255});
    f1.fit(x, y);
    f2.fit(x, y);
    CHECK(f1.predict_proba(x).data != f2.predict_proba(x).data);
    RandomForest again;
    again.configure(LearnerSettings{1, 255});
    again.fit(x, y);
    CHECK(again.predict_proba(x).data == f1.predict_proba(x).data);

    const auto o = EvaluateOptions().protocols({"random"}).bootstrap(0).seed(5).learner_seeds(3);
    const auto three = evaluate_matrix("random_forest", "toy", x, y, g, o);
    REQUIRE(three.rungs.size() == 1);
    CHECK(three.rungs[0].learner_seeds == 3);
    // The mean over the three seeds' own out-of-fold scores.
    const auto folds = stratified_kfold(y, 5, 5);
    double sum = 0;
    std::set<double> distinct;
    for (int j = 0; j < 3; ++j) {
      const Labels pred = cross_val_predict("random_forest", x, y, folds, 1,
                                            LearnerSettings{learner_seed(5, j), 255});
      const double ba = balanced_accuracy(y, pred);
      sum += ba;
      distinct.insert(ba);
    }
    CHECK(distinct.size() > 1);  // the seeds really differ
    CHECK(three.rungs[0].balanced_accuracy.value == doctest::Approx(sum / 3));
    CHECK(three.rungs[0].learner_sd > 0);
    // A learner that draws nothing is fitted once.
    const auto lr = evaluate_matrix("logistic_regression", "toy", x, y, g, o);
    CHECK(lr.rungs[0].learner_seeds == 1);
    CHECK(std::isnan(lr.rungs[0].learner_sd));
  }

  TEST_CASE("Label inputs: evaluate() drops them per task, says which, and keeps them on request") {
    // 4 programs x 6 runs: half of them blow up (outcome nan_loss, a NaN loss at the end).
    db::Store store = db::Store::memory();
    for (int p = 0; p < 4; ++p)
      for (int r = 0; r < 6; ++r) {
        const bool blows = r % 2 == 1;
        db::Trace t = testing::base_trace("r" + std::to_string(r));
        t.program = "prog" + std::to_string(p);
        t.fault_ids = "lr_scale";
        t.faults_json = R"([{"mutator":"lr_scale","category":"learning_rate"}])";
        t.outcome = blows ? "nan_loss" : "completed";
        std::vector<double> loss = {1.0, 0.8 - 0.01 * r, 0.6 + 0.02 * p};
        if (blows) loss.back() = NAN;
        testing::put(t, "epoch/train_loss", loss);
        testing::put(t, "epoch/train_metric", {0.5, 0.6, 0.7});
        testing::store_trace(store, t, "c", "FINISHED", r);
      }
    features::derive_labels(store,
                            features::LabelOptions()
                                .taxonomies_path(testing::kSourceDir + "/configs/taxonomies.yaml")
                                .thresholds_path(testing::kSourceDir + "/configs/thresholds.yaml"));
    features::extract_features(store, features::ExtractOptions().feature_sets({"curves"}));
    const auto o = EvaluateOptions()
                       .tasks({"instability", "fault_type/default4"})
                       .feature_sets({"curves"})
                       .bootstrap(10)
                       .within_folds(3)
                       .program_structure(false)
                       .taxonomies_path(testing::kSourceDir + "/configs/taxonomies.yaml")
                       .thresholds_path(testing::kSourceDir + "/configs/thresholds.yaml");
    const auto report = evaluate(store, EvaluateOptions(o).tasks({"instability"}));
    const auto& tr = report.tasks[0];
    CHECK(tr.classes == std::vector<std::string>{"diverged", "stable"});
    CHECK(tr.label_inputs.front() == "outcome");
    const std::vector<std::string> expected = features::feature_set("curves").restating_columns(
        features::task_label_inputs("instability"));
    REQUIRE(tr.dropped.count("curves") == 1);
    CHECK(tr.dropped.at("curves") == expected);
    CHECK(tr.results[0].n_features == static_cast<int64_t>(25 - expected.size()));
    // The label rule re-applied to the traces: the ceiling.
    CHECK(tr.results[1].diagnoser == "label_rule");
    CHECK(tr.results[1].rungs[0].balanced_accuracy.value == 1.0);
    // The dropped columns are named in the stored details and the printed table.
    bool stored = false;
    for (const auto& r : store.evaluation(report.evaluation_id))
      if (r.diagnoser == "logistic_regression" && r.metric == "balanced_accuracy" &&
          r.protocol == "random")
        stored =
            r.details.find("\"dropped_label_inputs\":[\"train_loss_final\"") != std::string::npos;
    CHECK(stored);
    CHECK(format_table(report).find("curves (" + std::to_string(expected.size()) +
                                    "): train_loss_final") != std::string::npos);
    // --keep-label-inputs: every column, and the outcome alone then predicts the label.
    const auto kept =
        evaluate(store, EvaluateOptions(o).tasks({"instability"}).keep_label_inputs(true));
    CHECK(kept.tasks[0].dropped.empty());
    CHECK(kept.tasks[0].results[0].n_features == 25);
    CHECK(kept.tasks[0].results[0].rungs[1].balanced_accuracy.value == 1.0);
    // Helpers: a set this build does not know, or a task without a declared rule, drops nothing.
    CHECK(label_input_columns("no_such_set", {"outcome_nan_loss"}, "instability").empty());
    CHECK(label_input_columns("curves", {"outcome_nan_loss"}, "my_task").empty());
    CHECK(label_input_columns("curves", {"outcome_nan_loss", "x"}, "instability") ==
          std::vector<std::string>{"outcome_nan_loss"});
  }
}
