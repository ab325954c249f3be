// Run ids survive upgrades: an id names what a run computes, never how the code describes it;
// planning a campaign again with a newer build adds nothing, and a run whose computation changed
// is reported stale and can be replaced.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "common/hash.h"
#include "db/database.h"
#include "mutators/mutator.h"
#include "programs/registry.h"
#include "runner/campaign.h"
#include "tests/runner/campaign_fixtures.h"

using namespace dynfault;
using programs::Json;

namespace {

const std::string kConfigs = std::string(DYNFAULT_SOURCE_DIR) + "/configs";

const char* kCampaign = R"(name: ids
seed: 11
repetitions: 2
programs: [iris_mlp, moons_mlp]
faults:
  - mutator: lr_scale
    params: {factor: [10, 0.1]}
  - mutator: optimizer_change
    params: {to: sgd}
)";

/// "program fault_ids {params} repN": which run of a plan, independent of its id.
std::string describe(const db::RunSpec& r) {
  Json params = Json::array();
  for (const auto& f : Json::parse(r.faults_json)) params.push_back(f.at("params"));
  return r.program + " " + (r.fault_ids.empty() ? "clean" : r.fault_ids) + " " + params.dump() +
         " rep" + std::to_string(r.repetition);
}

/// A recipe of the catalogue with one fault applied.
programs::Recipe mutated(const std::string& program, const std::string& mutator,
                         const Json& params) {
  const auto& m = mutators::mutator(mutator);
  return m.apply(programs::program(program), mutators::validate_params(m, params));
}

/// Paths in `semantic` whose value equals the default at that place ("" when none): recursing
/// into objects present in both, and into each layer (and nested body) against a default layer.
std::string defaulted_values(const Json& semantic, const Json& defaults, const Json& layer,
                             const std::string& at) {
  std::string out;
  for (const auto& [key, value] : semantic.items()) {
    const std::string path = at + "/" + key;
    if (key == "layers" || key == "body") {
      for (const auto& l : value) out += defaulted_values(l, layer, layer, path);
      continue;
    }
    if (key == "type" || !defaults.contains(key)) continue;
    if (defaults[key] == value) out += path + " ";
    if (value.is_object() && defaults[key].is_object())
      out += defaulted_values(value, defaults[key], layer, path);
  }
  return out;
}

db::Store planned_store(const runner::Campaign& c, const runner::Plan& plan) {
  db::Store store = db::Store::memory();
  runner::store_plan(store, c, plan, fixtures::plan_options());
  return store;
}

}  // namespace

