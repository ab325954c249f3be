// Contract tests for the fault operators: each shows its documented change on a Recipe, refuses
// clearly where it does not apply, and the registry matches configs/mutators.yaml.
#include <doctest/doctest.h>
#include <algorithm>
#include <yaml-cpp/yaml.h>

#include "common/check.h"
#include "mutators/mutator.h"

using namespace dynfault;
using mutators::Json;
using programs::Recipe;

namespace {

/// A small classifier with two hidden ReLU layers, Adam 1e-3 and cross-entropy.
Recipe classifier() {
  Recipe r;
  r.program = "toy";
  r.task = "multiclass";
  r.layers = {programs::Linear(8), programs::Act("relu"), programs::Linear(8),
              programs::Act("relu"), programs::Linear(3)};
  r.optimizer.name = "adam";
  r.optimizer.lr = 1e-3;
  r.optimizer.weight_decay = 1e-4;
  r.loss = "cross_entropy";
  return r;
}

Recipe regressor() {
  Recipe r;
  r.program = "toy_reg";
  r.task = "regression";
  r.family = "rnn";
  r.layers = {programs::Rnn("lstm", 16), programs::Linear(1)};
  r.loss = "mse";
  return r;
}

/// Everything but the fields named in `changed` must be equal (compared through JSON).
void check_only_changed(const Recipe& before, const Recipe& after,
                        const std::vector<std::string>& changed) {
  Json a = before.to_json(), b = after.to_json();
  for (const auto& k : changed) {
    a.erase(k);
    b.erase(k);
  }
  a.erase("faults");
  b.erase("faults");
  CHECK(a == b);
}

}  // namespace

