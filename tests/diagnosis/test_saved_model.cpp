// Saved diagnosers (`dynfault train`) and diagnosing one trace (`dynfault diagnose`): the model
// file round trip, version refusal, and the per-epoch CSV a foreign run is read from.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/check.h"
#include "diagnosis/saved_model.h"
#include "features/feature_set.h"
#include "features/trace_csv.h"
#include "tests/diagnosis/corpus_fixture.h"
#include "tests/test_check.h"

namespace fs = std::filesystem;
using namespace dynfault;
using namespace dynfault::diagnosis;
using dynfault::test::error_of;

namespace {

std::string model_text(const SavedModel& m) {
  std::ostringstream out;
  write_model(out, m);
  return out.str();
}

SavedModel from_text(const std::string& text) {
  std::istringstream in(text);
  return read_model(in, "m.model");
}

bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

}  // namespace

TEST_SUITE("saved_model") {
  TEST_CASE("A saved model predicts bit for bit what the trained one did") {
    db::Store store = testing::corpus(3, 6, 2);
    const auto traces = store.traces();
    REQUIRE(traces.size() == 24);
    for (const std::string name : {"logistic_regression", "random_forest"}) {
      CAPTURE(name);
      const SavedModel m = train_model(store, TrainModelOptions()
                                                  .task("fault_type/default4")
                                                  .feature_set("curves+deepfd")
                                                  .diagnoser(name)
                                                  .task_classes({"a", "b"}));
      CHECK(m.n_traces == 18);  // clean runs have no fault type
      CHECK(m.classes == std::vector<std::string>{"learning_rate", "loss"});
      CHECK(m.feature_names == features::feature_set("curves+deepfd").names());
      const std::string text = model_text(m);
      CHECK(text.rfind("dynfault_model 3\n", 0) == 0);
      const SavedModel back = from_text(text);
      CHECK(back.task == m.task);
      CHECK(back.task_classes == m.task_classes);
      CHECK(back.feature_set == m.feature_set);
      CHECK(back.feature_names == m.feature_names);
      CHECK(back.class_counts == m.class_counts);
      CHECK(back.diagnoser->name() == name);
      CHECK(model_text(back) == text);  // a fixed point

      const features::FeatureSet set = features::feature_set(m.feature_set);
      Matrix x(traces.size(), set.names().size());
      for (size_t i = 0; i < traces.size(); ++i) {
        const auto v = set.values(traces[i]);
        std::copy(v.begin(), v.end(), x.row(i));
      }
      const Matrix p0 = m.diagnoser->predict_proba(x), p1 = back.diagnoser->predict_proba(x);
      CHECK(p0.data == p1.data);

      for (const auto& t : traces) {
        const Diagnosis a = diagnose_trace(m, t, 5), b = diagnose_trace(back, t, 5);
        CHECK(a.predicted == b.predicted);
        CHECK(a.proba == b.proba);
        double sum = 0;
        for (const auto& cp : a.proba) sum += cp.second;
        CHECK(sum == doctest::Approx(1.0).epsilon(1e-9));
        CHECK(a.proba.front().first == a.predicted);
        CHECK(a.top.size() <= 5);
        if (name == "logistic_regression") CHECK_FALSE(a.top.empty());
        CHECK(a.method == (name == "logistic_regression" ? "linear" : "occlusion"));
        for (size_t i = 1; i < a.top.size(); ++i)
          CHECK(std::fabs(a.top[i - 1].contribution) >= std::fabs(a.top[i].contribution));
      }
    }
  }

  TEST_CASE("Another format version, a foreign file and a damaged file are refused") {
    db::Store store = testing::corpus(2, 4);
    const SavedModel m =
        train_model(store, TrainModelOptions().task("fault_type/default4").feature_set("curves"));
    std::string text = model_text(m);
    std::string v4 = text;
    v4.replace(0, std::string("dynfault_model 3").size(), "dynfault_model 4");
    const std::string e4 = error_of<std::exception>([&] { from_text(v4); });
    CHECK(e4.find("m.model") != std::string::npos);
    CHECK(e4.find("version 4 is not supported") != std::string::npos);
    const std::string foreign =
        error_of<std::exception>([&] { from_text("epoch,train_loss\n0,1\n"); });
    CHECK(foreign.find("not a dynfault model file") != std::string::npos);
    CHECK(error_of<std::exception>([&] { from_text(""); }).find("not a dynfault model file") !=
          std::string::npos);
    const std::string cut =
        error_of<std::exception>([&] { from_text(text.substr(0, text.size() / 2)); });
    CHECK(cut.find("m.model") != std::string::npos);
    CHECK_FALSE(cut.empty());

    const fs::path dir =
        fs::temp_directory_path() / ("dynfault-saved-model-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "m.model").string();
    save_model_file(m, path, false);
    CHECK_FALSE(fs::exists(path + ".tmp"));
    CHECK(error_of<std::exception>([&] { save_model_file(m, path, false); }).find("--force") !=
          std::string::npos);
    save_model_file(m, path, true);
    CHECK(model_text(load_model_file(path)) == model_text(m));
    fs::remove_all(dir);
  }

  TEST_CASE("A saved model records its options and bins; a version 2 file still reads") {
    db::Store store = testing::corpus(2, 4);
    const SavedModel m =
        train_model(store, TrainModelOptions()
                               .task("fault_type/default4")
                               .feature_set("curves")
                               .diagnoser("random_forest")
                               .diagnoser_config({{"random_forest", {{"trees", 3.0}}}})
                               .max_bins(16));
    const SavedModel back = from_text(model_text(m));
    CHECK(back.max_bins == 16);
    const auto options = nlohmann::json::parse(back.diagnoser_options);
    CHECK(options.at("trees") == 3);
    CHECK(options.at("max_depth") == 12);
    // Version 2: the same stream without the two records added by version 3.
    std::string v2 = model_text(m);
    v2.replace(0, std::string("dynfault_model 3").size(), "dynfault_model 2");
    const size_t cut = v2.find("diagnoser_options ");
    REQUIRE(cut != std::string::npos);
    v2 = v2.substr(0, cut) + "end\n";
    const SavedModel old = from_text(v2);
    CHECK(old.diagnoser_options.empty());
    CHECK(old.max_bins == 0);
  }

  TEST_CASE("Training refuses what it cannot fit") {
    db::Store store = testing::corpus(2, 4);
    CHECK_THROWS_AS(train_model(store, TrainModelOptions().feature_set("curves").diagnoser("nope")),
                    Error);
    CHECK(error_of<std::exception>([&] {
            train_model(store, TrainModelOptions().feature_set("curvature"));
          }).find("has not been extracted") != std::string::npos);
    CHECK(error_of<std::exception>([&] {
            train_model(store, TrainModelOptions().feature_set("curves").task("no_such_task"));
          }).find("no labels") != std::string::npos);
  }

  TEST_CASE("A per-epoch CSV reads back into the features of the stored trace") {
    db::Store store = testing::corpus(2, 2);
    const auto t = store.traces().front();
    std::vector<std::string> left_out;
    const std::string csv = features::write_trace_csv(t, &left_out);
    CHECK(csv.find("epoch,train_loss,train_metric,val_loss,val_metric") != std::string::npos);
    const db::Trace back = features::parse_trace_csv(csv, "x.csv");
    CHECK(back.outcome == t.outcome);
    for (const std::string set : {"deepfd", "curves"}) {
      CAPTURE(set);
      const auto fs_ = features::feature_set(set);
      // Step-level train/loss is not per-epoch: only curves' step_loss_* may differ.
      const auto a = fs_.values(t), b = fs_.values(back);
      for (size_t i = 0; i < a.size(); ++i) {
        if (fs_.names()[i].rfind("step_loss", 0) == 0) continue;
        CAPTURE(fs_.names()[i]);
        CHECK(same_values({a[i]}, {b[i]}));
      }
    }
  }

  TEST_CASE("A bad per-epoch CSV names the file, line and column") {
    const auto err = [](const std::string& text) {
      return error_of<std::exception>([&] { features::parse_trace_csv(text, "run.csv"); });
    };
    const std::string missing = err("epoch,train_loss,train_metric,val_loss\n0,1,2,3\n");
    CHECK(missing.find("run.csv") != std::string::npos);
    CHECK(missing.find("missing column 'val_metric'") != std::string::npos);
    const std::string misnamed =
        err("# outcome: completed\nepoch,train_loss,trian_metric,val_loss,val_metric\n");
    CHECK(misnamed.find("run.csv:2") != std::string::npos);
    CHECK(misnamed.find("column 3") != std::string::npos);
    CHECK(misnamed.find("trian_metric") != std::string::npos);
    const std::string bad =
        err("epoch,train_loss,train_metric,val_loss,val_metric\n0,1,2,3,4\n1,1,x,3,4\n");
    CHECK(bad.find("run.csv:3") != std::string::npos);
    CHECK(bad.find("column 3 (train_metric)") != std::string::npos);
    CHECK(err("epoch,train_loss,train_metric,val_loss,val_metric\n0,1,2,3\n").find("4 cells") !=
          std::string::npos);
    CHECK(err("epoch,train_loss,train_metric,val_loss,val_metric\n1,1,2,3,4\n0,1,2,3,4\n")
              .find("increasing") != std::string::npos);
    CHECK(err("epoch,train_loss,train_loss,val_loss,val_metric\n").find("twice") !=
          std::string::npos);
    const db::Trace ok = features::parse_trace_csv(
        "# planned_epochs: 10\n# outcome: nan_loss\n"
        "epoch,train_loss,train_metric,val_loss,val_metric,lr,grad/global_norm\n"
        "0,2.3,0.1,,0.12,0.01,1.5\n1,nan,0.1,inf,,0.01,\n",
        "ok.csv");
    CHECK(ok.outcome == "nan_loss");
    CHECK(ok.recipe_json == "{\"epochs\":10}");
    REQUIRE(ok.find("epoch/val_loss") != nullptr);
    CHECK(ok.find("epoch/val_loss")->steps == std::vector<int64_t>{1});
    CHECK(std::isinf(ok.find("epoch/val_loss")->values[0]));
    CHECK(std::isnan(ok.find("epoch/train_loss")->values[1]));
    CHECK(ok.find("grad/global_norm")->size() == 1);
    CHECK(ok.find("epoch/lr")->size() == 2);
  }
}

TEST_SUITE("diagnosis") {
  TEST_CASE("A model records what it was trained on and flags a trace outside it") {
    db::Store store = testing::corpus(3, 6, 2);
    const SavedModel m = train_model(
        store, TrainModelOptions().task("fault_type/default4").feature_set("curves+deepfd"));
    const TrainingScope& s = m.scope;
    REQUIRE(s.known);
    CHECK(s.programs.size() == 3);
    CHECK(s.families.count("mlp") == 1);
    CHECK(s.settings.at("learning_rate").at("lr_scale") == 9);
    CHECK(s.settings.at("loss").at("loss_change") == 9);
    CHECK(scope_line(s, m.n_traces) ==
          "trained on 2 operator settings over 3 programs (1 families, 1 data kinds), 18 traces");
    CHECK(s.reference_rows == 18);
    CHECK(std::isfinite(s.nn_p99));
    CHECK(s.evaluated.empty());  // nothing evaluated in this store
    // It survives the model file, and a version 1 file (no scope) is still read.
    const std::string text = model_text(m);
    CHECK(from_text(text).scope.reference.size() == 18 * m.feature_names.size());
    CHECK(model_text(from_text(text)) == text);
    std::string v1 = text;
    v1.replace(0, std::string("dynfault_model 3").size(), "dynfault_model 1");
    const auto at = v1.find("scope ");
    REQUIRE(at != std::string::npos);
    const auto next = v1.find("\ndiagnoser_name", at);
    v1.erase(at, next + 1 - at);
    v1 = v1.substr(0, v1.find("diagnoser_options ")) + "end\n";  // added by version 3
    CHECK_FALSE(from_text(v1).scope.known);

    // A training trace lies inside; the same run with exploded curves and an unseen family
    // does not.
    const auto traces = store.traces();
    const Diagnosis inside = diagnose_trace(m, traces.front(), 3);
    CHECK_FALSE(inside.scope.out_of_distribution);
    CHECK(inside.scope.program_seen);
    db::Trace far = traces.front();
    far.program = "elsewhere";
    for (auto& [key, series] : far.series)
      for (double& v : series.values) v *= 1e4;
    const Diagnosis outside = diagnose_trace(m, far, 3);
    CHECK(outside.scope.out_of_distribution);
    CHECK_FALSE(outside.scope.program_seen);
    CHECK(outside.scope.nn_distance > s.nn_p99);
    far.family = "transformer";
    bool family_reason = false;
    for (const auto& r : diagnose_trace(m, far, 3).scope.reasons)
      family_reason = family_reason || r.find("'transformer' was never seen") != std::string::npos;
    CHECK(family_reason);
  }

  TEST_CASE("A model keeps the latest stored ladder scores of its task, set and diagnoser") {
    db::Store store = testing::corpus(3, 6, 2);
    const auto row = [](const std::string& id, const std::string& protocol, double value,
                        const std::string& set = "curves") {
      db::EvaluationRow r;
      r.evaluation_id = id;
      r.task = "fault_type/default4";
      r.protocol = protocol;
      r.diagnoser = "logistic_regression";
      r.feature_set = set;
      r.metric = "balanced_accuracy";
      r.value = value;
      r.ci_low = value - 0.05;
      r.ci_high = value + 0.05;
      r.n = 18;
      return r;
    };
    // An older evaluation, then the ladder: rungs out of order, a paired loss and a comparison
    // (no scores of one protocol), another set's rung, another metric.
    db::EvaluationRow f1 = row("e2", "fault", 0.61);
    f1.metric = "macro_f1";
    store.write_evaluation({row("e1", "within", 0.9), row("e1", "heldout", 0.5)});
    store.write_evaluation({row("e2", "program", 0.42), row("e2", "random", 0.93),
                            row("e2", "loss/random/program", 0.51), row("e2", "fault", 0.58),
                            row("e2", "paired/program", 0.02), row("e2", "value", 0.7, "deepfd"),
                            f1});
    const SavedModel m =
        train_model(store, TrainModelOptions().task("fault_type/default4").feature_set("curves"));
    CHECK(m.scope.evaluation_id == "e2");
    std::vector<std::string> protocols;
    for (const auto& e : m.scope.evaluated) protocols.push_back(e.protocol);
    CHECK(protocols == std::vector<std::string>{"random", "fault", "program"});
    CHECK(m.scope.evaluated[1].balanced_accuracy == 0.58);
    CHECK(held_out_consequence(m.scope) == "fault-held-out 0.580 next to program-held-out 0.420");
    // It survives the model file.
    CHECK(held_out_consequence(from_text(model_text(m)).scope) == held_out_consequence(m.scope));
  }

  TEST_CASE("Balanced class weights repeat the smaller classes; effective-only needs detection") {
    db::Store store = testing::corpus(3, 6, 2);  // detection: 18 faulty, 6 clean
    const SavedModel plain = train_model(store, TrainModelOptions()
                                                    .task("detection")
                                                    .feature_set("curves")
                                                    .diagnoser("logistic_regression"));
    CHECK(imbalance_ratio(plain.class_counts) == 3.0);
    const SavedModel balanced = train_model(store, TrainModelOptions()
                                                       .task("detection")
                                                       .feature_set("curves")
                                                       .diagnoser("logistic_regression")
                                                       .class_weight("balanced"));
    CHECK(balanced.scope.class_weight == "balanced");
    CHECK(balanced.class_counts == plain.class_counts);  // the counts stay those of the data
    // Weighting the clean runs three times moves the clean probability of every trace up.
    size_t higher = 0;
    const auto traces = store.traces();
    for (const auto& t : traces) {
      const auto p_clean = [&](const SavedModel& m) {
        for (const auto& [c, p] : diagnose_trace(m, t, 0).proba)
          if (c == "clean") return p;
        return 0.0;
      };
      higher += p_clean(balanced) > p_clean(plain) ? 1 : 0;
    }
    CHECK(higher * 2 > traces.size());
    CHECK(error_of<std::exception>([&] {
            train_model(
                store,
                TrainModelOptions().task("detection").feature_set("curves").class_weight("heavy"));
          }).find("none or balanced") != std::string::npos);
    CHECK(error_of<std::exception>([&] {
            train_model(store, TrainModelOptions()
                                   .task("fault_type/default4")
                                   .feature_set("curves")
                                   .effective_only(true));
          }).find("--task detection") != std::string::npos);
    // Effective-only: the clean runs and the mutants the killing test found effective.
    int64_t effective = 0;
    for (const auto& l : store.labels("effective")) effective += l.label == "effective" ? 1 : 0;
    REQUIRE(effective > 0);
    REQUIRE(effective < 18);
    const SavedModel eff = train_model(
        store, TrainModelOptions().task("detection").feature_set("curves").effective_only(true));
    CHECK(eff.class_counts.at("clean") == 6);
    CHECK(eff.class_counts.at("faulty") == effective);
    CHECK(eff.scope.effective_only);
  }
}
