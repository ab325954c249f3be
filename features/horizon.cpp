#include "features/horizon.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/check.h"
#include "common/yaml_util.h"
#include "db/extents.h"
#include "db/store.h"
#include "features/labels.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

// When one record was taken, in steps, given the run's clock; an epoch's end uses the upper
// bound of S so that a record is never placed before it was taken.
enum class Index { kStep, kEpoch, kUpdates, kRunLevel };

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

Index index_of(const std::string& key, const ProbeIndexing& ix) {
  if (starts_with(key, "final/") || key == "probe/failures") return Index::kRunLevel;
  if (key == "train/loss") return Index::kStep;
  if (starts_with(key, "epoch/")) return Index::kEpoch;
  const auto family = [](bool steps) { return steps ? Index::kStep : Index::kEpoch; };
  if (starts_with(key, "curv/") || starts_with(key, "time/curvature")) {
    if (ix.curvature_updates) return Index::kUpdates;
    return family(ix.curvature);
  }
  if (starts_with(key, "grad/")) return family(ix.gradients);
  if (starts_with(key, "weight/")) return family(ix.weights);
  if (starts_with(key, "act/")) return family(ix.activations);
  if (starts_with(key, "opt/")) return family(ix.optimizer);
  if (key == "time/step_ms") return family(ix.timing);
  return Index::kEpoch;  // the contract's default cadence for anything else
}

// Whether a cadence spelling (db/trace.h, runner/campaign.h) counts steps.
bool counts_steps(const YAML::Node& node) {
  if (!node) return false;
  if (node.IsScalar()) return node.Scalar() == "every_step";
  if (!node.IsMap()) return false;
  if (node["every_k_steps"]) return true;
  if (node["cadence"]) return counts_steps(node["cadence"]);
  return false;
}

std::string format_number(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

}  // namespace

Horizon Horizon::fraction(double h) {
  if (!(h > 0 && h <= 1))
    throw Error("horizon " + format_number(h) +
                " is outside (0, 1]: a horizon is the fraction of planned epochs observed");
  return Horizon{Unit::kFraction, h};
}

Horizon Horizon::epochs(int64_t n) {
  if (n < 1) throw Error("horizon of " + std::to_string(n) + " epochs: must be >= 1");
  return Horizon{Unit::kEpochs, static_cast<double>(n)};
}

Horizon Horizon::steps(int64_t n) {
  if (n < 1) throw Error("horizon of " + std::to_string(n) + " steps: must be >= 1");
  return Horizon{Unit::kSteps, static_cast<double>(n)};
}

