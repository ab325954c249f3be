// What a run computes and what a database records of a campaign: run ids (semantic_recipe_json,
// run_id), store_plan with its stale runs, and the numeric environment the runs execute in
// (execution_env). Declared in runner/campaign.h.
#include <map>
#include <set>

#include "common/check.h"
#include "common/hash.h"
#include "common/version.h"
#include "common/yaml_util.h"
#include "mutators/mutator.h"
#include "runner/campaign.h"
#include "runner/executor.h"

namespace dynfault::runner {
namespace {

using programs::Json;

/// `value` without the keys whose value equals the one in `defaults`; objects present in both
/// are stripped recursively.
Json strip_defaults(const Json& value, const Json& defaults) {
  Json out = Json::object();
  for (const auto& [key, v] : value.items()) {
    const auto d = defaults.find(key);
    if (d != defaults.end()) {
      if (v == *d) continue;
      if (v.is_object() && d->is_object()) {
        out[key] = strip_defaults(v, *d);
        continue;
      }
    }
    out[key] = v;
  }
  return out;
}

Json strip_layer(const Json& layer) {
  // The JSON mapping of Layer lives in recipe.cpp: a default layer is read through a recipe.
  static const Json kDefault = [] {
    programs::Recipe r;
    r.layers.emplace_back();
    return r.to_json()["layers"][0];
  }();
  Json out = strip_defaults(layer, kDefault);
  if (out.contains("body")) {
    Json body = Json::array();
    for (const auto& l : out["body"]) body.push_back(strip_layer(l));
    out["body"] = body;
  }
  return out;
}

/// A fault's identity: its operator and the parameters not at their schema defaults; the
/// category (a classification) and the change text (a description) are left out.
Json semantic_fault(const Json& record) {
  Json out = {{"mutator", record.value("mutator", "")}};
  Json params = record.value("params", Json::object());
  if (mutators::has_mutator(out["mutator"])) {
    for (const auto& spec : mutators::mutator(out["mutator"]).params())
      if (!spec.default_value.is_null() && params.contains(spec.name) &&
          params[spec.name] == spec.default_value)
        params.erase(spec.name);
  }
  if (!params.empty()) out["params"] = params;
  return out;
}

Json semantic_faults(const Json& records) {
  Json out = Json::array();
  for (const auto& f : records) out.push_back(semantic_fault(f));
  return out;
}

/// Which planned run a stored run stands for when their ids differ: program, faults and
/// repetition, all fixed by the campaign file (the seed follows from them).
std::string slot_of(const std::string& program, const std::string& faults_json,
                    int64_t repetition) {
  Json faults;
  try {
    faults = Json::parse(faults_json.empty() ? "[]" : faults_json);
  } catch (const Json::exception&) {
    faults = Json::array();
  }
  return Json{{"program", program}, {"faults", semantic_faults(faults)}, {"rep", repetition}}
      .dump();
}

/// What a stored run computes, by this build's reading of its stored recipe ("" when the recipe
/// no longer parses).
std::string stored_semantics(const db::RunRow& row) {
  try {
    return semantic_recipe_json(programs::Recipe::from_json(Json::parse(row.spec.recipe_json)))
        .dump();
  } catch (const std::exception&) {
    return "";
  }
}

/// The top-level recipe fields in which two semantic recipes differ, for the stale report.
std::string differing_fields(const std::string& a, const std::string& b) {
  if (a.empty()) return "stored recipe unreadable";
  const Json ja = Json::parse(a), jb = Json::parse(b);
  std::set<std::string> keys;
  for (const auto& [k, v] : ja.items()) keys.insert(k);
  for (const auto& [k, v] : jb.items()) keys.insert(k);
  std::string out;
  for (const auto& k : keys)
    if (ja.value(k, Json()) != jb.value(k, Json())) out += (out.empty() ? "" : ", ") + k;
  return "recipe differs in " + out;
}

/// The YAML of a campaign text without its `numeric:` mapping (comments dropped), to tell a
/// campaign file that differs from the recorded one only there; "" when the text does not parse.
std::string without_numeric(const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) return "";
    root.remove("numeric");
    YAML::Emitter out;
    out << root;
    return out.c_str();
  } catch (const YAML::Exception&) {
    return "";
  }
}

/// How many runs of `campaign` have a stored trace.
int64_t finished_runs(const db::Store& store, const std::string& campaign) {
  for (const auto& [status, n] : store.status_counts(campaign))
    if (status == "FINISHED") return n;
  return 0;
}

