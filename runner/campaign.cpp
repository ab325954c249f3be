#include "runner/campaign.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "common/hash.h"
#include "common/input_file.h"
#include "common/version.h"
#include "common/yaml_util.h"
#include "mutators/mutator.h"
#include "programs/registry.h"

namespace dynfault::runner {
namespace {

using programs::Json;
namespace y = dynfault::yaml;

/// Converts a YAML scalar to JSON, keeping integers, numbers, booleans and strings apart.
Json scalar_to_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: always a string
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  try {
    size_t pos = 0;
    const long long i = std::stoll(s, &pos);
    if (pos == s.size()) return static_cast<int64_t>(i);
  } catch (...) {
  }
  try {
    size_t pos = 0;
    const double d = std::stod(s, &pos);
    if (pos == s.size()) return d;
  } catch (...) {
  }
  return s;
}

/// a * b for counts, saturating at `limit` + 1 so that a product past the cap never overflows.
int64_t capped_product(int64_t a, int64_t b, int64_t limit) {
  if (a == 0 || b == 0) return 0;
  if (a > (limit + 1) / b) return limit + 1;
  return std::min(a * b, limit + 1);
}

/// The number of grid points of a params mapping (the product of its lists' lengths), computed
/// before anything is expanded and capped at `limit` + 1.
int64_t grid_size(const YAML::Node& params, int64_t limit) {
  int64_t n = 1;
  if (!params || !params.IsMap()) return n;
  for (const auto& kv : params)
    if (kv.second.IsSequence())
      n = capped_product(n, static_cast<int64_t>(kv.second.size()), limit);
  return n;
}

/// Throws unless every key of `params` is a parameter of `mut`: checked before the grid is
/// expanded, so that a misspelt key costs a message, not a grid of its values.
void require_known_params(const y::Doc& doc, const YAML::Node& params, const mutators::Mutator& mut,
                          const std::string& where) {
  if (!params) return;
  y::require_map(doc, params, where);
  const auto specs = mut.params();
  for (const auto& kv : params) {
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (const auto& spec : specs) known = known || spec.name == key;
    if (known) continue;
    std::string list;
    for (const auto& spec : specs) list += (list.empty() ? "" : ", ") + spec.name;
    throw ConfigError(doc.file, y::line_of(kv.first), where + "." + key, "",
                      "unknown parameter of mutator '" + mut.id() +
                          "' (known: " + (list.empty() ? "none" : list) + ")");
  }
}

/// Expands a params mapping whose values may be lists into the grid of plain mappings.
std::vector<std::pair<Json, YAML::Node>> expand_grid(const y::Doc& doc, const YAML::Node& params,
                                                     const std::string& where) {
  std::vector<std::pair<Json, YAML::Node>> grid{{Json::object(), params}};
  if (!params) return grid;
  y::require_map(doc, params, where);
  for (const auto& kv : params) {
    const std::string key = kv.first.Scalar();
    std::vector<Json> values;
    if (kv.second.IsSequence()) {
      if (kv.second.size() == 0)
        throw ConfigError(doc.file, y::line_of(kv.second), where + "." + key, "[]",
                          "an empty list of values plans nothing");
      for (const auto& v : kv.second) {
        if (!v.IsScalar())
          throw ConfigError(doc.file, y::line_of(v), where + "." + key, y::render(v),
                            "expected a scalar value");
        values.push_back(scalar_to_json(v));
      }
    } else if (kv.second.IsScalar()) {
      values.push_back(scalar_to_json(kv.second));
    } else {
      throw ConfigError(doc.file, y::line_of(kv.second), where + "." + key, y::render(kv.second),
                        "expected a value or a list of values");
    }
    std::vector<std::pair<Json, YAML::Node>> next;
    for (const auto& g : grid)
      for (const auto& v : values) {
        Json j = g.first;
        j[key] = v;
        next.emplace_back(j, params);
      }
    grid = std::move(next);
  }
  return grid;
}

/// Reads {mutator, params} into the grid of validated steps; refuses a grid of more than
/// `max_runs` points before expanding it.
std::vector<FaultStep> read_steps(const y::Doc& doc, const YAML::Node& node,
                                  const std::string& where, int64_t max_runs) {
  y::require_known_keys(doc, node, {"mutator", "params", "programs"}, where);
  const YAML::Node m = node["mutator"];
  if (!m) throw ConfigError(doc.file, y::line_of(node), where + ".mutator", "", "missing key");
  const std::string id = y::as<std::string>(doc, m, where + ".mutator");
  if (!mutators::has_mutator(id)) {
    std::string known;
    for (const auto& k : mutators::mutator_ids()) known += (known.empty() ? "" : ", ") + k;
    throw ConfigError(doc.file, y::line_of(m), where + ".mutator", id,
                      "unknown mutator (known: " + known + ")");
  }
  const auto& mut = mutators::mutator(id);
  require_known_params(doc, node["params"], mut, where + ".params");
  const int64_t points = grid_size(node["params"], max_runs);
  if (points > max_runs)
    throw ConfigError(doc.file, y::line_of(node["params"]), where + ".params", "",
                      "the parameter grid has more than max_runs = " + std::to_string(max_runs) +
                          " points; shorten its lists (or raise max_runs:)");
  std::vector<FaultStep> steps;
  for (const auto& [params, pnode] : expand_grid(doc, node["params"], where + ".params")) {
    try {
      steps.push_back(FaultStep{id, mutators::validate_params(mut, params)});
    } catch (const ConfigError& e) {
      YAML::Node at = pnode && pnode[e.key()] ? pnode[e.key()] : (pnode ? pnode : node);
      throw ConfigError(doc.file, y::line_of(at), where + ".params." + e.key(), e.value(), e.why());
    }
  }
  return steps;
}

std::vector<std::string> read_programs(const y::Doc& doc, const YAML::Node& node,
                                       const std::string& where) {
  std::vector<std::string> out;
  if (node.IsScalar() && node.Scalar() == "all") return programs::program_ids();
  if (!node.IsSequence())
    throw ConfigError(doc.file, y::line_of(node), where, y::render(node),
                      "expected 'all' or a list of program ids");
  for (const auto& p : node) {
    const std::string id = y::as<std::string>(doc, p, where);
    if (!programs::has_program(id)) {
      std::string known;
      for (const auto& k : programs::program_ids()) known += (known.empty() ? "" : ", ") + k;
      throw ConfigError(doc.file, y::line_of(p), where, id,
                        "unknown program (known: " + known + ")");
    }
    if (std::find(out.begin(), out.end(), id) != out.end())
      throw ConfigError(doc.file, y::line_of(p), where, id, "program listed twice");
    out.push_back(id);
  }
  if (out.empty())
    throw ConfigError(doc.file, y::line_of(node), where, "[]", "no program selected");
  return out;
}

/// A probe cadence: off, every_step, every_epoch, {every_k_steps: k} or {every_k_epochs: k}.
Cadence read_cadence(const y::Doc& doc, const YAML::Node& node, const std::string& where) {
  const char* const expected =
      "expected off, every_step, every_epoch, {every_k_steps: k} or {every_k_epochs: k}";
  if (node.IsScalar()) {
    const std::string& v = node.Scalar();
    if (v == "off") return Cadence::off();
    if (v == "every_step") return Cadence::every_step();
    if (v == "every_epoch") return Cadence::every_epoch();
    throw ConfigError(doc.file, y::line_of(node), where, v, expected);
  }
  if (!node.IsMap() || node.size() != 1)
    throw ConfigError(doc.file, y::line_of(node), where, y::render(node), expected);
  y::require_known_keys(doc, node, {"every_k_steps", "every_k_epochs"}, where);
  const auto kv = *node.begin();
  const std::string key = where + "." + kv.first.Scalar();
  const auto k = y::as<int64_t>(doc, kv.second, key);
  if (k < 1 || k > 1000000)
    throw ConfigError(doc.file, y::line_of(kv.second), key, std::to_string(k),
                      "out of range [1, 1000000]");
  return kv.first.Scalar() == "every_k_steps" ? Cadence::every_k_steps(k)
                                              : Cadence::every_k_epochs(k);
}

/// One of `allowed` for a string-valued key, else a ConfigError listing them.
std::string read_choice(const y::Doc& doc, const YAML::Node& node, const std::string& where,
                        const std::vector<std::string>& allowed) {
  const auto v = y::as<std::string>(doc, node, where);
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw ConfigError(doc.file, y::line_of(node), where, v, "expected one of: " + list);
}

/// `curvature:` is a cadence, or a mapping of the curvature options with at most one cadence
/// key (every_k_epochs, every_k_steps, or cadence: any cadence spelling; none = every_epoch):
///   curvature: {every_k_epochs: 2, early_steps: log, mode: train, method: lanczos, k: 20,
///               max_points: 10}
void read_curvature(const y::Doc& doc, const YAML::Node& node, ProbeOptions& o, bool& k_set) {
  const std::string where = "probes.curvature";
  if (!node.IsMap()) {
    o.curvature = read_cadence(doc, node, where);
    return;
  }
  y::require_known_keys(doc, node,
                        {"every_k_epochs", "every_k_steps", "cadence", "early_steps", "mode",
                         "method", "k", "max_points"},
                        where);
  o.curvature = Cadence::every_epoch();
  int cadences = 0;
  for (const char* key : {"every_k_epochs", "every_k_steps", "cadence"}) {
    const YAML::Node n = node[key];
    if (!n) continue;
    if (++cadences > 1)
      throw ConfigError(doc.file, y::line_of(n), where + "." + key, y::render(n),
                        "a second cadence (give one of every_k_epochs, every_k_steps, cadence)");
    const std::string at = where + "." + key;
    if (std::string(key) == "cadence") {
      o.curvature = read_cadence(doc, n, at);
      continue;
    }
    const auto k = y::as<int64_t>(doc, n, at);
    if (k < 1 || k > 1000000)
      throw ConfigError(doc.file, y::line_of(n), at, std::to_string(k),
                        "out of range [1, 1000000]");
    o.curvature = std::string(key) == "every_k_steps" ? Cadence::every_k_steps(k)
                                                      : Cadence::every_k_epochs(k);
  }
  if (const YAML::Node n = node["method"])
    o.curvature_method = read_choice(doc, n, where + ".method", {"lanczos", "power"}) == "power"
                             ? ProbeOptions::CurvatureMethod::kPower
                             : ProbeOptions::CurvatureMethod::kLanczos;
  if (const YAML::Node n = node["mode"])
    o.curvature_mode = read_choice(doc, n, where + ".mode", {"eval", "train"}) == "train"
                           ? ProbeOptions::CurvatureMode::kTrain
                           : ProbeOptions::CurvatureMode::kEval;
  if (const YAML::Node n = node["k"]) {
    o.curvature_iterations = y::as<int64_t>(doc, n, where + ".k");
    if (o.curvature_iterations < 2 || o.curvature_iterations > 1000)
      throw ConfigError(doc.file, y::line_of(n), where + ".k", y::render(n),
                        "out of range [2, 1000]: Lanczos needs two products for two edges");
    k_set = true;
  }
  if (const YAML::Node n = node["max_points"]) {
    o.curvature_max_points = y::as<int64_t>(doc, n, where + ".max_points");
    if (o.curvature_max_points < 0 || o.curvature_max_points > 1000000)
      throw ConfigError(doc.file, y::line_of(n), where + ".max_points", y::render(n),
                        "out of range [0, 1000000]");
  }
  if (const YAML::Node n = node["early_steps"]) {
    o.curvature_early_steps = read_choice(doc, n, where + ".early_steps", {"off", "log"}) == "log";
    if (o.curvature_early_steps && !o.curvature.counts_epochs())
      throw ConfigError(doc.file, y::line_of(n), where + ".early_steps", y::render(n),
                        o.curvature.is_off()
                            ? "early readings need curvature on (the cadence is off)"
                            : "early readings complete an epoch cadence; a step cadence already "
                              "reads in the first epoch");
  }
}

/// The `probes:` mapping; unset fields keep ProbeOptions' defaults.
ProbeOptions read_probes(const y::Doc& doc, const YAML::Node& node) {
  y::require_known_keys(doc, node,
                        {"gradients", "weights", "activations", "optimizer", "curvature", "timing",
                         "probe_batch", "curvature_batch", "curvature_iterations", "curvature_tol",
                         "hutchinson_samples", "seed", "max_points"},
                        "probes");
  ProbeOptions o;
  const std::pair<const char*, Cadence*> cadences[] = {{"gradients", &o.gradients},
                                                       {"weights", &o.weights},
                                                       {"activations", &o.activations},
                                                       {"optimizer", &o.optimizer},
                                                       {"timing", &o.timing}};
  for (const auto& [key, field] : cadences)
    if (node[key]) *field = read_cadence(doc, node[key], std::string("probes.") + key);
  bool k_set = false;
  if (node["curvature"]) read_curvature(doc, node["curvature"], o, k_set);
  const auto int_in = [&](const char* key, int64_t& out, int64_t lo, int64_t hi) {
    const YAML::Node n = node[key];
    if (!n) return;
    const std::string where = std::string("probes.") + key;
    out = y::as<int64_t>(doc, n, where);
    if (out < lo || out > hi)
      throw ConfigError(doc.file, y::line_of(n), where, y::render(n),
                        "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  int_in("probe_batch", o.probe_batch, 1, 100000);
  int_in("curvature_batch", o.curvature_batch, 1, 100000);
  // The older spelling of curvature.k (campaign files before 2026-12-05 use it).
  if (k_set && node["curvature_iterations"])
    throw ConfigError(doc.file, y::line_of(node["curvature_iterations"]),
                      "probes.curvature_iterations", y::render(node["curvature_iterations"]),
                      "set twice: curvature.k sets it too");
  int_in("curvature_iterations", o.curvature_iterations, 2, 1000);
  int_in("hutchinson_samples", o.hutchinson_samples, 1, 1000);
  int_in("seed", o.seed, 0, std::numeric_limits<int64_t>::max());
  int_in("max_points", o.max_points, 0, 1000000);
  if (const YAML::Node n = node["curvature_tol"]) {
    o.curvature_tol = y::as<double>(doc, n, "probes.curvature_tol");
    if (!(o.curvature_tol >= 0 && o.curvature_tol < 1))
      throw ConfigError(doc.file, y::line_of(n), "probes.curvature_tol", y::render(n),
                        "out of range [0, 1)");
  }
  return o;
}

/// The cartesian product of the grids of a `compose:` entry's steps, refused before it is built
/// when it would exceed `max_runs` combinations.
std::vector<std::vector<FaultStep>> read_composition(const y::Doc& doc, const YAML::Node& comp,
                                                     const std::string& where, int64_t max_runs) {
  if (!comp.IsSequence() || comp.size() < 2)
    throw ConfigError(doc.file, y::line_of(comp), where, y::render(comp),
                      "expected a list of at least two {mutator, params} steps");
  std::vector<std::vector<FaultStep>> combos{{}};
  for (size_t k = 0; k < comp.size(); ++k) {
    const std::string w = where + "[" + std::to_string(k) + "]";
    if (comp[k]["programs"])
      throw ConfigError(doc.file, y::line_of(comp[k]["programs"]), w + ".programs", "",
                        "put 'programs' on the composed entry, not on a step");
    const auto steps = read_steps(doc, comp[k], w, max_runs);
    const int64_t size = capped_product(static_cast<int64_t>(combos.size()),
                                        static_cast<int64_t>(steps.size()), max_runs);
    if (size > max_runs)
      throw ConfigError(doc.file, y::line_of(comp[k]), w, "",
                        "the composition has more than max_runs = " + std::to_string(max_runs) +
                            " combinations of parameter values (or raise max_runs:)");
    std::vector<std::vector<FaultStep>> next;
    next.reserve(static_cast<size_t>(size));
    for (const auto& cmb : combos)
      for (const auto& s : steps) {
        auto v = cmb;
        v.push_back(s);
        next.push_back(std::move(v));
      }
    combos = std::move(next);
  }
  return combos;
}

/// The `faults:` list into `c.faults`. Every entry is checked against `c.max_runs` before it is
/// expanded: the runs planned so far (an upper bound: inapplicable combinations are skipped
/// later) never exceed the cap, so no campaign file can make planning allocate without bound.
void read_faults(const y::Doc& doc, Campaign& c) {
  const std::string& file = doc.file;
  int64_t planned = c.clean ? capped_product(static_cast<int64_t>(c.programs.size()),
                                             c.clean_repetitions, c.max_runs)
                            : 0;
  const YAML::Node faults = doc.root["faults"];
  if (!faults) return;
  if (!faults.IsSequence())
    throw ConfigError(file, y::line_of(faults), "faults", y::render(faults), "expected a list");
  for (size_t i = 0; i < faults.size(); ++i) {
    const YAML::Node f = faults[i];
    const std::string where = "faults[" + std::to_string(i) + "]";
    std::vector<std::string> progs;
    if (f.IsMap() && f["programs"]) {
      progs = read_programs(doc, f["programs"], where + ".programs");
      for (const auto& p : progs)
        if (std::find(c.programs.begin(), c.programs.end(), p) == c.programs.end())
          throw ConfigError(file, y::line_of(f["programs"]), where + ".programs", p,
                            "program is not among the campaign's programs");
    }
    std::vector<std::vector<FaultStep>> combos;
    if (f.IsMap() && f["compose"]) {
      y::require_known_keys(doc, f, {"compose", "programs"}, where);
      combos = read_composition(doc, f["compose"], where + ".compose", c.max_runs);
    } else {
      if (!f.IsMap())
        throw ConfigError(file, y::line_of(f), where, y::render(f),
                          "expected a mapping with 'mutator' or 'compose'");
      for (auto& s : read_steps(doc, f, where, c.max_runs)) combos.push_back({std::move(s)});
    }
    const int64_t targets = static_cast<int64_t>(progs.empty() ? c.programs.size() : progs.size());
    planned +=
        capped_product(capped_product(static_cast<int64_t>(combos.size()), targets, c.max_runs),
                       c.repetitions, c.max_runs);
    if (planned > c.max_runs)
      throw ConfigError(
          file, y::line_of(f), where, "",
          "the campaign would plan more than max_runs = " + std::to_string(c.max_runs) +
              " runs (programs x parameter values x repetitions, up to this "
              "entry); shorten the grid or raise max_runs:");
    for (auto& cmb : combos) c.faults.push_back(FaultEntry{std::move(cmb), progs, y::line_of(f)});
  }
}

/// The `numeric:` mapping; unset fields keep NumericEnv's defaults.
NumericEnv read_numeric(const y::Doc& doc, const YAML::Node& node) {
  y::require_known_keys(
      doc, node,
      {"aten_capability", "openblas_coretype", "onednn_isa", "intra_op_threads", "blas_threads"},
      "numeric");
  NumericEnv env;
  const auto text = [&](const char* key, std::string& out, const std::vector<std::string>& names) {
    if (const YAML::Node n = node[key])
      out = canonical_spelling(names, y::as<std::string>(doc, n, std::string("numeric.") + key));
  };
  text("aten_capability", env.aten_capability, aten_capabilities());
  text("openblas_coretype", env.openblas_coretype, openblas_coretypes());
  text("onednn_isa", env.onednn_isa, onednn_isas());
  if (const YAML::Node n = node["intra_op_threads"])
    env.intra_op_threads = y::as<int64_t>(doc, n, "numeric.intra_op_threads");
  if (const YAML::Node n = node["blas_threads"])
    env.blas_threads = y::as<int64_t>(doc, n, "numeric.blas_threads");
  try {
    env.validate();
  } catch (const ConfigError& e) {
    const std::string field = e.key().substr(e.key().find('.') + 1);
    throw ConfigError(doc.file, y::line_of(node[field] ? node[field] : node), e.key(), e.value(),
                      e.why());
  }
  return env;
}

}  // namespace

ProbeOptions probe_options_from_record(const std::string& json) {
  Json j;
  try {
    j = Json::parse(json);
  } catch (const Json::exception& e) {
    throw Error("probe configuration '" + json + "': " + e.what());
  }
  DYNFAULT_CHECK(j.is_object(), "probe configuration '", json, "': expected a JSON object");
  // Cadence::str() spells k-periods as "every_k_epochs: 2"; the YAML reader wants a mapping.
  for (auto& [key, value] : j.items()) {
    if (!value.is_string()) continue;
    const std::string v = value.get<std::string>();
    const auto colon = v.find(": ");
    if (colon != std::string::npos && v.rfind("every_k_", 0) == 0)
      value = Json{{v.substr(0, colon), std::stoll(v.substr(colon + 2))}};
  }
  // ProbeOptions::to_json() spells the curvature settings flat (curvature_method, ...); the
  // campaign reader takes them inside the `curvature:` mapping.
  Json curvature = Json::object();
  for (const char* key : {"method", "mode", "early_steps", "max_points"}) {
    const std::string flat = std::string("curvature_") + key;
    if (!j.contains(flat)) continue;
    // curvature_max_points -1 is the default (follow max_points): no YAML spelling, none needed.
    if (!(j[flat].is_number() && j[flat].get<int64_t>() < 0)) curvature[key] = j[flat];
    j.erase(flat);
  }
  if (!curvature.empty()) {
    const Json cadence = j.contains("curvature") ? j["curvature"] : Json("every_epoch");
    if (cadence.is_object())
      curvature.update(cadence);
    else
      curvature["cadence"] = cadence;
    j["curvature"] = curvature;
  }
  // JSON is YAML: the campaign reader checks every key and value.
  return probe_options_of_campaign("probes: " + j.dump() + "\n", "recorded probe configuration");
}

ProbeOptions probe_options_of_campaign(const std::string& text, const std::string& file) {
  const y::Doc doc = y::load_string(text, file);
  if (!doc.root.IsMap() || !doc.root["probes"]) return ProbeOptions{};
  return read_probes(doc, doc.root["probes"]);
}

Campaign parse_campaign(const std::string& text, const std::string& file) {
  const y::Doc doc = y::load_string(text, file);
  const YAML::Node& root = doc.root;
  if (!root.IsMap())
    throw ConfigError(file, y::line_of(root), "", y::render(root), "a campaign must be a mapping");
  y::require_known_keys(
      doc, root,
      {"name", "description", "seed", "repetitions", "clean_repetitions", "timeout_s", "clean",
       "programs", "overrides", "faults", "probes", "max_runs", "numeric"},
      "");
  Campaign c;
  c.file = file;
  c.text = text;
  c.hash = hash128_hex(text);
  if (!root["name"]) throw ConfigError(file, 1, "name", "", "missing key");
  c.name = y::as<std::string>(doc, root["name"], "name");
  if (c.name.empty() || c.name.find_first_of(" \t/\\") != std::string::npos)
    throw ConfigError(file, y::line_of(root["name"]), "name", c.name,
                      "expected a non-empty name without spaces or slashes");
  y::read_opt(doc, root, "description", c.description);
  y::read_opt(doc, root, "seed", c.seed);
  y::read_opt(doc, root, "repetitions", c.repetitions);
  if (c.repetitions < 1 || c.repetitions > 1000)
    throw ConfigError(file, y::line_of(root["repetitions"]), "repetitions",
                      std::to_string(c.repetitions), "out of range [1, 1000]");
  c.clean_repetitions = c.repetitions;
  y::read_opt(doc, root, "clean_repetitions", c.clean_repetitions);
  if (c.clean_repetitions < 1 || c.clean_repetitions > 1000)
    throw ConfigError(file, y::line_of(root["clean_repetitions"]), "clean_repetitions",
                      std::to_string(c.clean_repetitions), "out of range [1, 1000]");
  y::read_opt(doc, root, "timeout_s", c.timeout_s);
  if (!(c.timeout_s > 0) || c.timeout_s > 86400)
    throw ConfigError(file, y::line_of(root["timeout_s"]), "timeout_s",
                      y::render(root["timeout_s"]), "out of range (0, 86400]");
  y::read_opt(doc, root, "clean", c.clean);
  y::read_opt(doc, root, "max_runs", c.max_runs);
  if (c.max_runs < 1 || c.max_runs > kMaxRunsLimit)
    throw ConfigError(file, y::line_of(root["max_runs"]), "max_runs", y::render(root["max_runs"]),
                      "out of range [1, " + std::to_string(kMaxRunsLimit) + "]");
  if (!root["programs"]) throw ConfigError(file, 1, "programs", "", "missing key");
  c.programs = read_programs(doc, root["programs"], "programs");

  if (const YAML::Node ov = root["overrides"]) {
    y::require_known_keys(doc, ov, {"epochs", "train_limit", "test_limit", "batch_size"},
                          "overrides");
    for (const auto& kv : ov) {
      const std::string key = "overrides." + kv.first.Scalar();
      const auto v = y::as<int64_t>(doc, kv.second, key);
      const int64_t lo = kv.first.Scalar() == "epochs" || kv.first.Scalar() == "batch_size" ? 1 : 0;
      if (v < lo || v > 10000000)
        throw ConfigError(file, y::line_of(kv.second), key, std::to_string(v),
                          "out of range [" + std::to_string(lo) + ", 10000000]");
      c.overrides[kv.first.Scalar()] = v;
    }
  }

  read_faults(doc, c);
  if (const YAML::Node probes = root["probes"]) c.probes = read_probes(doc, probes);
  if (const YAML::Node numeric = root["numeric"]) c.numeric = read_numeric(doc, numeric);
  if (!c.clean && c.faults.empty())
    throw ConfigError(file, 1, "faults", "",
                      "the campaign plans no runs (no faults, clean: false)");
  return c;
}

Campaign load_campaign(const std::string& path) {
  return parse_campaign(files::read_input_file(path, "campaign file", files::kMaxConfigBytes),
                        path);
}

programs::Recipe base_recipe(const Campaign& campaign, const std::string& program) {
  programs::Recipe r = programs::program(program);
  const auto& ov = campaign.overrides;
  if (ov.contains("epochs")) r.epochs = ov.at("epochs").get<int64_t>();
  if (ov.contains("batch_size")) r.batch_size = ov.at("batch_size").get<int64_t>();
  if (ov.contains("train_limit")) r.data.train_limit = ov.at("train_limit").get<int64_t>();
  if (ov.contains("test_limit")) r.data.test_limit = ov.at("test_limit").get<int64_t>();
  return r;
}

int64_t run_seed(int64_t base_seed, const std::string& program, int64_t repetition) {
  const std::string key =
      std::to_string(base_seed) + "/" + program + "/" + std::to_string(repetition);
  // 31 bits keep the seed positive in every language that reads the database.
  return static_cast<int64_t>(std::stoull(hash128_hex(key).substr(0, 8), nullptr, 16) & 0x7fffffff);
}

Plan plan_campaign(const Campaign& c) {
  Plan plan;
  std::set<std::string> seen;
  const auto add = [&](const programs::Recipe& r, const std::string& program, int64_t rep) {
    db::RunSpec s;
    s.seed = run_seed(c.seed, program, rep);
    s.run_uuid = run_id(r, s.seed);
    if (!seen.insert(s.run_uuid).second) return;  // the same run planned twice (equal grid points)
    s.campaign = c.name;
    s.program = program;
    s.family = r.family;
    s.task = r.task;
    s.faults_json = r.to_json().at("faults").dump();
    for (const auto& f : r.faults) s.fault_ids += (s.fault_ids.empty() ? "" : "+") + f.mutator;
    s.repetition = rep;
    s.recipe_json = r.canonical();
    s.timeout_s = c.timeout_s;
    plan.runs.push_back(std::move(s));
  };

  for (const auto& program : c.programs) {
    const programs::Recipe base = base_recipe(c, program);
    if (c.clean)
      for (int64_t rep = 0; rep < c.clean_repetitions; ++rep) add(base, program, rep);
  }
  for (const auto& entry : c.faults) {
    const auto& targets = entry.programs.empty() ? c.programs : entry.programs;
    int applied = 0;
    std::string last_reason;
    for (const auto& program : targets) {
      programs::Recipe r = base_recipe(c, program);
      std::string why;
      for (const auto& step : entry.steps) {
        const auto& m = mutators::mutator(step.mutator);
        why = m.not_applicable(r, step.params);
        if (!why.empty()) {
          why = step.mutator + " " + step.params.dump() + ": " + why;
          break;
        }
        r = m.mutate(r, step.params);
      }
      if (!why.empty()) {
        if (!entry.programs.empty())
          throw ConfigError(c.file, entry.line, "programs", program,
                            "fault does not apply: " + why);
        plan.skipped.push_back(program + ": " + why);
        last_reason = why;
        continue;
      }
      ++applied;
      for (int64_t rep = 0; rep < c.repetitions; ++rep) add(r, program, rep);
    }
    if (applied == 0)
      throw ConfigError(c.file, entry.line, "faults", entry.steps.front().mutator,
                        "applies to none of the campaign's programs (" + last_reason + ")");
  }
  return plan;
}

}  // namespace dynfault::runner
