// The DeepCrime/DeepFD/DEFault killing test (task "effective"), paired by seed.
//
// A mutant run and the clean run of the same program with the same seed share their
// initialisation, data order and dropout stream (runner/campaign.cpp derives the seed from
// (campaign seed, program, repetition) only), so their difference removes the seed's share of the
// variance: the test is the paired t test on the per-seed differences clean - mutant. Until
// 2026-12-05 it was the pooled two-sample t test, which ignores that pairing and so had less
// power at the same repetitions. The effect-size criterion keeps DeepCrime's Cohen's d over the
// two sides (the effect must be large against the seed-to-seed spread of training, not only
// against the spread of the differences). Each verdict's details name the test and its power to
// detect d_z = effect_size at the pairs it had.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "db/store.h"
#include "features/labels.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

using nlohmann::json;

json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

// Variance (ddof = 1) of v around its mean m.
double variance(const std::vector<double>& v, double m) {
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return ss / static_cast<double>(v.size() - 1);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Signed infinity of x's sign, 0 for 0.
double signed_inf(double x) { return x > 0 ? INFINITY : (x < 0 ? -INFINITY : 0.0); }

}  // namespace

KillingTest killing_test(const std::vector<double>& clean, const std::vector<double>& mutant,
                         const EffectiveThresholds& th) {
  DYNFAULT_CHECK(clean.size() == mutant.size(), "killing_test(): ", clean.size(), " clean and ",
                 mutant.size(), " mutant values; they must pair by seed");
  std::vector<double> c, m, diff;
  for (size_t i = 0; i < clean.size(); ++i) {
    if (!std::isfinite(clean[i]) || !std::isfinite(mutant[i])) continue;
    c.push_back(clean[i]);
    m.push_back(mutant[i]);
    diff.push_back(clean[i] - mutant[i]);
  }
  DYNFAULT_CHECK(diff.size() >= 2, "killing_test(): needs >= 2 seeds with a finite metric on ",
                 "both sides, got ", diff.size());
  KillingTest k;
  k.n_pairs = static_cast<int64_t>(diff.size());
  const double n = static_cast<double>(k.n_pairs);
  k.mean_clean = mean(c);
  k.mean_mutant = mean(m);
  k.mean_diff = mean(diff);
  k.sd_diff = std::sqrt(variance(diff, k.mean_diff));
  k.df = n - 1;
  if (k.sd_diff > 0) {
    k.t = k.mean_diff / (k.sd_diff / std::sqrt(n));
    k.d_z = k.mean_diff / k.sd_diff;
    k.p = student_t_two_sided_p(k.t, k.df);
  } else {  // every seed lost the same amount: certain when it is not zero
    k.t = k.d_z = signed_inf(k.mean_diff);
    k.p = k.mean_diff == 0 ? 1.0 : 0.0;
  }
  const double pooled_sd =
      std::sqrt(0.5 * (variance(c, k.mean_clean) + variance(m, k.mean_mutant)));
  k.d = pooled_sd > 0 ? (k.mean_clean - k.mean_mutant) / pooled_sd
                      : signed_inf(k.mean_clean - k.mean_mutant);
  k.power = paired_t_power(k.n_pairs, th.effect_size, th.alpha);
  k.effective = k.p < th.alpha && k.d >= th.effect_size;
  return k;
}

double chance_level(const db::Trace& trace) {
  if (trace.task == "regression") return 0.0;
  if (trace.task == "binary") return 0.5;
  const json r = json::parse(trace.recipe_json.empty() ? "{}" : trace.recipe_json, nullptr,
                             /*allow_exceptions=*/false);
  if (r.is_object() && r.contains("layers") && r["layers"].is_array())
    for (auto it = r["layers"].rbegin(); it != r["layers"].rend(); ++it) {
      if (!it->is_object() || it->value("type", "") != "linear") continue;
      const auto out = it->find("out");
      if (out == it->end() || !out->is_number()) break;
      const double k = out->get<double>();
      if (k == 1) return 0.5;  // one logit: a binary classifier
      return k >= 2 ? 1.0 / k : 0.0;
    }
  return 0.0;
}

KillingInput killing_input(const db::Trace& trace, int64_t seed) {
  KillingInput in;
  in.run_uuid = trace.run_uuid;
  in.seed = seed;
  in.program = trace.program;
  in.clean = is_clean(trace);
  const json faults = json::parse(trace.faults_json.empty() ? "[]" : trace.faults_json, nullptr,
                                  /*allow_exceptions=*/false);
  // nlohmann's objects are sorted maps: dump() is canonical whatever the key order written.
  in.config = faults.is_discarded() ? trace.faults_json : faults.dump();
  if (in.clean) in.config = "[]";
  in.metric = NAN;
  in.source = "none";
  if (trace.outcome == "nan_loss" || trace.outcome == "diverged") {
    in.metric = chance_level(trace);
    in.source = "chance (" + trace.outcome + ")";
    return in;
  }
  if (trace.outcome == "exception" || trace.outcome == "timeout" || trace.outcome == "crashed")
    return in;
  const double test = finite_last(series_values(trace, "final/test_metric"));
  if (std::isfinite(test)) {
    in.metric = test;
    in.source = "final/test_metric";
    return in;
  }
  const auto& val = series_values(trace, keys::kValMetric);
  if (!val.empty() && std::isfinite(val.back())) {
    in.metric = val.back();
    in.source = "epoch/val_metric";
  }
  return in;
}