std::string refuse_change_hint() {
  return " Every run of a campaign should compute in one environment, or its traces differ by "
         "machine and not only by fault. Give 'dynfault run --allow-numeric-change' to run the "
         "remaining runs in the new environment anyway (each run records the one it ran in), or "
         "plan the campaign into a new database.";
}

/// The numeric environment to record for a campaign file whose text differs from the one stored
/// in `store` only in `numeric:`; throws unless the change is allowed or no change at all.
std::optional<NumericEnv> numeric_change(const db::Store& store, const Campaign& c,
                                         const db::CampaignNumeric& recorded,
                                         const StorePlanOptions& o) {
  if (!recorded.numeric_json.empty()) {
    const NumericEnv was = NumericEnv::from_json(recorded.numeric_json);
    if (was == c.numeric) return std::nullopt;  // spelt differently, the same environment
    if (!o.allow_numeric_change)
      throw Error(store.path() + ": campaign '" + c.name +
                  "' computes in the numeric "
                  "environment recorded when it was planned (" +
                  was.describe() + "), but " + c.file + " asks for " + c.numeric.describe() +
                  "; refusing (nothing was "
                  "written)." +
                  refuse_change_hint());
    return c.numeric;
  }
  const int64_t finished = finished_runs(store, c.name);
  if (finished > 0 && !o.allow_numeric_change)
    throw Error(store.path() + ": campaign '" + c.name +
                "' was planned before dynfault "
                "recorded numeric environments, and its " +
                std::to_string(finished) +
                " finished runs computed in whatever kernels that machine's libraries chose; " +
                c.file + " asks for " + c.numeric.describe() + "; refusing (nothing was " +
                "written)." + refuse_change_hint());
  return c.numeric;
}

}  // namespace

Json semantic_recipe_json(const programs::Recipe& recipe) {
  static const Json kDefault = programs::Recipe{}.to_json();
  Json full = recipe.to_json();
  for (const char* descriptive : {"provenance", "family", "task"}) full.erase(descriptive);
  const Json faults = full["faults"];
  full.erase("faults");
  Json out = strip_defaults(full, kDefault);
  if (out.contains("layers")) {
    Json layers = Json::array();
    for (const auto& l : out["layers"]) layers.push_back(strip_layer(l));
    out["layers"] = layers;
  }
  if (!faults.empty()) out["faults"] = semantic_faults(faults);
  return out;
}

std::string run_id(const programs::Recipe& recipe, int64_t seed) {
  const Json spec = {
      {"recipe", semantic_recipe_json(recipe)}, {"seed", seed}, {"recipe_version", kRecipeVersion}};
  return hash128_hex(spec.dump());
}

StoredPlan compare_plan(const db::Store& store, const Campaign& c, const Plan& plan) {
  StoredPlan out;
  std::map<std::string, db::RunRow> by_id, by_slot;
  for (auto& r : store.runs(db::RunFilter{})) {
    if (r.spec.campaign == c.name)
      by_slot.emplace(slot_of(r.spec.program, r.spec.faults_json, r.spec.repetition), r);
    by_id.emplace(r.spec.run_uuid, std::move(r));
  }
  std::set<std::string> matched;
  for (const auto& p : plan.runs) {
    const auto id = by_id.find(p.run_uuid);
    const auto slot = by_slot.find(slot_of(p.program, p.faults_json, p.repetition));
    const db::RunRow* stored = id != by_id.end()       ? &id->second
                               : slot != by_slot.end() ? &slot->second
                                                       : nullptr;
    if (stored == nullptr) {
      out.fresh.push_back(p);
      continue;
    }
    matched.insert(stored->spec.run_uuid);
    const std::string planned =
        semantic_recipe_json(programs::Recipe::from_json(Json::parse(p.recipe_json))).dump();
    const std::string held = stored_semantics(*stored);
    if (stored->spec.campaign != c.name || (held == planned && stored->spec.seed == p.seed)) {
      ++out.present;
      out.present_under_old_id += stored->spec.run_uuid != p.run_uuid ? 1 : 0;
      continue;
    }
    out.stale.push_back(
        StaleRun{*stored, p, held != planned ? differing_fields(held, planned) : "seed differs"});
  }
  for (const auto& [slot, r] : by_slot) out.unplanned += matched.count(r.spec.run_uuid) ? 0 : 1;
  return out;
}

