// Diagnoser options: declared once per diagnoser, read strictly from configs/diagnosers.yaml,
// applied by the evaluation and recorded with its rows; the shipped file restates the defaults,
// so evaluating with it stores exactly what evaluating without it stores.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "diagnosis/diagnoser.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/knn.h"
#include "diagnosis/logistic_regression.h"
#include "tests/diagnosis/corpus_fixture.h"

using namespace dynfault;
using namespace dynfault::diagnosis;

namespace {

const std::string kShipped = testing::kSourceDir + "/configs/diagnosers.yaml";

// The ConfigError of parsing `text` as the file "d.yaml" (fails the test when none is thrown).
ConfigError config_error(const std::string& text) {
  try {
    parse_diagnoser_config(text, "d.yaml");
  } catch (const ConfigError& e) {
    return e;
  }
  FAIL("no ConfigError for: " << text);
  return ConfigError("unreachable");
}

EvaluateOptions small(EvaluateOptions o) {
  return o.taxonomies_path(testing::kSourceDir + "/configs/taxonomies.yaml")
      .thresholds_path(testing::kSourceDir + "/configs/thresholds.yaml")
      .feature_sets({"curves"})
      .diagnosers({"decision_tree", "gradient_boosting", "knn", "logistic_regression", "mlp",
                   "random_forest"})
      .bootstrap(30)
      .identity_diagnoser("random_forest")
      .paired(false)
      .evaluation_id("e");
}

// Everything stored for an evaluation, by row, except its id.
std::vector<std::string> stored(db::Store& store) {
  std::vector<std::string> out;
  for (const auto& r : store.evaluation("e")) {
    std::ostringstream os;
    os.precision(17);
    os << r.task << '|' << r.protocol << '|' << r.diagnoser << '|' << r.feature_set << '|'
       << r.metric << '|' << r.value << '|' << r.ci_low << '|' << r.ci_high << '|' << r.n << '|'
       << r.details;
    out.push_back(os.str());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The recorded options of `diagnoser`'s balanced-accuracy row on the random rung.
nlohmann::json recorded_options(db::Store& store, const std::string& diagnoser) {
  for (const auto& r : store.evaluation("e"))
    if (r.diagnoser == diagnoser && r.protocol == "random" && r.metric == "balanced_accuracy")
      return nlohmann::json::parse(r.details).at("diagnoser_options");
  return nullptr;
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("The shipped diagnosers.yaml lists every diagnoser's options at their defaults") {
    const DiagnoserConfigFile file = load_diagnoser_config(kShipped);
    REQUIRE(file.learner_seeds.has_value());
    REQUIRE(file.bins.has_value());
    CHECK(*file.learner_seeds == EvaluateOptions().learner_seeds());
    CHECK(*file.bins == EvaluateOptions().max_bins());
    for (const auto& name : diagnoser_names()) {
      if (name.rfind("example_", 0) == 0) continue;  // defined in test files
      CAPTURE(name);
      REQUIRE(file.diagnosers.count(name) == 1);
      const OptionValues& listed = file.diagnosers.at(name);
      CHECK(listed.size() == diagnoser_options(name).size());
      for (const auto& spec : diagnoser_options(name)) {
        CAPTURE(spec.name);
        REQUIRE(listed.count(spec.name) == 1);
        CHECK(option_text(listed.at(spec.name)) == option_text(spec.default_value));
        CHECK(option_problem(spec, spec.default_value).empty());
        CHECK_FALSE(spec.help.empty());
      }
    }
  }

  TEST_CASE("A diagnoser config is strict: file, line, key and value of the first bad entry") {
    auto e = config_error("bins: 255\nlearner_sed: 2\n");
    CHECK(e.file() == "d.yaml");
    CHECK(e.line() == 2);
    CHECK(e.key() == "learner_sed");

    e = config_error("diagnosers:\n  knn:\n    k: 3\n  random_forrest:\n    trees: 5\n");
    CHECK(e.line() == 4);
    CHECK(std::string(e.what()).find("did you mean 'random_forest'") != std::string::npos);

    e = config_error("diagnosers:\n  knn:\n    kk: 3\n");
    CHECK(e.line() == 3);
    CHECK(e.key() == "knn.kk");
    CHECK(std::string(e.what()).find("'k'") != std::string::npos);

    e = config_error("diagnosers:\n  knn:\n    k: 2.5\n");
    CHECK(e.line() == 3);
    CHECK(e.key() == "knn.k");
    CHECK(e.value() == "2.5");
    CHECK(std::string(e.what()).find("integer") != std::string::npos);

    e = config_error("diagnosers:\n  knn:\n    k: 0\n");
    CHECK(e.value() == "0");
    CHECK(std::string(e.what()).find("[1, 1000000]") != std::string::npos);

    e = config_error("diagnosers:\n  knn:\n    scaling: robust\n");
    CHECK(e.value() == "robust");
    CHECK(std::string(e.what()).find("standard, minmax") != std::string::npos);

    e = config_error("diagnosers:\n  logistic_regression:\n    c: lots\n");
    CHECK(e.key() == "logistic_regression.c");
    CHECK(e.value() == "lots");

    e = config_error("bins: 256\n");
    CHECK(e.key() == "bins");
    e = config_error("learner_seeds: 0\n");
    CHECK(e.key() == "learner_seeds");
    e = config_error("diagnosers:\n  deepfd:\n    k: 3\n");
    CHECK(std::string(e.what()).find("declares no options") != std::string::npos);

    CHECK_THROWS_AS(load_diagnoser_config("/nonexistent/diagnosers.yaml"), ConfigError);
  }

  TEST_CASE("Options reach the diagnoser: set values are used, the rest keep their defaults") {
    const auto lr = make_diagnoser("logistic_regression",
                                   DiagnoserConfig{{"logistic_regression", {{"c", 0.25}}}});
    const auto& opts = dynamic_cast<const LogisticRegression&>(*lr).options();
    CHECK(opts.c() == 0.25);
    CHECK(opts.max_iter() == LogisticRegressionOptions().max_iter());

    // kNN with k = every training row predicts the class shares for any input; with k = 1 a
    // training row is its own nearest neighbour.
    Matrix x(6, 1);
    for (size_t i = 0; i < 6; ++i) x(i, 0) = static_cast<double>(i);
    const Labels y = {"a", "a", "a", "a", "b", "b"};
    auto k1 = make_diagnoser("knn", {{"knn", {{"k", 1.0}}}});
    auto k6 = make_diagnoser("knn", {{"knn", {{"k", 6.0}}}});
    k1->fit(x, y);
    k6->fit(x, y);
    CHECK(k1->predict(x) == y);
    const Matrix p = k6->predict_proba(x);
    for (size_t i = 0; i < 6; ++i) CHECK(p(i, 1) == doctest::Approx(2.0 / 6.0));

    // A value checked in code as in a file; an option another diagnoser declares is unknown here.
    CHECK_THROWS_WITH_AS(make_diagnoser("knn", {{"knn", {{"k", 0.0}}}}), doctest::Contains("knn"),
                         Error);
    CHECK_THROWS_AS(make_diagnoser("knn", {{"knn", {{"trees", 3.0}}}}), Error);
    CHECK(options_json("autotrainer_rules", {}) == "{}");
    CHECK(nlohmann::json::parse(options_json("default_rf", {})).at("trees") == 100);
    CHECK(nlohmann::json::parse(options_json("random_forest", {})).at("trees") == 50);
  }

  TEST_CASE("Evaluating with the shipped file stores exactly what the defaults store") {
    const DiagnoserConfigFile file = load_diagnoser_config(kShipped);
    db::Store without = testing::corpus(/*programs=*/4, /*per=*/10);
    evaluate(without, small(EvaluateOptions()));
    db::Store with = testing::corpus(/*programs=*/4, /*per=*/10);
    evaluate(with, small(EvaluateOptions()
                             .diagnoser_config(file.diagnosers)
                             .learner_seeds(*file.learner_seeds)
                             .max_bins(*file.bins)));
    const auto a = stored(without), b = stored(with);
    REQUIRE(!a.empty());
    CHECK(a == b);
    const auto rf = recorded_options(with, "random_forest");
    CHECK(rf.at("trees") == 50);
    CHECK(rf.at("max_depth") == 12);
    CHECK(recorded_options(with, "knn").at("scaling") == "standard");

    // An edited value is used and recorded: the same comparison then differs.
    DiagnoserConfig edited = file.diagnosers;
    edited["random_forest"]["trees"] = 2.0;
    edited["knn"]["k"] = 1.0;
    db::Store changed = testing::corpus(/*programs=*/4, /*per=*/10);
    evaluate(changed, small(EvaluateOptions().diagnoser_config(edited)));
    CHECK(stored(changed) != a);
    CHECK(recorded_options(changed, "random_forest").at("trees") == 2);
    CHECK(recorded_options(changed, "knn").at("k") == 1);
  }

  TEST_CASE("A bad option stops the evaluation before anything is stored") {
    db::Store store = testing::corpus(/*programs=*/3, /*per=*/6);
    CHECK_THROWS_WITH_AS(
        evaluate(store, small(EvaluateOptions().diagnoser_config({{"mlp", {{"hidden", -1.0}}}}))),
        doctest::Contains("hidden"), Error);
    CHECK(store.evaluation("e").empty());
  }
}
