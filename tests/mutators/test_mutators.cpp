// Contract tests of the fault-operator catalogue as a whole: the registry matches
// configs/mutators.yaml, every operator is documented and categorised, no applicable operator is
// a silent no-op, parameters are validated, operators compose, and an operator defined in a test
// file registers like any other. Per-operator tests live in the test_<category>.cpp files.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "mutators/mutator_util.h"
#include "programs/registry.h"
#include "tests/mutators/fixtures.h"

using namespace dynfault;
using namespace dynfault::test;

namespace {

/// An operator that exists only in this test file: it shows that a new fault type needs no
/// edit outside its own source (its class, its registration, its YAML entry and its test).
/// tests/runner/test_custom_operator.cpp takes the next steps with its own test-only operator:
/// planned from a campaign file and run by a `dynfault worker` into a stored trace.
class ExampleEpochsDouble final : public mutators::Mutator {
 public:
  std::string id() const override { return "example_epochs_double"; }
  std::string category() const override { return "hyperparameter"; }
  std::string description() const override { return "Multiplies the epochs by `times`."; }
  std::string symptom() const override { return "longer training, overfitting"; }
  std::vector<mutators::ParamSpec> params() const override {
    return {mutators::integer_param("times", 2, 2, 10, "the multiplier")};
  }
  std::string not_applicable(const Recipe& r, const Json&) const override {
    return r.epochs > 0 ? "" : "the program trains for no epoch";
  }
  Recipe mutate(Recipe r, const Json& p) const override {
    const int64_t before = r.epochs;
    r.epochs *= p.at("times").get<int64_t>();
    mutators::record_fault(r, *this, p,
                           "epochs: " + std::to_string(before) + " -> " + std::to_string(r.epochs));
    return r;
  }
};

}  // namespace
DYNFAULT_REGISTER(::dynfault::mutators::mutator_registry(), "example_epochs_double",
                  std::make_shared<ExampleEpochsDouble>());

namespace {

/// The catalogue proper: the registry without the operators defined in tests.
std::vector<std::string> catalogue_ids() {
  std::vector<std::string> ids;
  for (const auto& id : mutators::mutator_ids())
    if (kTestOnlyIds.count(id) == 0) ids.push_back(id);
  return ids;
}

/// The test recipes and every registered program.
std::vector<Recipe> all_fixtures() {
  std::vector<Recipe> all = {classifier(), softmax_classifier(), regressor(), cnn(), resnet()};
  for (const auto& id : programs::program_ids()) all.push_back(programs::program(id));
  return all;
}

}  // namespace