Horizon Horizon::parse(const std::string& text) {
  std::string body = text;
  char unit = 'h';
  if (!body.empty() && (body[0] == 'h' || body[0] == 'e' || body[0] == 's')) {
    unit = body[0];
    body = body.substr(1);
  }
  size_t used = 0;
  double v = std::numeric_limits<double>::quiet_NaN();
  try {
    v = std::stod(body, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (body.empty() || used != body.size() || !std::isfinite(v))
    throw Error("horizon '" + text +
                "': expected a fraction of planned epochs in (0, 1] (0.25), e<epochs> (e3) or "
                "s<steps> (s100)");
  if (unit == 'h') return fraction(v);
  if (v != std::floor(v)) throw Error("horizon '" + text + "': epochs and steps are whole numbers");
  return unit == 'e' ? epochs(static_cast<int64_t>(v)) : steps(static_cast<int64_t>(v));
}

std::string Horizon::suffix() const {
  if (is_full()) return "";
  switch (unit) {
    case Unit::kFraction:
      return "h" + format_number(value);
    case Unit::kEpochs:
      return "e" + format_number(value);
    case Unit::kSteps:
      return "s" + format_number(value);
  }
  return "";
}

std::string Horizon::describe() const {
  switch (unit) {
    case Unit::kFraction:
      return "H = " + format_number(value);
    case Unit::kEpochs:
      return format_number(value) + " epochs";
    case Unit::kSteps:
      return format_number(value) + " steps";
  }
  return "";
}

std::string at_horizon(const std::string& name, const Horizon& horizon) {
  return horizon.is_full() ? name : name + "@" + horizon.suffix();
}

ProbeIndexing ProbeIndexing::from_config(const std::string& yaml_text, const std::string& name) {
  ProbeIndexing ix;
  if (yaml_text.empty()) return ix;
  const yaml::Doc doc = yaml::load_string(yaml_text, name);
  if (!doc.root.IsMap() || !doc.root["probes"] || !doc.root["probes"].IsMap()) return ix;
  const YAML::Node probes = doc.root["probes"];
  ix.gradients = counts_steps(probes["gradients"]);
  ix.weights = counts_steps(probes["weights"]);
  ix.activations = counts_steps(probes["activations"]);
  ix.optimizer = counts_steps(probes["optimizer"]);
  ix.timing = counts_steps(probes["timing"]);
  const YAML::Node curvature = probes["curvature"];
  ix.curvature = counts_steps(curvature);
  // Early readings complete an epoch cadence (runner/campaign.cpp rejects them otherwise); the
  // series is then indexed by the updates applied.
  ix.curvature_updates = curvature && curvature.IsMap() && curvature["early_steps"] &&
                         curvature["early_steps"].IsScalar() &&
                         curvature["early_steps"].Scalar() == "log" && !ix.curvature &&
                         !(curvature["cadence"] && curvature["cadence"].IsScalar() &&
                           curvature["cadence"].Scalar() == "off");
  return ix;
}

RunClock RunClock::known(int64_t steps, int64_t planned, int64_t steps_per_epoch) {
  return RunClock{steps, planned, steps_per_epoch, steps_per_epoch};
}

std::optional<db::Trace> cut_trace(const db::Trace& trace, const Horizon& horizon,
                                   const RunClock& clock, const ProbeIndexing& indexing) {
  if (horizon.is_full()) return trace;
  const double n = static_cast<double>(clock.steps);
  const double s_lo = static_cast<double>(clock.steps_per_epoch_lo);
  const double s_hi = clock.steps_per_epoch_hi > 0 ? static_cast<double>(clock.steps_per_epoch_hi)
                                                   : std::numeric_limits<double>::infinity();
  double cut = 0;  // in steps; the lower bound of S keeps it no later than the true cut
  switch (horizon.unit) {
    case Horizon::Unit::kFraction:
      if (clock.planned_epochs <= 0) return std::nullopt;
      cut = horizon.value * static_cast<double>(clock.planned_epochs) * s_lo;
      break;
    case Horizon::Unit::kEpochs:
      cut = horizon.value * s_lo;
      break;
    case Horizon::Unit::kSteps:
      cut = horizon.value;
      break;
  }
  if (!(n > cut)) return std::nullopt;  // ended by the cut: nothing left to foresee

  db::Trace out;
  out.run_uuid = trace.run_uuid;
  out.program = trace.program;
  out.family = trace.family;
  out.task = trace.task;
  out.fault_ids = trace.fault_ids;
  out.faults_json = trace.faults_json;
  out.recipe_json = trace.recipe_json;
  out.outcome = kOutcomeRunning;
  for (const auto& [key, series] : trace.series) {
    const Index index = index_of(key, indexing);
    if (index == Index::kRunLevel) continue;
    db::Series kept;
    for (size_t i = 0; i < series.steps.size() && i < series.values.size(); ++i) {
      const double at = static_cast<double>(series.steps[i]);
      double taken = 0;
      switch (index) {
        case Index::kStep:
          taken = at + 1;
          break;
        case Index::kEpoch:
          taken = std::min((at + 1) * s_hi, n);
          break;
        case Index::kUpdates:
          taken = at;
          break;
        case Index::kRunLevel:
          break;
      }
      if (taken > cut) break;  // series are sorted by step, and time grows with it
      kept.steps.push_back(series.steps[i]);
      kept.values.push_back(series.values[i]);
    }
    if (!kept.empty()) out.series.emplace(key, std::move(kept));
  }
  return out;
}

HorizonCutter::HorizonCutter(db::Store& store, const std::string& campaign) {
  const std::vector<db::RunExtent> extents = db::run_extents(store, campaign);
  // S of the runs that completed every epoch they recorded, by program, batch size and data.
  const auto sibling_key = [](const db::RunExtent& e) {
    const auto j = nlohmann::json::parse(e.recipe_json, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return e.program + "|";
    const auto bs = j.find("batch_size");
    const auto data = j.find("data");
    return e.program + "|" + (bs == j.end() ? "" : bs->dump()) + "|" +
           (data == j.end() ? "" : data->dump());
  };
  std::unordered_map<std::string, int64_t> known;
  std::vector<std::string> keys;
  keys.reserve(extents.size());
  for (const auto& e : extents) {
    keys.push_back(sibling_key(e));
    if (e.outcome == "completed" && e.epochs > 0 && e.steps > 0 && e.steps % e.epochs == 0)
      known.emplace(keys.back(), e.steps / e.epochs);
  }
  for (size_t i = 0; i < extents.size(); ++i) {
    const db::RunExtent& e = extents[i];
    db::Trace facts;
    facts.recipe_json = e.recipe_json;
    RunClock c;
    c.steps = e.steps;
    c.planned_epochs = planned_epochs(facts);
    // Bounds from the run itself: N = (K - 1) S + r with 1 <= r <= S.
    const int64_t k = std::max<int64_t>(e.epochs, 1);
    c.steps_per_epoch_lo = std::max<int64_t>(1, (e.steps + k - 1) / k);
    c.steps_per_epoch_hi = k > 1 ? std::max<int64_t>(1, (e.steps - 1) / (k - 1)) : 0;
    if (e.outcome == "completed" && e.epochs > 0 && e.steps % e.epochs == 0) {
      c.steps_per_epoch_lo = c.steps_per_epoch_hi = std::max<int64_t>(1, e.steps / e.epochs);
    } else if (auto it = known.find(keys[i]);
               it != known.end() && it->second >= c.steps_per_epoch_lo &&
               (c.steps_per_epoch_hi == 0 || it->second <= c.steps_per_epoch_hi)) {
      c.steps_per_epoch_lo = c.steps_per_epoch_hi = it->second;
    } else {
      ++bounded_;
    }
    clocks_.emplace(e.run_uuid, c);
    campaign_of_.emplace(e.run_uuid, e.campaign);
    if (!indexing_.count(e.campaign)) {
      const auto text = store.campaign_config(e.campaign);
      indexing_.emplace(e.campaign, ProbeIndexing::from_config(text.value_or(""),
                                                               "campaign '" + e.campaign + "'"));
    }
  }
}

std::optional<db::Trace> HorizonCutter::cut(const db::Trace& trace, const Horizon& horizon) const {
  const auto it = clocks_.find(trace.run_uuid);
  DYNFAULT_CHECK(it != clocks_.end(), "HorizonCutter: run '", trace.run_uuid,
                 "' is not a FINISHED run of the campaign it was built for");
  return cut_trace(trace, horizon, it->second, indexing_.at(campaign_of_.at(trace.run_uuid)));
}

std::string unstable_or_stable(const std::string& triage) {
  if (triage.empty()) return "";
  return triage == "stable" ? "stable" : "unstable";
}

Label instability_ahead_label(const db::Trace& full, const db::Trace& prefix,
                              const InstabilityThresholds& thresholds) {
  const Label whole = instability_label(full, thresholds);
  const Label seen = instability_label(prefix, thresholds);
  Label out;
  // A prefix the rule cannot read (no epoch curve yet) shows no symptom either.
  const bool symptom = seen.value == "diverged" || seen.value == "oscillating";
  if (!whole.value.empty() && !symptom) out.value = unstable_or_stable(whole.value);
  nlohmann::json d;
  d["full"] = whole.value;
  d["prefix"] = seen.value;
  out.details = d.dump();
  return out;
}

}  // namespace dynfault::features