namespace {

// The details of one configuration's verdict (shared by its runs), and the verdict ("" = none).
std::pair<json, std::string> configuration_verdict(const std::map<int64_t, double>& clean,
                                                   const std::map<int64_t, double>& mutant,
                                                   size_t mutant_runs,
                                                   const EffectiveThresholds& th) {
  std::vector<double> c, m;
  for (const auto& [seed, metric] : mutant)
    if (auto it = clean.find(seed); it != clean.end()) {
      c.push_back(it->second);
      m.push_back(metric);
    }
  json d = {{"n_pairs", c.size()},
            {"n_mutant", mutant_runs},
            {"n_clean", clean.size()},
            {"alpha", th.alpha},
            {"effect_size", th.effect_size},
            {"test",
             "paired t on per-seed differences clean - mutant (two-sided); effective when p < "
             "alpha and Cohen's d >= effect_size"}};
  if (c.size() < 2) {
    d["reason"] = "needs >= 2 seeds with a finished mutant and clean run, both with a metric";
    return {d, ""};
  }
  const KillingTest k = killing_test(c, m, th);
  d["mean_clean"] = num(k.mean_clean);
  d["mean_mutant"] = num(k.mean_mutant);
  d["mean_diff"] = num(k.mean_diff);
  d["sd_diff"] = num(k.sd_diff);
  d["t"] = num(k.t);
  d["df"] = k.df;
  d["p"] = num(k.p);
  d["d"] = num(k.d);
  d["d_z"] = num(k.d_z);
  if (std::isinf(k.d)) d["d_infinite"] = k.d > 0 ? "+inf" : "-inf";
  d["power"] = num(k.power);
  d["power_definition"] =
      "power of this test to detect d_z = effect_size with n_pairs pairs "
      "at alpha (noncentral t)";
  return {d, k.effective ? "effective" : "not_effective"};
}

}  // namespace

std::vector<db::LabelRow> effective_labels(const std::vector<KillingInput>& runs,
                                           const EffectiveThresholds& th) {
  // program -> seed -> clean metric. Two clean runs with one seed (not produced by a campaign,
  // whose ids would collide) keep the first by run id: the pairing must stay one to one.
  std::map<std::string, std::map<int64_t, double>> clean;
  std::map<std::pair<std::string, std::string>, std::vector<const KillingInput*>> configs;
  std::vector<const KillingInput*> sorted;
  for (const auto& r : runs) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(),
            [](const KillingInput* a, const KillingInput* b) { return a->run_uuid < b->run_uuid; });
  for (const auto* r : sorted) {
    if (r->clean) {
      if (std::isfinite(r->metric)) clean[r->program].emplace(r->seed, r->metric);
    } else {
      configs[{r->program, r->config}].push_back(r);
    }
  }
  std::vector<db::LabelRow> out;
  for (const auto& r : runs)
    if (r.clean) out.push_back({r.run_uuid, "", json{{"reason", "clean run"}}.dump()});
  for (const auto& [key, members] : configs) {
    std::map<int64_t, double> mutant;
    for (const auto* m : members)
      if (std::isfinite(m->metric)) mutant.emplace(m->seed, m->metric);
    const auto& ref = clean[key.first];
    auto [d, label] = configuration_verdict(ref, mutant, members.size(), th);
    for (const auto* m : members) {
      json md = d;
      md["metric"] = num(m->metric);
      md["metric_source"] = m->source;
      md["seed"] = m->seed;
      md["paired"] = std::isfinite(m->metric) && ref.count(m->seed) > 0;
      out.push_back({m->run_uuid, std::isfinite(m->metric) ? label : "", md.dump()});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const db::LabelRow& a, const db::LabelRow& b) { return a.run_uuid < b.run_uuid; });
  return out;
}

std::vector<OperatorEffectiveness> effectiveness_by_operator(const db::Store& store,
                                                             const std::string& campaign) {
  db::RunFilter filter;
  filter.campaign = campaign;
  std::unordered_map<std::string, const db::RunRow*> run_of;
  const std::vector<db::RunRow> runs = store.runs(filter);
  for (const auto& r : runs) run_of[r.spec.run_uuid] = &r;
  // (program, canonical faults) -> (fault_ids, effective?)
  std::map<std::pair<std::string, std::string>, std::pair<std::string, bool>> verdicts;
  for (const auto& l : store.labels(kTaskEffective)) {
    if (l.label.empty()) continue;
    auto it = run_of.find(l.run_uuid);
    if (it == run_of.end()) continue;
    const db::RunSpec& spec = it->second->spec;
    const json f = json::parse(spec.faults_json, nullptr, /*allow_exceptions=*/false);
    verdicts[{spec.program, f.is_discarded() ? spec.faults_json : f.dump()}] = {
        spec.fault_ids, l.label == "effective"};
  }
  std::map<std::string, OperatorEffectiveness> by;
  for (const auto& [key, v] : verdicts) {
    OperatorEffectiveness& o = by[v.first];
    o.mutator = v.first;
    ++o.mutants;
    o.effective += v.second ? 1 : 0;
  }
  std::vector<OperatorEffectiveness> out;
  for (auto& [id, o] : by) {
    o.rate = static_cast<double>(o.effective) / static_cast<double>(o.mutants);
    out.push_back(o);
  }
  return out;
}

}  // namespace dynfault::features
