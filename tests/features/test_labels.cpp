#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "features/labels.h"
#include "fixtures.h"

using namespace dynfault;
using dynfault::testing::kNaN;
using dynfault::testing::put;

namespace {

const std::string kSourceDir = DYNFAULT_SOURCE_DIR;

features::Taxonomies repo_taxonomies() {
  return features::load_taxonomies(kSourceDir + "/configs/taxonomies.yaml");
}
features::Thresholds repo_thresholds() {
  return features::load_thresholds(kSourceDir + "/configs/thresholds.yaml");
}

std::string fault(const std::string& mutator, const std::string& category) {
  return R"({"mutator":")" + mutator + R"(","category":")" + category +
         R"(","params":{},"change":""})";
}

db::Trace faulty(const std::vector<std::pair<std::string, std::string>>& faults) {
  db::Trace t = testing::base_trace("f");
  std::string json = "[", ids;
  for (const auto& [m, c] : faults) {
    json += (json.size() > 1 ? "," : "") + fault(m, c);
    ids += (ids.empty() ? "" : "+") + m;
  }
  t.faults_json = json + "]";
  t.fault_ids = ids;
  return t;
}

// A healthy 6-epoch run: loss falls, accuracy rises, train and validation agree.
db::Trace stable_trace() {
  db::Trace t = testing::base_trace("stable");
  put(t, "epoch/train_loss", {1.0, 0.7, 0.5, 0.4, 0.35, 0.3});
  put(t, "epoch/train_metric", {0.5, 0.65, 0.75, 0.8, 0.82, 0.84});
  put(t, "epoch/val_loss", {1.0, 0.75, 0.55, 0.45, 0.4, 0.38});
  put(t, "epoch/val_metric", {0.5, 0.63, 0.72, 0.77, 0.79, 0.80});
  put(t, "train/loss", {1.1, 0.9, 0.7, 0.6, 0.5, 0.45, 0.4, 0.38, 0.35, 0.33, 0.31, 0.3});
  return t;
}

}  // namespace

