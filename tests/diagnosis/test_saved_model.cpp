// Saved diagnosers (`dynfault train`) and diagnosing one trace (`dynfault diagnose`): the model
// file round trip, version refusal, and the per-epoch CSV a foreign run is read from.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/check.h"
#include "diagnosis/saved_model.h"
#include "features/feature_set.h"
#include "features/trace_csv.h"
#include "tests/diagnosis/corpus_fixture.h"

namespace fs = std::filesystem;
using namespace dynfault;
using namespace dynfault::diagnosis;

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

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
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
      CHECK(text.rfind("dynfault_model 1\n", 0) == 0);
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
    const SavedModel m = train_model(
        store, TrainModelOptions().task("fault_type/default4").feature_set("curves"));
    std::string text = model_text(m);
    std::string v2 = text;
    v2.replace(0, std::string("dynfault_model 1").size(), "dynfault_model 2");
    const std::string e2 = error_of([&] { from_text(v2); });
    CHECK(e2.find("m.model") != std::string::npos);
    CHECK(e2.find("version 2 is not supported") != std::string::npos);
    const std::string foreign = error_of([&] { from_text("epoch,train_loss\n0,1\n"); });
    CHECK(foreign.find("not a dynfault model file") != std::string::npos);
    CHECK(error_of([&] { from_text(""); }).find("not a dynfault model file") != std::string::npos);
    const std::string cut = error_of([&] { from_text(text.substr(0, text.size() / 2)); });
    CHECK(cut.find("m.model") != std::string::npos);
    CHECK_FALSE(cut.empty());

    const fs::path dir = fs::temp_directory_path() / ("dynfault-saved-model-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "m.model").string();
    save_model_file(m, path, false);
    CHECK_FALSE(fs::exists(path + ".tmp"));
    CHECK(error_of([&] { save_model_file(m, path, false); }).find("--force") != std::string::npos);
    save_model_file(m, path, true);
    CHECK(model_text(load_model_file(path)) == model_text(m));
    fs::remove_all(dir);
  }

  TEST_CASE("Training refuses what it cannot fit") {
    db::Store store = testing::corpus(2, 4);
    CHECK_THROWS_AS(train_model(store, TrainModelOptions().feature_set("curves").diagnoser("nope")),
                    Error);
    CHECK(error_of([&] {
            train_model(store, TrainModelOptions().feature_set("curvature"));
          }).find("has not been extracted") != std::string::npos);
    CHECK(error_of([&] {
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
      return error_of([&] { features::parse_trace_csv(text, "run.csv"); });
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