TEST_SUITE("campaign") {
  TEST_CASE("Golden run ids of configs/dynfault.yaml") {
    // Computed by run_id() (scheme 2: semantic recipe JSON, seed, kRecipeVersion 2) on
    // 2026-12-05. A change here changes the id of every run in every database: a newer build
    // would plan every campaign anew. Change ids only on purpose, and say so. The ids are those
    // `dynfault plan configs/dynfault.yaml --db gold.db` stores (runs.run_uuid).
    const std::map<std::string, std::string> golden = {
        {"iris_mlp clean [] rep0", "89641b498fe09264f38992dba4e71060"},
        {"fashion_mlp clean [] rep28", "684d00b2703bf01ceebbea2f187ddf61"},
        {"lenet_fashion lr_scale [{\"factor\":10.0}] rep0", "7649cca63fba4eab8021bc80bb497b88"},
        {"imdb_lstm optimizer_change [{\"to\":\"rmsprop\"}] rep4",
         "68f4429e094fb7328f84047f4ca4647f"},
        {"cs231n_spiral activation_change [{\"to\":\"hard_sigmoid\",\"where\":\"hidden\"}] rep2",
         "82ff162dc1134f41b0cc106a4b3f2071"},
        {"keras_deep_ae loss_change [{\"to\":\"mae\"}] rep1", "935b20dddf503fd1bfb49db725edae96"},
    };
    const auto plan = runner::plan_campaign(runner::load_campaign(kConfigs + "/dynfault.yaml"));
    REQUIRE(plan.runs.size() == 5542);
    // Every planned run that fits a description: exactly one each, or the description is wrong.
    std::map<std::string, std::vector<std::string>> found;
    for (const auto& r : plan.runs)
      if (golden.count(describe(r))) found[describe(r)].push_back(r.run_uuid);
    for (const auto& [which, id] : golden) {
      CAPTURE(which);
      REQUIRE(found[which].size() == 1);
      CHECK(found[which][0] == id);
    }
  }

  TEST_CASE("Descriptive text never enters a run id") {
    const programs::Recipe r = mutated("iris_mlp", "lr_scale", {{"factor", 10.0}});
    const std::string id = runner::run_id(r, 3);
    programs::Recipe reworded = r;
    reworded.provenance.source = "another source";
    reworded.provenance.changes = "reworded";
    reworded.provenance.satisfactory = 0.5;
    reworded.provenance.kind = "synthetic";
    reworded.family = "cnn";
    reworded.task = "binary";
    reworded.faults[0].change = "described otherwise";
    reworded.faults[0].category = "recategorised";
    CHECK(runner::run_id(reworded, 3) == id);
    CHECK(runner::semantic_recipe_json(reworded) == runner::semantic_recipe_json(r));
  }

  TEST_CASE("A field or parameter left at its default never enters a run id") {
    // A newer build adds fields with defaults (as `patience` and `loop` were added); an existing
    // id survives only if no defaulted value reaches the hash. The id hashes the semantic recipe,
    // so that JSON must hold no value equal to its default, at any depth and in any layer.
    const Json default_recipe = programs::Recipe{}.to_json();
    programs::Recipe one_layer;
    one_layer.layers.emplace_back();
    const Json default_layer = one_layer.to_json()["layers"][0];
    for (const auto& program : {"iris_mlp", "lenet_fashion", "imdb_lstm"}) {
      CAPTURE(program);
      const programs::Recipe r = programs::program(program);
      const Json full = r.to_json();  // named: items() of a temporary would dangle
      std::vector<std::string> at_default;
      for (const auto& [key, value] : full.items())
        if (default_recipe.contains(key) && default_recipe[key] == value) at_default.push_back(key);
      REQUIRE(!at_default.empty());
      const Json semantic = runner::semantic_recipe_json(r);
      for (const auto& key : at_default) {
        CAPTURE(key);
        CHECK_FALSE(semantic.contains(key));
      }
      CHECK(defaulted_values(semantic, default_recipe, default_layer, "").empty());
      // The layers have defaulted keys, so the check above covered them.
      int layer_defaults = 0;
      for (const auto& layer : full["layers"])
        for (const auto& [key, value] : default_layer.items())
          layer_defaults += key != "type" && layer.contains(key) && layer[key] == value ? 1 : 0;
      CHECK(layer_defaults > 0);
      // Moving a defaulted field off its default brings it into the hash.
      programs::Recipe patient = r;
      REQUIRE(patient.patience == 0);
      patient.patience = 3;
      CHECK(runner::semantic_recipe_json(patient).contains("patience"));
      CHECK(runner::run_id(patient, 7) != runner::run_id(r, 7));
    }
    // A fault parameter at its schema default: the same id with or without it.
    bool checked = false;
    for (const auto& id : mutators::mutator_ids()) {
      const auto& m = mutators::mutator(id);
      for (const auto& spec : m.params()) {
        if (spec.default_value.is_null() || checked) continue;
        Json params = mutators::validate_params(m, Json::object());
        const auto& program = programs::program("iris_mlp");
        if (!m.not_applicable(program, params).empty()) continue;
        programs::Recipe r = m.mutate(program, params);
        programs::Recipe older = r;
        older.faults[0].params.erase(spec.name);
        CAPTURE(id);
        CHECK(runner::run_id(older, 1) == runner::run_id(r, 1));
        checked = true;
      }
    }
    CHECK(checked);
  }

  TEST_CASE("What a run computes is in its id") {
    const programs::Recipe r = programs::program("iris_mlp");
    const std::string id = runner::run_id(r, 3);
    CHECK(runner::run_id(r, 4) != id);
    programs::Recipe wider = r;
    wider.layers[0].out += 1;
    CHECK(runner::run_id(wider, 3) != id);
    programs::Recipe other_lr = r;
    other_lr.optimizer.lr *= 2;
    CHECK(runner::run_id(other_lr, 3) != id);
    CHECK(runner::run_id(mutated("iris_mlp", "lr_scale", {{"factor", 10.0}}), 3) != id);
    CHECK(runner::run_id(mutated("iris_mlp", "lr_scale", {{"factor", 10.0}}), 3) !=
          runner::run_id(mutated("iris_mlp", "lr_scale", {{"factor", 0.1}}), 3));
  }

  TEST_CASE("Planning with a newer build adds nothing; changed computations are stale") {
    const runner::Campaign c = runner::parse_campaign(kCampaign, "ids.yaml");
    const runner::Plan plan = runner::plan_campaign(c);
    // iris_mlp trains with SGD already, so optimizer_change to sgd skips it: 2 programs x 2
    // repetitions x (clean, two lr factors) + moons_mlp x 2 repetitions x sgd = 14 runs.
    REQUIRE(plan.skipped.size() == 1);
    CHECK(plan.skipped[0].rfind("iris_mlp: optimizer_change", 0) == 0);
    REQUIRE(plan.runs.size() == 14);
    db::Store store = planned_store(c, plan);
    const auto again = runner::store_plan(store, c, plan, fixtures::plan_options());
    CHECK(again.added == 0);
    CHECK(again.present == 14);
    CHECK(again.stale.empty());

    // An older build: other ids (descriptive text hashed) and recipes without newer fields.
    auto& db = store.database();
    for (const auto& r : plan.runs) {
      Json recipe = Json::parse(r.recipe_json);
      recipe.erase("patience");
      recipe.erase("loop");
      auto& update =
          db.prepared("UPDATE runs SET run_uuid = ?2, recipe_json = ?3 WHERE run_uuid = ?1");
      update.bind_all(r.run_uuid, hash128_hex("old " + r.run_uuid), recipe.dump()).step_and_reset();
    }
    const auto upgraded = runner::store_plan(store, c, plan, fixtures::plan_options());
    CHECK(upgraded.added == 0);
    CHECK(upgraded.present == 14);
    CHECK(upgraded.present_under_old_id == 14);
    CHECK(upgraded.stale.empty());
    CHECK(upgraded.unplanned == 0);

    // A program edited since: its runs are stale, not planned a second time.
    int edited = 0;
    for (const auto& row : store.runs()) {
      if (row.spec.program != "moons_mlp") continue;
      Json recipe = Json::parse(row.spec.recipe_json);
      recipe["layers"][0]["out"] = recipe["layers"][0]["out"].get<int64_t>() + 3;
      db.prepared("UPDATE runs SET recipe_json = ?2 WHERE run_uuid = ?1")
          .bind_all(row.spec.run_uuid, recipe.dump())
          .step_and_reset();
      ++edited;
    }
    REQUIRE(edited == 8);
    const auto stale = runner::store_plan(store, c, plan, fixtures::plan_options());
    CHECK(stale.added == 0);
    CHECK(stale.present == 6);
    REQUIRE(stale.stale.size() == 8);
    CHECK(stale.stale[0].why == "recipe differs in layers");
    CHECK(store.runs().size() == 14);
    CHECK(runner::compare_plan(store, c, plan).stale.size() == 8);

    // --rerun-stale: replaced by this build's runs (their own ids), nothing stale is left.
    CHECK(store.replace_runs(runner::replacements(stale.stale)) == 8);
    CHECK(store.runs().size() == 14);
    for (const auto& s : stale.stale) {
      REQUIRE(store.run(s.planned.run_uuid));
      CHECK(store.run(s.planned.run_uuid)->status == "SCHEDULED");
      CHECK_FALSE(store.run(s.stored.spec.run_uuid));
    }
    const auto after = runner::store_plan(store, c, plan, fixtures::plan_options());
    CHECK(after.stale.empty());
    CHECK(after.added == 0);
    CHECK(after.present == 14);
  }

  TEST_CASE("A recorded probe configuration reads back to the same options") {
    runner::ProbeOptions custom;
    custom.gradients = runner::Cadence::every_k_steps(5);
    custom.curvature = runner::Cadence::every_k_epochs(3);
    custom.timing = runner::Cadence::every_step();
    custom.activations = runner::Cadence::off();
    custom.curvature_tol = 0.125;
    custom.max_points = 0;
    custom.seed = 42;
    // The curvature settings of the `curvature:` mapping, recorded flat by to_json().
    runner::ProbeOptions curvature = custom;
    curvature.curvature_method = runner::ProbeOptions::CurvatureMethod::kPower;
    curvature.curvature_mode = runner::ProbeOptions::CurvatureMode::kTrain;
    curvature.curvature_early_steps = true;
    curvature.curvature_max_points = 7;
    for (const auto& o : {runner::ProbeOptions{}, runner::ProbeOptions::all(),
                          runner::ProbeOptions::none(), custom, curvature}) {
      CAPTURE(o.to_json());
      CHECK(runner::probe_options_from_record(o.to_json()) == o);
    }
    // Written by an older build without a newer field: that field keeps its default.
    Json older = Json::parse(custom.to_json());
    older.erase("seed");
    runner::ProbeOptions expected = custom;
    expected.seed = 0;
    CHECK(runner::probe_options_from_record(older.dump()) == expected);
    CHECK_THROWS_WITH_AS(runner::probe_options_from_record("{\"gradients\": \"sometimes\"}"),
                         doctest::Contains("probes.gradients"), ConfigError);
  }
}