StoredPlan store_plan(db::Store& store, const Campaign& c, const Plan& plan,
                      const StorePlanOptions& o) {
  DYNFAULT_CHECK(!o.libraries.empty(),
                 "store_plan(): no library versions given (StorePlanOptions::libraries)");
  // Everything that can refuse runs before the first write.
  const auto recorded = store.campaign_numeric(c.name);
  bool same_campaign = false;  // stored already, perhaps with another `numeric:` block
  std::optional<NumericEnv> change;
  if (recorded) {
    const auto text = store.campaign_config(c.name);
    same_campaign = text && hash128_hex(*text) == c.hash;
    if (!same_campaign && text && !without_numeric(*text).empty() &&
        without_numeric(*text) == without_numeric(c.text)) {
      change = numeric_change(store, c, *recorded, o);
      same_campaign = true;
    }
    if (same_campaign && recorded->numeric_json.empty() && !change &&
        finished_runs(store, c.name) == 0)
      change = c.numeric;  // a row of schema 1 with nothing run yet: record it below
  }
  StoredPlan out = compare_plan(store, c, plan);

  if (!same_campaign) {
    // A new campaign, or another under the same name (refused by the store).
    store.upsert_campaign(c.name, c.text, c.hash);
    if (!recorded || recorded->numeric_json.empty())
      store.set_campaign_numeric(c.name, {c.numeric.to_json(), o.libraries});
  } else if (change && recorded->numeric_json.empty()) {
    // Recorded now: the campaign's own environment from here on.
    store.set_campaign_numeric(c.name, {change->to_json(), o.libraries});
  } else {
    out.numeric_change = change;
  }
  for (const auto& [k, v] : environment_info(o.libraries)) store.set_info(k, v);
  for (const auto& id : c.programs) {
    const auto r = base_recipe(c, id);
    store.upsert_program(db::ProgramRow{id, r.family, r.task, r.data.name, r.provenance.source,
                                        r.provenance.changes, r.provenance.metric,
                                        r.provenance.satisfactory});
  }
  out.added = store.insert_runs(out.fresh);
  return out;
}

std::vector<std::pair<std::string, db::RunSpec>> replacements(const std::vector<StaleRun>& stale) {
  std::vector<std::pair<std::string, db::RunSpec>> out;
  for (const auto& s : stale) out.emplace_back(s.stored.spec.run_uuid, s.planned);
  return out;
}

ExecutionEnv execution_env(const db::Store& store, const std::string& campaign,
                           const std::optional<NumericEnv>& requested, bool allow_change,
                           const std::string& libraries) {
  DYNFAULT_CHECK(!libraries.empty(), "execution_env(): no library versions given");
  ExecutionEnv out;
  const auto recorded = store.campaign_numeric(campaign);
  if (!recorded) {
    // Runs without a campaign row (planned by hand, or merged before it): nothing to keep to.
    out.numeric = requested.value_or(NumericEnv{});
  } else if (recorded->numeric_json.empty()) {
    const int64_t finished = finished_runs(store, campaign);
    out.numeric = requested.value_or(NumericEnv{});
    if (finished > 0 && !allow_change)
      throw Error(store.path() + ": campaign '" + campaign + "' was planned before dynfault " +
                  "recorded numeric environments, and its " + std::to_string(finished) +
                  " finished runs computed in whatever kernels that machine's libraries chose; "
                  "refusing to run the rest in " +
                  out.numeric.describe() +
                  " (nothing was "
                  "written)." +
                  refuse_change_hint());
    out.record = finished == 0;
  } else {
    const NumericEnv was = NumericEnv::from_json(recorded->numeric_json);
    // What the caller asked for is compared, not what would be used: refusing must be possible.
    const NumericEnv wanted = requested.value_or(was);
    if (wanted != was && !allow_change)
      throw Error(store.path() + ": campaign '" + campaign + "' computes in " + was.describe() +
                  ", recorded when it was planned; refusing to run it in " + wanted.describe() +
                  " (nothing was written)." + refuse_change_hint());
    out.numeric = wanted;
    if (!recorded->libraries_json.empty() && recorded->libraries_json != libraries && !allow_change)
      throw Error(
          store.path() + ": campaign '" + campaign +
          "' was planned with the numeric "
          "libraries " +
          recorded->libraries_json + ", but this build loads " + libraries +
          "; another LibTorch, OpenBLAS or oneDNN computes other bits, so refusing (nothing "
          "was written). Give 'dynfault run --allow-numeric-change' to run the remaining "
          "runs with these libraries anyway (each run records its own), or plan the "
          "campaign into a new database.");
  }
  require_cpu_supports(out.numeric, CpuInfo::current());
  return out;
}

}  // namespace dynfault::runner
