// The planner: campaign files parse strictly, expand deterministically, and bad input names file,
// line, key and value.
#include <doctest/doctest.h>

#include <set>

#include "common/check.h"
#include "runner/campaign.h"

using namespace dynfault;

namespace {

runner::Campaign parse(const std::string& text) { return runner::parse_campaign(text, "t.yaml"); }

/// Parses `text` expecting a ConfigError; returns it for inspection.
ConfigError config_error(const std::string& text) {
  try {
    runner::plan_campaign(parse(text));
  } catch (const ConfigError& e) {
    return e;
  }
  FAIL("expected a ConfigError for:\n" << text);
  return ConfigError("unreachable");
}

const char* kSmall = R"(name: small
seed: 7
repetitions: 2
programs: [iris_mlp, fashion_mlp]
faults:
  - mutator: lr_scale
    params: {factor: [10, 0.001]}
  - mutator: optimizer_change
    params: {to: sgd}
)";

}  // namespace

TEST_SUITE("runner") {
  TEST_CASE("Planning expands programs x grid x repetitions, clean runs included") {
    const auto plan = runner::plan_campaign(parse(kSmall));
    // 2 programs x (1 clean + 2 lr + 1 optimizer) x 2 repetitions; a skipped (program, fault)
    // pair removes its 2 repetitions.
    CHECK(plan.runs.size() + plan.skipped.size() * 2 == 2 * 4 * 2);
    std::set<std::string> ids;
    for (const auto& r : plan.runs) {
      CHECK(r.run_uuid.size() == 32);
      CHECK(ids.insert(r.run_uuid).second);
      CHECK(r.campaign == "small");
      CHECK((r.repetition == 0 || r.repetition == 1));
    }
  }

  TEST_CASE("Planning twice gives the same run ids in the same order") {
    const auto a = runner::plan_campaign(parse(kSmall));
    const auto b = runner::plan_campaign(parse(kSmall));
    REQUIRE(a.runs.size() == b.runs.size());
    for (size_t i = 0; i < a.runs.size(); ++i) {
      CHECK(a.runs[i].run_uuid == b.runs[i].run_uuid);
      CHECK(a.runs[i].recipe_json == b.runs[i].recipe_json);
    }
  }

  TEST_CASE("Clean and mutant runs of one repetition share the seed; repetitions differ") {
    const auto plan = runner::plan_campaign(parse(kSmall));
    std::map<std::pair<std::string, int64_t>, std::set<int64_t>> seeds;
    for (const auto& r : plan.runs) seeds[{r.program, r.repetition}].insert(r.seed);
    for (const auto& [k, s] : seeds) CHECK(s.size() == 1);
    CHECK(runner::run_seed(7, "iris_mlp", 0) != runner::run_seed(7, "iris_mlp", 1));
  }

  TEST_CASE("Composed faults plan one multi-fault run with every record") {
    const auto plan = runner::plan_campaign(parse(R"(name: multi
clean: false
programs: [iris_mlp]
faults:
  - compose:
      - {mutator: lr_scale, params: {factor: 10}}
      - {mutator: loss_change, params: {to: mse}}
)"));
    REQUIRE(plan.runs.size() == 1);
    CHECK(plan.runs[0].fault_ids == "lr_scale+loss_change");
    const auto faults = programs::Json::parse(plan.runs[0].faults_json);
    REQUIRE(faults.size() == 2);
    CHECK(faults[0]["params"]["factor"] == 10.0);
    CHECK(faults[1]["params"]["to"] == "mse");
  }

  TEST_CASE("Overrides change the clean recipe and therefore the run ids") {
    const auto a = runner::plan_campaign(parse("name: a\nprograms: [iris_mlp]\n"));
    const auto b =
        runner::plan_campaign(parse("name: a\nprograms: [iris_mlp]\noverrides: {epochs: 1}\n"));
    REQUIRE(a.runs.size() == 1);
    REQUIRE(b.runs.size() == 1);
    CHECK(a.runs[0].run_uuid != b.runs[0].run_uuid);
    CHECK(programs::Json::parse(b.runs[0].recipe_json)["epochs"] == 1);
  }

  TEST_CASE("Bad campaign files name file, line, key and value") {
    SUBCASE("unknown key") {
      const auto e = config_error("name: x\nprograms: all\nrepetitons: 3\n");
      CHECK(e.file() == "t.yaml");
      CHECK(e.line() == 3);
      CHECK(e.key() == "repetitons");
    }
    SUBCASE("malformed YAML") {
      const auto e = config_error("name: x\nprograms: [iris_mlp\n");
      CHECK(std::string(e.what()).find("malformed YAML") != std::string::npos);
      CHECK(e.line() >= 2);
    }
    SUBCASE("unknown program") {
      const auto e = config_error("name: x\nprograms:\n  - iris_mlp\n  - resnet9000\n");
      CHECK(e.line() == 4);
      CHECK(e.value() == "resnet9000");
    }
    SUBCASE("unknown mutator") {
      const auto e = config_error("name: x\nprograms: all\nfaults:\n  - mutator: lr_nudge\n");
      CHECK(e.line() == 4);
      CHECK(e.value() == "lr_nudge");
      CHECK(e.key() == "faults[0].mutator");
    }
    SUBCASE("out-of-range parameter") {
      const auto e = config_error(
          "name: x\nprograms: all\nfaults:\n  - mutator: lr_scale\n    params:\n      factor: -3\n");
      CHECK(e.line() == 6);
      CHECK(e.key() == "faults[0].params.factor");
      CHECK(e.value() == "-3");
    }
    SUBCASE("wrong parameter type") {
      const auto e = config_error(
          "name: x\nprograms: all\nfaults:\n  - mutator: lr_scale\n    params: {factor: huge}\n");
      CHECK(e.key() == "faults[0].params.factor");
      CHECK(e.value() == "huge");
    }
    SUBCASE("out-of-range campaign value") {
      const auto e = config_error("name: x\nprograms: all\nrepetitions: 0\n");
      CHECK(e.key() == "repetitions");
      CHECK(e.line() == 3);
    }
    SUBCASE("an inapplicable operator on a named program") {
      const auto e = config_error(
          "name: x\nprograms: [lstm_sine]\nfaults:\n  - mutator: loss_change\n"
          "    params: {to: cross_entropy}\n    programs: [lstm_sine]\n");
      CHECK(e.line() == 4);
      CHECK(std::string(e.what()).find("regression") != std::string::npos);
    }
  }
}