TEST_SUITE("mutators") {
  TEST_CASE("The registry holds exactly the operators listed in configs/mutators.yaml") {
    const YAML::Node doc =
        YAML::LoadFile(std::string(DYNFAULT_SOURCE_DIR) + "/configs/mutators.yaml");
    std::vector<std::string> yaml_ids;
    for (const auto& kv : doc) {
      const std::string id = kv.first.Scalar();
      CAPTURE(id);
      yaml_ids.push_back(id);
      REQUIRE(mutators::has_mutator(id));
      const auto& m = mutators::mutator(id);
      CHECK(kv.second["category"].Scalar() == m.category());
      // The YAML documents every parameter, with the schema's default.
      const Json defaults = mutators::validate_params(m, Json::object());
      CHECK(kv.second["params"].size() == defaults.size());
      for (const auto& p : kv.second["params"]) {
        const std::string name = p.first.Scalar();
        CAPTURE(name);
        REQUIRE(defaults.contains(name));
        if (defaults[name].is_string()) {
          CHECK(defaults[name] == p.second.Scalar());
        } else if (defaults[name].is_boolean()) {
          CHECK(defaults[name].get<bool>() == p.second.as<bool>());
        } else {
          CHECK(defaults[name].get<double>() == doctest::Approx(p.second.as<double>()));
        }
      }
    }
    CHECK(std::is_sorted(yaml_ids.begin(), yaml_ids.end()));
    CHECK(yaml_ids == catalogue_ids());
  }

  TEST_CASE("Every operator is documented, categorised, and the catalogue is broad enough") {
    std::map<std::string, int> per_category;
    for (const auto& id : mutators::mutator_ids()) {
      CAPTURE(id);
      const auto& m = mutators::mutator(id);
      CHECK(m.id() == id);
      CHECK_FALSE(m.description().empty());
      CHECK(m.description().back() == '.');  // one sentence
      CHECK_FALSE(m.symptom().empty());
      CHECK(kCategories.count(m.category()) == 1);
      for (const auto& p : m.params()) CHECK_FALSE(p.doc.empty());
      // Defaults are valid parameters.
      CHECK_NOTHROW(mutators::validate_params(m, Json::object()));
      if (kTestOnlyIds.count(id) == 0) ++per_category[m.category()];
    }
    const auto ids = catalogue_ids();
    CHECK(ids.size() >= 40);
    CHECK(per_category.size() >= 8);
    MESSAGE(ids.size(), " operators in ", per_category.size(), " categories");
  }

  TEST_CASE("An applicable operator always changes the recipe, and the mutant round-trips") {
    // Over every fixture and every operator with default parameters: an operator that says it
    // applies must change something besides the fault record, and say so in the record.
    int applied = 0, refused = 0;
    for (const auto& id : mutators::mutator_ids()) {
      for (const auto& r : all_fixtures()) {
        CAPTURE(id);
        CAPTURE(r.program);
        const std::string why = refusal(id, r);
        if (!why.empty()) {
          ++refused;
          continue;
        }
        ++applied;
        const Recipe after = apply(id, r);
        Json a = r.to_json(), b = after.to_json();
        a.erase("faults");
        b.erase("faults");
        CHECK(a != b);
        REQUIRE(after.faults.size() == 1);
        CHECK_FALSE(after.faults[0].change.empty());
        CHECK(Recipe::from_json(after.to_json()) == after);
      }
    }
    CHECK(applied > 0);
    CHECK(refused > 0);
    MESSAGE(applied, " (operator, recipe) pairs applied, ", refused, " refused");
  }

  TEST_CASE("A refusal is a sentence naming the reason, never empty for a no-op") {
    // Applying an operator twice with the same parameters is a no-op for every "set" operator:
    // the second application must either change something or refuse with a reason.
    for (const auto& id : mutators::mutator_ids()) {
      for (const auto& r : all_fixtures()) {
        CAPTURE(id);
        CAPTURE(r.program);
        if (!refusal(id, r).empty()) continue;
        const Recipe once = apply(id, r);
        const std::string why = refusal(id, once);
        if (!why.empty()) {
          CHECK_THROWS_AS(apply(id, once), Error);
          continue;
        }
        Json a = once.to_json(), b = apply(id, once).to_json();
        a.erase("faults");
        b.erase("faults");
        CHECK(a != b);
      }
    }
  }

  TEST_CASE("Parameters are validated: range, type, choices, unknown names") {
    const auto& m = mutators::mutator("lr_scale");
    CHECK_THROWS_AS(mutators::validate_params(m, {{"factor", -1.0}}), ConfigError);
    CHECK_THROWS_AS(mutators::validate_params(m, {{"factor", "big"}}), ConfigError);
    try {
      mutators::validate_params(m, {{"factr", 2.0}});
      FAIL("unknown parameter accepted");
    } catch (const ConfigError& e) {
      CHECK(e.key() == "factr");
    }
    CHECK_THROWS_AS(params_for("optimizer_change", {{"to", "lamb"}}), ConfigError);
    CHECK_THROWS_AS(params_for("units_change", {{"units", 2.5}}), ConfigError);
    CHECK_THROWS_AS(params_for("units_change", {{"units", 0}}), ConfigError);
    CHECK_THROWS_AS(params_for("units_change", {{"index", -2}}), ConfigError);
    CHECK_THROWS_AS(params_for("data_delete", {{"share", 1.0}}), ConfigError);
    CHECK_THROWS_AS(params_for("optimizer_momentum_set", {{"nesterov", 1}}), ConfigError);
    CHECK(params_for("units_change", {{"units", 4.0}})["units"].is_number_integer());
  }

  TEST_CASE("An operator defined only in a test file is registered, validated and applicable") {
    const auto ids = mutators::mutator_ids();
    CHECK(std::find(ids.begin(), ids.end(), "example_epochs_double") != ids.end());
    const auto& m = mutators::mutator("example_epochs_double");
    CHECK(m.category() == "hyperparameter");
    CHECK(mutators::validate_params(m, Json::object()) == Json{{"times", 2}});
    CHECK_THROWS_AS(mutators::validate_params(m, {{"times", 11}}), ConfigError);
    Recipe before = classifier();
    before.epochs = 3;
    CHECK(m.not_applicable(before, {{"times", 3}}).empty());
    const Recipe after = m.apply(before, {{"times", 3}});
    CHECK(after.epochs == 9);
    REQUIRE(after.faults.size() == 1);
    CHECK(after.faults[0].change == "epochs: 3 -> 9");
    before.epochs = 0;
    CHECK_THROWS_AS(m.apply(before, {{"times", 3}}), Error);
  }

  TEST_CASE("Mutators compose and keep every fault record in order") {
    Recipe r = apply("lr_scale", classifier(), {{"factor", 10.0}});
    r = apply("optimizer_change", r, {{"to", "rmsprop"}});
    r = apply("units_change", r, {{"units", 4}, {"index", 0}});
    REQUIRE(r.faults.size() == 3);
    CHECK(r.faults[0].mutator == "lr_scale");
    CHECK(r.faults[1].mutator == "optimizer_change");
    CHECK(r.faults[2].mutator == "units_change");
    CHECK(r.optimizer.lr == doctest::Approx(1e-2));
    CHECK(r.optimizer.name == "rmsprop");
    CHECK(r.layers[0].out == 4);
    CHECK(Recipe::from_json(r.to_json()) == r);
  }

  TEST_CASE("A non-layer-list model is refused by layer operators with the builder's name") {
    Recipe r = classifier();
    r.builder = "vae";
    for (const char* id : {"units_change", "activation_remove", "layer_insert", "bias_remove",
                           "softmax_double", "activation_change"}) {
      CAPTURE(id);
      check_refused(id, r, Json::object(), "built by 'vae'");
    }
    // Recipe-level operators still apply: the custom builder reads init from the Recipe.
    CHECK(refusal("weights_init", r).empty());
  }
}