TEST_SUITE("mutators") {
  TEST_CASE("The registry holds exactly the operators listed in configs/mutators.yaml") {
    const YAML::Node doc = YAML::LoadFile(std::string(DYNFAULT_SOURCE_DIR) + "/configs/mutators.yaml");
    std::vector<std::string> yaml_ids;
    for (const auto& kv : doc) {
      yaml_ids.push_back(kv.first.Scalar());
      REQUIRE(mutators::has_mutator(kv.first.Scalar()));
      CHECK(kv.second["category"].Scalar() == mutators::mutator(kv.first.Scalar()).category());
      // The defaults documented in the YAML are the schema's defaults.
      const Json defaults = mutators::validate_params(mutators::mutator(kv.first.Scalar()), Json::object());
      for (const auto& p : kv.second["params"]) {
        const std::string name = p.first.Scalar();
        REQUIRE(defaults.contains(name));
        if (defaults[name].is_string()) CHECK(defaults[name] == p.second.Scalar());
        else CHECK(defaults[name].get<double>() == doctest::Approx(p.second.as<double>()));
      }
    }
    std::sort(yaml_ids.begin(), yaml_ids.end());
    CHECK(yaml_ids == mutators::mutator_ids());
  }

  TEST_CASE("Every operator has a description, a symptom and a known category") {
    for (const auto& id : mutators::mutator_ids()) {
      const auto& m = mutators::mutator(id);
      CHECK(m.id() == id);
      CHECK_FALSE(m.description().empty());
      CHECK_FALSE(m.symptom().empty());
      CHECK_FALSE(m.category().empty());
    }
  }

  TEST_CASE("lr_scale multiplies the learning rate and records the change") {
    const auto& m = mutators::mutator("lr_scale");
    const Recipe before = classifier();
    const Recipe after = m.apply(before, mutators::validate_params(m, {{"factor", 100.0}}));
    CHECK(after.optimizer.lr == doctest::Approx(0.1));
    REQUIRE(after.faults.size() == 1);
    CHECK(after.faults[0].mutator == "lr_scale");
    CHECK(after.faults[0].category == "learning_rate");
    CHECK(after.faults[0].params["factor"] == 100.0);
    CHECK(after.faults[0].change.find("0.001") != std::string::npos);
    Recipe expected = before;
    expected.optimizer.lr = after.optimizer.lr;
    check_only_changed(expected, after, {});
    // Factor 1 is a no-op, so it is refused rather than planned as a fault.
    CHECK_FALSE(m.not_applicable(before, {{"factor", 1.0}}).empty());
    CHECK_THROWS_AS(m.apply(before, {{"factor", 1.0}}), Error);
  }

  TEST_CASE("lr_scale rejects out-of-range, mistyped and unknown parameters") {
    const auto& m = mutators::mutator("lr_scale");
    CHECK_THROWS_AS(mutators::validate_params(m, {{"factor", -1.0}}), ConfigError);
    CHECK_THROWS_AS(mutators::validate_params(m, {{"factor", "big"}}), ConfigError);
    try {
      mutators::validate_params(m, {{"factr", 2.0}});
      FAIL("unknown parameter accepted");
    } catch (const ConfigError& e) {
      CHECK(e.key() == "factr");
    }
  }

  TEST_CASE("optimizer_change swaps the optimizer, keeps lr and weight decay, resets the rest") {
    const auto& m = mutators::mutator("optimizer_change");
    Recipe before = classifier();
    before.optimizer.beta1 = 0.5;
    const Recipe after = m.apply(before, mutators::validate_params(m, {{"to", "sgd"}}));
    CHECK(after.optimizer.name == "sgd");
    CHECK(after.optimizer.lr == before.optimizer.lr);
    CHECK(after.optimizer.weight_decay == before.optimizer.weight_decay);
    CHECK(after.optimizer.beta1 == 0.9);
    check_only_changed(before, after, {"optimizer"});
    CHECK_FALSE(m.not_applicable(before, {{"to", "adam"}}).empty());
    CHECK_THROWS_AS(m.apply(before, {{"to", "adam"}}), Error);
    CHECK_THROWS_AS(mutators::validate_params(m, {{"to", "lamb"}}), ConfigError);
  }

  TEST_CASE("loss_change swaps the loss and refuses class losses on regression programs") {
    const auto& m = mutators::mutator("loss_change");
    const Recipe before = classifier();
    const Recipe after = m.apply(before, mutators::validate_params(m, {{"to", "mse"}}));
    CHECK(after.loss == "mse");
    check_only_changed(before, after, {"loss"});
    const Recipe reg = regressor();
    const std::string why = m.not_applicable(reg, {{"to", "cross_entropy"}});
    CHECK(why.find("regression") != std::string::npos);
    CHECK(m.not_applicable(reg, {{"to", "mae"}}).empty());
    CHECK_FALSE(m.not_applicable(reg, {{"to", "mse"}}).empty());  // already mse
  }

  TEST_CASE("activation_change replaces every hidden activation, or sets the output one") {
    const auto& m = mutators::mutator("activation_change");
    const Recipe before = classifier();
    const Recipe hidden =
        m.apply(before, mutators::validate_params(m, {{"to", "tanh"}, {"where", "hidden"}}));
    CHECK(hidden.layers[1].act == "tanh");
    CHECK(hidden.layers[3].act == "tanh");
    CHECK(hidden.layers.size() == before.layers.size());
    check_only_changed(before, hidden, {"layers"});
    const Recipe last =
        m.apply(before, mutators::validate_params(m, {{"to", "relu"}, {"where", "last"}}));
    REQUIRE(last.layers.size() == before.layers.size() + 1);
    CHECK(last.layers.back().type == "act");
    CHECK(last.layers.back().act == "relu");
    // A model without hidden activations gives a reason, not a silent no-op.
    const std::string why = m.not_applicable(regressor(), {{"to", "tanh"}, {"where", "hidden"}});
    CHECK(why.find("no hidden activation") != std::string::npos);
  }

  TEST_CASE("Mutators compose and keep every fault record in order") {
    const auto& lr = mutators::mutator("lr_scale");
    const auto& opt = mutators::mutator("optimizer_change");
    Recipe r = lr.apply(classifier(), mutators::validate_params(lr, {{"factor", 10.0}}));
    r = opt.apply(r, mutators::validate_params(opt, {{"to", "rmsprop"}}));
    REQUIRE(r.faults.size() == 2);
    CHECK(r.faults[0].mutator == "lr_scale");
    CHECK(r.faults[1].mutator == "optimizer_change");
    CHECK(r.optimizer.lr == doctest::Approx(1e-2));
    CHECK(r.optimizer.name == "rmsprop");
    CHECK(Recipe::from_json(r.to_json()) == r);
  }
}
