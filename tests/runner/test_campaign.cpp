// The planner: campaign files parse strictly, expand deterministically, and bad input names file,
// line, key and value.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "common/check.h"
#include "mutators/mutator.h"
#include "programs/registry.h"
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

const std::string kConfigs = std::string(DYNFAULT_SOURCE_DIR) + "/configs";

/// The class of a single-fault run under taxonomy `taxonomy` of configs/taxonomies.yaml
/// ("clean" for a clean run, "" for a fault the taxonomy leaves out).
std::string fault_class(const YAML::Node& taxonomy, const db::RunSpec& run) {
  if (run.fault_ids.empty()) return "clean";
  REQUIRE(run.fault_ids.find('+') == std::string::npos);
  if (taxonomy["mutators"] && taxonomy["mutators"][run.fault_ids])
    return taxonomy["mutators"][run.fault_ids].as<std::string>();
  const std::string category = mutators::mutator(run.fault_ids).category();
  return taxonomy["categories"][category] ? taxonomy["categories"][category].as<std::string>() : "";
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

TEST_SUITE("campaign") {
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
          "name: x\nprograms: all\nfaults:\n  - mutator: lr_scale\n    params:\n      factor: "
          "-3\n");
      CHECK(e.line() == 6);
      CHECK(e.key() == "faults[0].params.factor");
      CHECK(e.value() == "-3");
    }
    SUBCASE("wrong parameter type") {
      const auto e = config_error(
          "name: x\nprograms: all\nfaults:\n  - mutator: lr_scale\n    params: {factor: huge}\n");
      CHECK(e.file() == "t.yaml");
      CHECK(e.line() == 5);
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
      CHECK(e.value() == "lstm_sine");
      CHECK(std::string(e.what()).find("regression") != std::string::npos);
    }
    SUBCASE("clean_repetitions out of range") {
      const auto e = config_error("name: x\nprograms: all\nclean_repetitions: 0\n");
      CHECK(e.key() == "clean_repetitions");
      CHECK(e.line() == 3);
    }
  }

  TEST_CASE("A grid is bounded before it is expanded: names first, then its size") {
    // 12 misspelt keys of 10 values each: 10^12 grid points if expanded first (this ran out of
    // memory); the first unknown key is named at once.
    std::string text =
        "name: g\nprograms: [iris_mlp]\nfaults:\n  - mutator: lr_scale\n"
        "    params:\n";
    for (int k = 0; k < 12; ++k)
      text += "      fact" + std::to_string(k) + ": [1,2,3,4,5,6,7,8,9,10]\n";
    const auto unknown = config_error(text);
    CHECK(unknown.line() == 6);
    CHECK(unknown.key() == "faults[0].params.fact0");
    CHECK(std::string(unknown.what()).find("unknown parameter of mutator 'lr_scale'") !=
          std::string::npos);
    // Known keys, too many points: refused by its size, before any point is made.
    const auto big = config_error(
        "name: g\nprograms: [iris_mlp]\nmax_runs: 50\nfaults:\n  - mutator: lr_scale\n"
        "    params: {factor: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
        "19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, "
        "40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51]}\n");
    CHECK(big.line() == 6);
    CHECK(std::string(big.what()).find("more than max_runs = 50") != std::string::npos);
    // A composition multiplies its steps' grids: checked before the product is built.
    const auto composed = config_error(
        "name: g\nprograms: [iris_mlp]\nmax_runs: 20\nfaults:\n  - compose:\n"
        "      - {mutator: lr_scale, params: {factor: [2, 3, 4, 5, 6]}}\n"
        "      - {mutator: epochs_reduce, params: {divisor: [2, 3, 4, 5, 6]}}\n");
    CHECK(composed.key() == "faults[0].compose[1]");
    CHECK(std::string(composed.what()).find("more than max_runs = 20") != std::string::npos);
    // Programs x grid x repetitions over the whole campaign, counted before planning.
    const auto total = config_error(
        "name: g\nprograms: [iris_mlp, wine_logreg]\nrepetitions: 5\nmax_runs: 39\n"
        "faults:\n  - mutator: lr_scale\n    params: {factor: [2, 3, 4]}\n");
    CHECK(total.key() == "faults[0]");
    CHECK(std::string(total.what()).find("would plan more than max_runs = 39 runs") !=
          std::string::npos);
    // At the cap it plans: 2 programs x (1 clean + 3 faults) x 5 repetitions.
    CHECK(runner::plan_campaign(parse("name: g\nprograms: [iris_mlp, wine_logreg]\n"
                                      "repetitions: 5\nmax_runs: 40\nfaults:\n"
                                      "  - mutator: lr_scale\n    params: {factor: [2, 3, 4]}\n"))
              .runs.size() == 40);
    CHECK(config_error("name: g\nprograms: all\nmax_runs: 0\n").key() == "max_runs");
  }

  TEST_CASE("An empty name, a duplicate key or a second document is an error, not a surprise") {
    CHECK(config_error("name:\nprograms: [iris_mlp]\n").line() == 1);
    CHECK(config_error("name:\nprograms: [iris_mlp]\n").key() == "name");
    const auto twice =
        config_error("name: a\nprograms: [iris_mlp]\nrepetitions: 2\nrepetitions: 3\n");
    CHECK(twice.line() == 4);
    CHECK(twice.key() == "repetitions");
    CHECK(config_error("name: a\nprograms: [iris_mlp]\n---\nname: b\n").line() == 3);
    CHECK(config_error(std::string("name: ok\0evil\nprograms: [iris_mlp]\n", 35)).line() == 1);
    CHECK(config_error("name: caf\xe9\nprograms: [iris_mlp]\n").line() == 1);
  }

  TEST_CASE("clean_repetitions gives the clean runs their own seed count, paired with mutants") {
    const auto plan = runner::plan_campaign(parse(R"(name: c
repetitions: 2
clean_repetitions: 5
programs: [iris_mlp]
faults:
  - {mutator: lr_scale, params: {factor: 10}}
)"));
    std::map<std::string, std::set<int64_t>> reps;
    std::map<int64_t, int64_t> seed_of_clean;
    for (const auto& r : plan.runs) {
      reps[r.fault_ids].insert(r.repetition);
      if (r.fault_ids.empty()) seed_of_clean[r.repetition] = r.seed;
    }
    CHECK(reps[""] == std::set<int64_t>{0, 1, 2, 3, 4});
    CHECK(reps["lr_scale"] == std::set<int64_t>{0, 1});
    for (const auto& r : plan.runs)
      if (!r.fault_ids.empty()) CHECK(r.seed == seed_of_clean[r.repetition]);
    // Unset, it follows repetitions.
    CHECK(parse("name: c\nrepetitions: 3\nprograms: all\n").clean_repetitions == 3);
  }

  TEST_CASE("configs/dynfault.yaml plans the paper-scale corpus: 5,542 runs over 38 programs") {
    const auto campaign = runner::load_campaign(kConfigs + "/dynfault.yaml");
    const auto plan = runner::plan_campaign(campaign);
    const YAML::Node default4 = YAML::LoadFile(kConfigs + "/taxonomies.yaml")["default4"];
    REQUIRE(default4);

    CHECK(plan.runs.size() == 5542);
    std::set<std::string> ids;
    std::map<std::string, int64_t> per_program, per_class;
    for (const auto& r : plan.runs) {
      CHECK(ids.insert(r.run_uuid).second);  // every run id unique
      ++per_program[r.program];
      ++per_class[fault_class(default4, r)];
    }
    CHECK(per_program.size() == 38);
    CHECK(campaign.programs.size() == 38);

    // The counts the file's comments derive: 38 x 29 clean runs, and 224, 222, 221 and 221 fault
    // configurations (5 seeds each) in the four classes. No fault falls outside the taxonomy.
    CHECK(per_class.size() == 5);
    CHECK(per_class["clean"] == 1102);
    CHECK(per_class["learning_rate"] == 1120);
    CHECK(per_class["loss"] == 1110);
    CHECK(per_class["optimizer"] == 1105);
    CHECK(per_class["activation"] == 1105);
    // Balance, as a tolerance that survives small edits: every fault class and the clean runs
    // within 1% of the mean of the four fault classes.
    const double mean = (per_class["learning_rate"] + per_class["loss"] + per_class["optimizer"] +
                         per_class["activation"]) /
                        4.0;
    for (const auto& [cls, n] : per_class) {
      CAPTURE(cls);
      CHECK(std::abs(n - mean) <= 0.01 * mean);
    }
    // About 146 per program: 29 clean + 5 x (21 to 24 configurations).
    const auto [lo, hi] =
        std::minmax_element(per_program.begin(), per_program.end(),
                            [](const auto& a, const auto& b) { return a.second < b.second; });
    CHECK(lo->second == 134);
    CHECK(hi->second == 149);
    // The pairs the comments name as skipped: 4 lr_set, 6 mse, 3 + 1 + 21 + 20 optimizer and 7
    // hidden-activation pairs.
    CHECK(plan.skipped.size() == 62);

    // Planned twice: the same ids in the same order.
    const auto again = runner::plan_campaign(runner::load_campaign(kConfigs + "/dynfault.yaml"));
    REQUIRE(again.runs.size() == plan.runs.size());
    for (size_t i = 0; i < plan.runs.size(); ++i)
      CHECK(again.runs[i].run_uuid == plan.runs[i].run_uuid);

    // Paper-scale probes: curvature every second epoch after readings before the first update
    // and one early step, 4 per run, in train mode, 32 samples, Lanczos stopped at tol 1e-2.
    CHECK(campaign.probes.curvature == runner::Cadence::every_k_epochs(2));
    CHECK(campaign.probes.curvature_early_steps);
    CHECK(campaign.probes.curvature_mode == runner::ProbeOptions::CurvatureMode::kTrain);
    CHECK(campaign.probes.curvature_method == runner::ProbeOptions::CurvatureMethod::kLanczos);
    CHECK(campaign.probes.curvature_iterations == 20);
    CHECK(campaign.probes.curvature_cap() == 4);
    CHECK(campaign.probes.curvature_batch == 32);
    CHECK(campaign.probes.curvature_tol == 0.01);
    CHECK(campaign.probes.hutchinson_samples == 1);
  }

  TEST_CASE("configs/quick.yaml plans without error over every program") {
    const auto campaign = runner::load_campaign(kConfigs + "/quick.yaml");
    const auto plan = runner::plan_campaign(campaign);
    std::map<std::string, int64_t> per_program;
    std::set<std::string> ids;
    for (const auto& r : plan.runs) {
      ++per_program[r.program];
      CHECK(ids.insert(r.run_uuid).second);
    }
    // `programs: all` is every registered program, this binary's test programs included.
    CHECK(per_program.size() == programs::program_ids().size());
    CHECK(per_program.size() >= 38);
    // Each program has its clean runs and some faulty ones.
    for (const auto& [program, n] : per_program) {
      CAPTURE(program);
      CHECK(n > campaign.clean_repetitions);
    }
  }

  TEST_CASE("Every file in configs/ is loaded by a test") {
    // Where each is loaded: a new file must be added here, and to a test that loads it.
    const std::map<std::string, std::string> tested = {
        {"diagnosers.yaml", "tests/diagnosis/test_diagnoser_options.cpp"},
        {"dynfault.yaml", "tests/runner/test_campaign.cpp"},
        {"mutators.yaml", "tests/mutators/test_mutators.cpp"},
        {"quick.yaml", "tests/runner/test_campaign.cpp"},
        {"taxonomies.yaml", "tests/features/test_labels.cpp, tests/runner/test_campaign.cpp"},
        {"thresholds.yaml", "tests/features/test_labels.cpp, tests/features/test_effective.cpp"},
    };
    std::set<std::string> present;
    for (const auto& e : std::filesystem::directory_iterator(kConfigs))
      if (e.is_regular_file()) present.insert(e.path().filename().string());
    for (const auto& name : present) {
      CAPTURE(name);
      CHECK(tested.count(name) == 1);
    }
    for (const auto& [name, where] : tested) {
      CAPTURE(name);
      CHECK(present.count(name) == 1);
      // It is at least well-formed YAML.
      CHECK_NOTHROW(YAML::LoadFile(kConfigs + "/" + name));
    }
  }
}