TEST_SUITE("features") {
  TEST_CASE("Labels: configs/taxonomies.yaml loads with default4, deepfd5 and default7") {
    const auto tax = repo_taxonomies();
    REQUIRE(tax.list.size() == 3);
    CHECK(tax.get("default4").classes ==
          std::vector<std::string>{"activation", "learning_rate", "loss", "optimizer"});
    CHECK(tax.get("deepfd5").classes.size() == 5);
    CHECK(tax.get("default7").classes.size() == 7);
    CHECK_THROWS_WITH_AS(tax.get("nope"), doctest::Contains("default4"), dynfault::Error);
  }

  TEST_CASE("Labels: the current mutators' categories all map in default4") {
    const auto tax = repo_taxonomies();
    const auto& t = tax.get("default4");
    CHECK(t.classify("lr_scale", "learning_rate") == "learning_rate");
    CHECK(t.classify("optimizer_change", "optimizer") == "optimizer");
    CHECK(t.classify("loss_change", "loss") == "loss");
    CHECK(t.classify("activation_change", "activation") == "activation");
    CHECK(t.classify("label_noise", "data").empty());  // not applicable in default4
    const auto& d7 = tax.get("default7");
    CHECK(d7.classify("lr_scale", "learning_rate") == "hyperparameter");
    CHECK(d7.classify("weights_zero", "weights") == "weights");
  }

  TEST_CASE("Labels: an unknown taxonomy key is a ConfigError naming file and line") {
    const std::string text =
        "default4:\n"
        "  classes: [loss]\n"
        "  colour: red\n";
    try {
      features::parse_taxonomies(text, "tax.yaml");
      FAIL("expected ConfigError");
    } catch (const dynfault::ConfigError& e) {
      CHECK(e.file() == "tax.yaml");
      CHECK(e.line() == 3);
      CHECK(std::string(e.what()).find("tax.yaml:3") != std::string::npos);
      CHECK(std::string(e.what()).find("colour") != std::string::npos);
    }
  }

  TEST_CASE("Labels: a mapping to an undeclared class is a ConfigError with its line") {
    const std::string text =
        "t:\n"
        "  classes: [loss]\n"
        "  categories:\n"
        "    loss: loss\n"
        "    optimizer: optimiser\n";
    try {
      features::parse_taxonomies(text, "tax.yaml");
      FAIL("expected ConfigError");
    } catch (const dynfault::ConfigError& e) {
      CHECK(e.line() == 5);
      CHECK(e.value() == "optimiser");
    }
    CHECK_THROWS_AS(features::parse_taxonomies("t:\n  classes: []\n", "x.yaml"),
                    dynfault::ConfigError);
  }

  TEST_CASE("Labels: configs/thresholds.yaml loads; unknown keys and bad values are errors") {
    const auto th = repo_thresholds();
    CHECK(th.instability.acc_zeta == doctest::Approx(0.03));
    CHECK(th.instability.acc_eta == doctest::Approx(0.2));
    REQUIRE(th.mismatch.for_family("cnn") != nullptr);
    CHECK(th.mismatch.for_family("cnn")->gap == doctest::Approx(0.1));
    CHECK(th.mismatch.for_family("transformer") == th.mismatch.for_family("default"));
    CHECK_THROWS_WITH_AS(features::parse_thresholds("instability:\n  huge: 1\n", "th.yaml"),
                         doctest::Contains("th.yaml:2"), dynfault::ConfigError);
    CHECK_THROWS_AS(features::parse_thresholds("instability:\n  huge_loss: -1\n", "th.yaml"),
                    dynfault::ConfigError);
  }

  TEST_CASE("Labels: a mutator override wins over its category") {
    const auto tax = features::parse_taxonomies(
        "t:\n  classes: [a, b]\n  categories: {loss: a}\n  mutators: {odd_loss: b, quiet: \"\"}\n",
        "t.yaml");
    const auto& t = tax.get("t");
    CHECK(t.classify("loss_change", "loss") == "a");
    CHECK(t.classify("odd_loss", "loss") == "b");
    CHECK(t.classify("quiet", "loss").empty());
  }

  TEST_CASE("Labels: a clean run is detection 'clean' and excluded from fault typing") {
    const auto tax = repo_taxonomies();
    const auto t = stable_trace();
    CHECK(features::detection_label(t).value == "clean");
    for (const auto& x : tax.list) CHECK(features::fault_type_label(t, x).value.empty());
  }

  TEST_CASE("Labels: a single fault gets its class in every taxonomy") {
    const auto tax = repo_taxonomies();
    const auto t = faulty({{"lr_scale", "learning_rate"}});
    CHECK(features::detection_label(t).value == "faulty");
    CHECK(features::fault_type_label(t, tax.get("default4")).value == "learning_rate");
    CHECK(features::fault_type_label(t, tax.get("deepfd5")).value == "learning_rate");
    CHECK(features::fault_type_label(t, tax.get("default7")).value == "hyperparameter");
    const auto d =
        nlohmann::json::parse(features::fault_type_label(t, tax.get("default4")).details);
    CHECK(d["faults"][0]["mutator"] == "lr_scale");
  }

  TEST_CASE("Labels: a multi-fault run is typed only when all faults share one class") {
    const auto tax = repo_taxonomies();
    // learning rate + epochs: one class in default7 (hyperparameter), two in deepfd5, and
    // epochs is not applicable in default4.
    const auto t = faulty({{"lr_scale", "learning_rate"}, {"epochs_cut", "epochs"}});
    CHECK(features::fault_type_label(t, tax.get("default7")).value == "hyperparameter");
    CHECK(features::fault_type_label(t, tax.get("deepfd5")).value.empty());
    CHECK(features::fault_type_label(t, tax.get("default4")).value.empty());
    const auto mixed = faulty({{"loss_change", "loss"}, {"optimizer_change", "optimizer"}});
    for (const auto& x : tax.list) CHECK(features::fault_type_label(mixed, x).value.empty());
    const auto same = faulty({{"lr_scale", "learning_rate"}, {"lr_scale", "learning_rate"}});
    CHECK(features::fault_type_label(same, tax.get("default4")).value == "learning_rate");
  }

  TEST_CASE("Labels: a stable run is stable and consistent") {
    const auto th = repo_thresholds();
    const auto t = stable_trace();
    CHECK(features::instability_label(t, th.instability).value == "stable");
    const auto m = features::mismatch_label(t, th.mismatch);
    CHECK(m.value == "consistent");  // |0.84 - 0.80| = 0.04 <= 0.1
    const auto d = nlohmann::json::parse(m.details);
    CHECK(d["gap"].get<double>() == doctest::Approx(0.04));
    CHECK(d["threshold"].get<double>() == doctest::Approx(0.1));
  }

  TEST_CASE("Labels: a NaN run is diverged and has no mismatch label") {
    const auto th = repo_thresholds();
    auto t = faulty({{"lr_scale", "learning_rate"}});
    t.outcome = "nan_loss";
    put(t, "epoch/train_loss", {2.3, kNaN});
    put(t, "epoch/train_metric", {0.1, kNaN});
    put(t, "epoch/val_loss", {2.3, kNaN});
    put(t, "epoch/val_metric", {0.1, kNaN});
    const auto i = features::instability_label(t, th.instability);
    CHECK(i.value == "diverged");
    CHECK(nlohmann::json::parse(i.details)["nonfinite_loss"] == true);
    CHECK(features::mismatch_label(t, th.mismatch).value.empty());
  }

  TEST_CASE("Labels: divergence without NaN, by huge loss or by a final loss far above its best") {
    const auto th = repo_thresholds();
    auto huge = stable_trace();
    put(huge, "epoch/train_loss", {1.0, 3e5, 2e5, 1e5, 5e4, 4e4});
    CHECK(features::instability_label(huge, th.instability).value == "diverged");
    auto climb = stable_trace();
    put(climb, "epoch/train_loss", {2.0, 0.5, 1.0, 4.0, 9.0, 20.0});  // 20 > 10 x 0.5 and > 2
    CHECK(features::instability_label(climb, th.instability).value == "diverged");
  }

  // Accuracy {.5,.7,.5,.7,.5,.7}: maxima {.7,.7}, minima {.5,.5} -> 2 pairs of 0.2 >= 0.03;
  // 2 >= 0.2 x 6 = 1.2 -> oscillating (AUTOTRAINER's ol_judge).
  TEST_CASE("Labels: a zig-zag accuracy curve is oscillating") {
    const auto th = repo_thresholds();
    auto t = stable_trace();
    put(t, "epoch/train_metric", {0.5, 0.7, 0.5, 0.7, 0.5, 0.7});
    const auto l = features::instability_label(t, th.instability);
    CHECK(l.value == "oscillating");
    CHECK(nlohmann::json::parse(l.details)["acc_oscillation_pairs"] == 2);
    // Loss rising by > 10 % in 2 of 5 transitions (share 0.4 >= 0.2), accuracy smooth.
    auto lossy = stable_trace();
    put(lossy, "epoch/train_loss", {1.0, 0.8, 1.0, 0.7, 0.9, 0.6});
    CHECK(features::instability_label(lossy, th.instability).value == "oscillating");
  }

  TEST_CASE("Labels: a crashed or exception run has no instability label") {
    auto t = stable_trace();
    t.outcome = "exception";
    CHECK(features::instability_label(t, repo_thresholds().instability).value.empty());
    CHECK(features::instability_label(testing::base_trace("e"), repo_thresholds().instability)
              .value.empty());
  }

  TEST_CASE("Labels: mismatch uses the family threshold and the high-metric threshold") {
    const auto th = repo_thresholds();
    auto t = stable_trace();
    put(t, "epoch/train_metric", {0.5, 0.95});
    put(t, "epoch/val_metric", {0.5, 0.87});  // gap 0.08 > 0.07 (train metric > 0.9)
    CHECK(features::mismatch_label(t, th.mismatch).value == "mismatch");
    put(t, "epoch/train_metric", {0.5, 0.80});
    put(t, "epoch/val_metric", {0.5, 0.72});  // gap 0.08 <= 0.1 (train metric <= 0.9)
    CHECK(features::mismatch_label(t, th.mismatch).value == "consistent");
    put(t, "epoch/val_metric", {0.5, 0.95});  // |0.80 - 0.95| = 0.15: absolute gap
    CHECK(features::mismatch_label(t, th.mismatch).value == "mismatch");
    features::MismatchThresholds none;
    CHECK(features::mismatch_label(t, none).value.empty());  // no threshold for the family
  }

  TEST_CASE("Labels: derive_trace_labels covers every task in order") {
    const auto labels =
        features::derive_trace_labels(stable_trace(), repo_taxonomies(), repo_thresholds());
    std::vector<std::string> tasks;
    for (const auto& kv : labels) tasks.push_back(kv.first);
    CHECK(tasks == std::vector<std::string>{"fault_type/deepfd5", "fault_type/default4",
                                            "fault_type/default7", "detection", "instability",
                                            "mismatch"});
  }
}
