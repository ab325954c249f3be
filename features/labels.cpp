#include "features/labels.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/yaml_util.h"
#include "db/store.h"
#include "features/horizon.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

using nlohmann::json;

// JSON cannot hold NaN/Inf: details record them as null (and the finite flag beside them).
json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<double> finite_only(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v)
    if (std::isfinite(x)) out.push_back(x);
  return out;
}

// --- YAML -----------------------------------------------------------------------------------

std::string read_class(const yaml::Doc& doc, const YAML::Node& node, const std::string& key,
                       const std::set<std::string>& classes) {
  const std::string cls = yaml::as<std::string>(doc, node, key);
  if (!cls.empty() && classes.count(cls) == 0)
    throw ConfigError(doc.file, yaml::line_of(node), key, cls,
                      "class not declared under 'classes' (declared: " +
                          join(std::vector<std::string>(classes.begin(), classes.end()), ", ") +
                          "; use \"\" for not applicable)");
  return cls;
}

std::map<std::string, std::string> read_class_map(const yaml::Doc& doc, const YAML::Node& node,
                                                  const std::string& where,
                                                  const std::set<std::string>& classes) {
  std::map<std::string, std::string> out;
  if (!node) return out;
  if (node.IsNull()) return out;
  yaml::require_map(doc, node, where);
  for (const auto& kv : node) {
    const std::string k = yaml::as<std::string>(doc, kv.first, where);
    out[k] = read_class(doc, kv.second, where + "." + k, classes);
  }
  return out;
}

Taxonomies parse_taxonomies_doc(const yaml::Doc& doc) {
  Taxonomies result;
  if (!doc.root || doc.root.IsNull()) throw ConfigError(doc.file, 0, "", "", "no taxonomy defined");
  yaml::require_map(doc, doc.root, "");
  for (const auto& entry : doc.root) {
    Taxonomy t;
    t.name = yaml::as<std::string>(doc, entry.first, "taxonomy name");
    const YAML::Node spec = entry.second;
    yaml::require_known_keys(doc, spec, {"description", "classes", "categories", "mutators"},
                             t.name);
    yaml::read_opt(doc, spec, "description", t.description);
    const YAML::Node classes = spec["classes"];
    if (!classes || !classes.IsSequence() || classes.size() == 0)
      throw ConfigError(doc.file, yaml::line_of(classes ? classes : spec), t.name + ".classes",
                        yaml::render(classes), "expected a non-empty list of class names");
    std::set<std::string> declared;
    for (const auto& c : classes) {
      const std::string name = yaml::as<std::string>(doc, c, t.name + ".classes");
      if (name.empty() || !declared.insert(name).second)
        throw ConfigError(doc.file, yaml::line_of(c), t.name + ".classes", name,
                          "class names must be non-empty and unique");
    }
    t.classes.assign(declared.begin(), declared.end());
    t.categories = read_class_map(doc, spec["categories"], t.name + ".categories", declared);
    t.mutators = read_class_map(doc, spec["mutators"], t.name + ".mutators", declared);
    result.list.push_back(std::move(t));
  }
  std::sort(result.list.begin(), result.list.end(),
            [](const Taxonomy& a, const Taxonomy& b) { return a.name < b.name; });
  return result;
}

double read_positive(const yaml::Doc& doc, const YAML::Node& map, const std::string& key,
                     const std::string& where, double fallback) {
  double v = fallback;
  yaml::read_opt(doc, map, key, v);
  if (!(std::isfinite(v) && v > 0))
    throw ConfigError(doc.file, yaml::line_of(map[key]), where + "." + key, yaml::render(map[key]),
                      "expected a positive number");
  return v;
}

Thresholds parse_thresholds_doc(const yaml::Doc& doc) {
  Thresholds t;
  if (!doc.root || doc.root.IsNull()) return t;
  yaml::require_known_keys(doc, doc.root, {"instability", "mismatch", "effective"}, "");
  if (const YAML::Node ef = doc.root["effective"]) {
    yaml::require_known_keys(doc, ef, {"alpha", "effect_size"}, "effective");
    t.effective.alpha = read_positive(doc, ef, "alpha", "effective", t.effective.alpha);
    if (t.effective.alpha >= 1)
      throw ConfigError(doc.file, yaml::line_of(ef["alpha"]), "effective.alpha",
                        yaml::render(ef["alpha"]), "expected a significance level below 1");
    t.effective.effect_size =
        read_positive(doc, ef, "effect_size", "effective", t.effective.effect_size);
  }
  if (const YAML::Node in = doc.root["instability"]) {
    yaml::require_known_keys(
        doc, in, {"huge_loss", "diverge_ratio", "accuracy_oscillation", "loss_oscillation"},
        "instability");
    auto& s = t.instability;
    s.huge_loss = read_positive(doc, in, "huge_loss", "instability", s.huge_loss);
    s.diverge_ratio = read_positive(doc, in, "diverge_ratio", "instability", s.diverge_ratio);
    if (const YAML::Node acc = in["accuracy_oscillation"]) {
      yaml::require_known_keys(doc, acc, {"zeta", "eta"}, "instability.accuracy_oscillation");
      s.acc_zeta = read_positive(doc, acc, "zeta", "instability.accuracy_oscillation", s.acc_zeta);
      s.acc_eta = read_positive(doc, acc, "eta", "instability.accuracy_oscillation", s.acc_eta);
    }
    if (const YAML::Node loss = in["loss_oscillation"]) {
      yaml::require_known_keys(doc, loss, {"rise", "eta"}, "instability.loss_oscillation");
      s.loss_rise = read_positive(doc, loss, "rise", "instability.loss_oscillation", s.loss_rise);
      s.loss_eta = read_positive(doc, loss, "eta", "instability.loss_oscillation", s.loss_eta);
    }
  }
  if (const YAML::Node mm = doc.root["mismatch"]) {
    yaml::require_known_keys(doc, mm, {"high_metric", "families"}, "mismatch");
    yaml::read_opt(doc, mm, "high_metric", t.mismatch.high_metric);
    if (const YAML::Node fam = mm["families"]) {
      yaml::require_map(doc, fam, "mismatch.families");
      for (const auto& kv : fam) {
        const std::string family = yaml::as<std::string>(doc, kv.first, "mismatch.families");
        const std::string where = "mismatch.families." + family;
        yaml::require_known_keys(doc, kv.second, {"gap", "gap_high_metric"}, where);
        MismatchThreshold m;
        m.gap = read_positive(doc, kv.second, "gap", where, m.gap);
        m.gap_high_metric =
            read_positive(doc, kv.second, "gap_high_metric", where, m.gap_high_metric);
        t.mismatch.families[family] = m;
      }
    }
  }
  return t;
}

// --- rules ------------------------------------------------------------------------------------

}  // namespace

std::string fault_type_task(const std::string& taxonomy) { return "fault_type/" + taxonomy; }

std::string Taxonomy::classify(const std::string& mutator, const std::string& category) const {
  if (auto it = mutators.find(mutator); it != mutators.end()) return it->second;
  if (auto it = categories.find(category); it != categories.end()) return it->second;
  return "";
}

std::vector<std::string> task_classes(const std::string& task, const Taxonomies& taxonomies) {
  if (const size_t at = task.find('@'); at != std::string::npos)
    return task_classes(task.substr(0, at), taxonomies);
  const std::string prefix = "fault_type/";
  if (task.rfind(prefix, 0) == 0) return taxonomies.get(task.substr(prefix.size())).classes;
  if (task == kTaskDetection) return {"clean", "faulty"};
  if (task == kTaskInstability) return {"diverged", "oscillating", "stable"};
  if (task == kTaskMismatch) return {"consistent", "mismatch"};
  if (task == kTaskEffective) return {"effective", "not_effective"};
  if (task == kTaskInstabilityAhead) return {"stable", "unstable"};
  return {};
}

const Taxonomy& Taxonomies::get(const std::string& name) const {
  for (const auto& t : list)
    if (t.name == name) return t;
  std::vector<std::string> names;
  for (const auto& t : list) names.push_back(t.name);
  throw Error("unknown taxonomy '" + name + "' (known: " + join(names, ", ") + ")");
}

Taxonomies load_taxonomies(const std::string& path) {
  return parse_taxonomies_doc(yaml::load_file(path));
}
Taxonomies parse_taxonomies(const std::string& yaml_text, const std::string& name) {
  return parse_taxonomies_doc(yaml::load_string(yaml_text, name));
}
Thresholds load_thresholds(const std::string& path) {
  return parse_thresholds_doc(yaml::load_file(path));
}
Thresholds parse_thresholds(const std::string& yaml_text, const std::string& name) {
  return parse_thresholds_doc(yaml::load_string(yaml_text, name));
}

const MismatchThreshold* MismatchThresholds::for_family(const std::string& family) const {
  if (auto it = families.find(family); it != families.end()) return &it->second;
  if (auto it = families.find("default"); it != families.end()) return &it->second;
  return nullptr;
}

Label fault_type_label(const db::Trace& trace, const Taxonomy& taxonomy) {
  json d = {{"taxonomy", taxonomy.name}};
  if (is_clean(trace)) {
    d["reason"] = "clean run";
    return {"", d.dump()};
  }
  // (mutator, category) of each injected fault; fault_ids alone (no faults_json) leaves the
  // category unknown, so only a mutator override can classify such a fault.
  std::vector<std::pair<std::string, std::string>> faults;
  const json arr = json::parse(trace.faults_json.empty() ? "[]" : trace.faults_json, nullptr,
                               /*allow_exceptions=*/false);
  if (!arr.is_array()) {
    d["reason"] = "unparsable faults_json";
    return {"", d.dump()};
  }
  for (const auto& f : arr) {
    std::string mutator, category;
    if (f.is_object()) {
      if (f.contains("mutator") && f["mutator"].is_string()) mutator = f["mutator"];
      if (f.contains("category") && f["category"].is_string()) category = f["category"];
    }
    faults.emplace_back(mutator, category);
  }
  if (faults.empty()) {
    size_t start = 0;
    while (start <= trace.fault_ids.size()) {
      const size_t plus = std::min(trace.fault_ids.find('+', start), trace.fault_ids.size());
      if (plus > start) faults.emplace_back(trace.fault_ids.substr(start, plus - start), "");
      start = plus + 1;
    }
  }
  json list = json::array();
  std::set<std::string> classes;
  bool unmapped = false;
  for (const auto& [mutator, category] : faults) {
    const std::string cls = taxonomy.classify(mutator, category);
    list.push_back({{"mutator", mutator}, {"category", category}, {"class", cls}});
    if (cls.empty())
      unmapped = true;
    else
      classes.insert(cls);
  }
  d["faults"] = list;
  if (unmapped) {
    d["reason"] = "a fault is not applicable under this taxonomy";
    return {"", d.dump()};
  }
  if (classes.size() != 1) {
    d["reason"] = "faults of different classes";
    return {"", d.dump()};
  }
  return {*classes.begin(), d.dump()};
}

Label detection_label(const db::Trace& trace) {
  const bool clean = is_clean(trace);
  json d = {{"fault_ids", trace.fault_ids}, {"rule", "injected fault present"}};
  return {clean ? "clean" : "faulty", d.dump()};
}

Label instability_label(const db::Trace& trace, const InstabilityThresholds& th) {
  const auto& step_loss = series_values(trace, keys::kStepLoss);
  const auto& train_loss = series_values(trace, keys::kTrainLoss);
  const auto& val_loss = series_values(trace, keys::kValLoss);
  const std::vector<double> acc = finite_only(series_values(trace, keys::kTrainMetric));
  const std::vector<double> loss = finite_only(train_loss);

  bool nonfinite = false;
  double max_abs_loss = 0;
  for (const auto* s : {&step_loss, &train_loss, &val_loss})
    for (double x : *s) {
      if (!std::isfinite(x))
        nonfinite = true;
      else
        max_abs_loss = std::max(max_abs_loss, std::fabs(x));
    }
  const double first = loss.empty() ? NAN : loss.front();
  const double final_loss = loss.empty() ? NAN : loss.back();
  const double min_loss = finite_min(loss);
  const bool ratio_blowup = !loss.empty() && min_loss > 0 &&
                            final_loss > th.diverge_ratio * min_loss && final_loss > first;

  json d = {{"outcome", trace.outcome},
            {"nonfinite_loss", nonfinite},
            {"max_abs_loss", num(max_abs_loss)},
            {"first_train_loss", num(first)},
            {"final_train_loss", num(final_loss)},
            {"min_train_loss", num(min_loss)},
            {"epochs", static_cast<int64_t>(train_loss.size())},
            {"huge_loss", th.huge_loss},
            {"diverge_ratio", th.diverge_ratio}};

  std::vector<std::string> why;
  if (trace.outcome == "nan_loss" || trace.outcome == "diverged") why.push_back("outcome");
  if (nonfinite) why.push_back("nonfinite loss");
  if (max_abs_loss >= th.huge_loss) why.push_back("huge loss");
  if (ratio_blowup) why.push_back("final loss above diverge_ratio x minimum");
  if (!why.empty()) {
    d["rule"] = join(why, ", ");
    return {"diverged", d.dump()};
  }
  if (trace.outcome == "exception" || trace.outcome == "timeout" || trace.outcome == "crashed") {
    d["rule"] = "not applicable: training ended by " + trace.outcome;
    return {"", d.dump()};
  }
  if (train_loss.empty()) {
    d["rule"] = "not applicable: no epoch/train_loss";
    return {"", d.dump()};
  }

  const int64_t pairs = oscillation_pairs(acc, th.acc_zeta);
  const double needed = th.acc_eta * static_cast<double>(acc.size());
  const bool acc_osc = acc.size() >= 3 && static_cast<double>(pairs) >= needed;
  int64_t rises = 0;
  for (size_t t = 1; t < loss.size(); ++t)
    if (loss[t] > loss[t - 1] + th.loss_rise * std::fabs(loss[t - 1])) ++rises;
  const int64_t transitions = loss.size() > 1 ? static_cast<int64_t>(loss.size()) - 1 : 0;
  const double rise_share =
      transitions > 0 ? static_cast<double>(rises) / static_cast<double>(transitions) : 0.0;
  const bool loss_osc = transitions >= 2 && rise_share >= th.loss_eta;
  d["acc_oscillation_pairs"] = pairs;
  d["acc_oscillation_needed"] = needed;
  d["acc_zeta"] = th.acc_zeta;
  d["loss_rises"] = rises;
  d["loss_rise_share"] = rise_share;
  d["loss_rise"] = th.loss_rise;
  d["loss_eta"] = th.loss_eta;
  if (acc_osc || loss_osc) {
    d["rule"] = acc_osc && loss_osc ? "accuracy and loss oscillation"
                                    : (acc_osc ? "accuracy oscillation" : "loss oscillation");
    return {"oscillating", d.dump()};
  }
  d["rule"] = "no divergence or oscillation";
  return {"stable", d.dump()};
}

Label mismatch_label(const db::Trace& trace, const MismatchThresholds& th) {
  json d = {{"family", trace.family}, {"task", trace.task}};
  const db::Series* train = trace.find(keys::kTrainMetric);
  const db::Series* val = trace.find(keys::kValMetric);
  int64_t epoch = -1;
  double tm = NAN, vm = NAN;
  // The last epoch recorded in both series; a NaN there is data (the label is then ""), not a
  // reason to look further back, which would no longer be the end of training.
  if (train && val) {
    for (size_t i = std::min(train->steps.size(), train->values.size()); i-- > 0;) {
      auto it = std::lower_bound(val->steps.begin(), val->steps.end(), train->steps[i]);
      if (it == val->steps.end() || *it != train->steps[i]) continue;
      const size_t j = static_cast<size_t>(it - val->steps.begin());
      if (j >= val->values.size()) continue;
      epoch = train->steps[i];
      tm = train->values[i];
      vm = val->values[j];
      break;
    }
  }
  d["epoch"] = epoch;
  d["train_metric"] = num(tm);
  d["val_metric"] = num(vm);
  const MismatchThreshold* m = th.for_family(trace.family);
  if (epoch < 0 || !std::isfinite(tm) || !std::isfinite(vm)) {
    d["rule"] = "not applicable: no finite end-of-training train and validation metric";
    return {"", d.dump()};
  }
  if (!m) {
    d["rule"] = "not applicable: no threshold for family '" + trace.family + "'";
    return {"", d.dump()};
  }
  const double gap = std::fabs(tm - vm);
  const double threshold = tm <= th.high_metric ? m->gap : m->gap_high_metric;
  d["gap"] = gap;
  d["threshold"] = threshold;
  d["high_metric"] = th.high_metric;
  d["rule"] = "|train_metric - val_metric| > threshold";
  return {gap > threshold ? "mismatch" : "consistent", d.dump()};
}

std::vector<std::pair<std::string, Label>> derive_trace_labels(const db::Trace& trace,
                                                               const Taxonomies& taxonomies,
                                                               const Thresholds& thresholds) {
  std::vector<std::pair<std::string, Label>> out;
  for (const auto& t : taxonomies.list)
    out.emplace_back(fault_type_task(t.name), fault_type_label(trace, t));
  out.emplace_back(kTaskDetection, detection_label(trace));
  out.emplace_back(kTaskInstability, instability_label(trace, thresholds.instability));
  out.emplace_back(kTaskMismatch, mismatch_label(trace, thresholds.mismatch));
  return out;
}

namespace {

// The tasks to compute: options.tasks(), or every task; an unknown name throws.
std::set<std::string> wanted_tasks(const LabelOptions& options, const Taxonomies& taxonomies) {
  std::vector<std::string> all_tasks;
  for (const auto& t : taxonomies.list) all_tasks.push_back(fault_type_task(t.name));
  all_tasks.insert(all_tasks.end(),
                   {kTaskDetection, kTaskInstability, kTaskMismatch, kTaskEffective});
  std::set<std::string> wanted(options.tasks().begin(), options.tasks().end());
  for (const auto& t : wanted)
    if (std::find(all_tasks.begin(), all_tasks.end(), t) == all_tasks.end() &&
        t != kTaskInstabilityAhead)
      throw Error("derive_labels(): unknown task '" + t + "' (known: " + join(all_tasks, ", ") +
                  ")");
  if (wanted.empty()) wanted.insert(all_tasks.begin(), all_tasks.end());
  return wanted;
}

// Calls fn on the FINISHED traces of the campaign, in chunks. Fault typing and detection read
// only the run's spec: without another task their traces are built from the runs table, without
// the metric series (seconds saved on a large corpus).
void for_each_labelled_trace(db::Store& store, const LabelOptions& options, bool series,
                             const std::function<void(std::vector<db::Trace>&)>& fn) {
  if (series) {
    for_each_trace_chunk(store, options.campaign(), options.chunk_size(), fn);
    return;
  }
  db::RunFilter filter;
  filter.campaign = options.campaign();
  filter.status = "FINISHED";
  std::vector<db::Trace> traces;
  for (const auto& r : store.runs(filter)) {
    db::Trace t;
    t.run_uuid = r.spec.run_uuid;
    t.program = r.spec.program;
    t.family = r.spec.family;
    t.task = r.spec.task;
    t.fault_ids = r.spec.fault_ids;
    t.faults_json = r.spec.faults_json;
    t.outcome = r.outcome;
    t.recipe_json = r.spec.recipe_json;
    traces.push_back(std::move(t));
  }
  std::sort(traces.begin(), traces.end(),
            [](const db::Trace& a, const db::Trace& b) { return a.run_uuid < b.run_uuid; });
  fn(traces);
}

}  // namespace

std::vector<LabelSet> compute_labels_at(db::Store& store, const LabelOptions& options,
                                        const std::vector<Horizon>& horizons) {
  store.require_campaign(options.campaign());
  // Both configs load before anything is read: a bad file changes nothing.
  const Taxonomies taxonomies = load_taxonomies(options.taxonomies_path());
  const Thresholds thresholds = load_thresholds(options.thresholds_path());
  const std::set<std::string> wanted = wanted_tasks(options, taxonomies);
  bool series = false;
  for (const auto& t : wanted)
    series = series || t == kTaskInstability || t == kTaskMismatch || t == kTaskEffective ||
             t == kTaskInstabilityAhead;
  bool any_cut = false;
  for (const auto& h : horizons) any_cut = any_cut || !h.is_full();
  std::optional<HorizonCutter> cutter;
  if (any_cut) cutter.emplace(store, options.campaign());

  const bool want_effective = wanted.count(kTaskEffective) > 0;
  std::vector<LabelSet> out(horizons.size());
  std::vector<std::vector<KillingInput>> killing(horizons.size());
  // A trace does not carry its seed; the killing test pairs runs by it.
  std::unordered_map<std::string, int64_t> seed_of;
  if (want_effective) {
    db::RunFilter filter;
    filter.campaign = options.campaign();
    for (const auto& r : store.runs(filter)) seed_of[r.spec.run_uuid] = r.spec.seed;
  }
  // Each stored trace is read once and cut at every horizon (the rule per horizon reads only
  // its prefix).
  for_each_labelled_trace(store, options, series, [&](std::vector<db::Trace>& chunk) {
    for (const auto& stored : chunk)
      for (size_t k = 0; k < horizons.size(); ++k) {
        std::optional<db::Trace> cut;
        if (!horizons[k].is_full() && !(cut = cutter->cut(stored, horizons[k]))) continue;
        const db::Trace& trace = cut ? *cut : stored;
        LabelSet& set = out[k];
        ++set.counts.traces;
        if (want_effective) killing[k].push_back(killing_input(trace, seed_of[trace.run_uuid]));
        for (auto& [task, label] : derive_trace_labels(trace, taxonomies, thresholds)) {
          if (task == kTaskInstability && wanted.count(kTaskInstabilityAhead)) {
            // A prefix the rule cannot read yet (no epoch ended) shows no symptom: "stable", as
            // instability_ahead_label counts it.
            const std::string ahead =
                cut && label.value.empty() ? "stable" : unstable_or_stable(label.value);
            ++set.counts.by_task[kTaskInstabilityAhead][ahead];
            set.rows[kTaskInstabilityAhead].push_back(
                db::LabelRow{trace.run_uuid, ahead, label.details});
          }
          if (!wanted.count(task)) continue;
          ++set.counts.by_task[task][label.value];
          set.rows[task].push_back(db::LabelRow{trace.run_uuid, label.value, label.details});
        }
      }
  });
  for (size_t k = 0; k < horizons.size(); ++k) {
    LabelSet& set = out[k];
    if (want_effective) {
      set.rows[kTaskEffective] = effective_labels(killing[k], thresholds.effective);
      for (const auto& r : set.rows[kTaskEffective]) ++set.counts.by_task[kTaskEffective][r.label];
    }
    for (const auto& task : wanted) {
      set.rows[task];
      set.counts.by_task[task];  // a task with no runs still appears in the report
    }
  }
  return out;
}

LabelSet compute_labels(db::Store& store, const LabelOptions& options) {
  return std::move(compute_labels_at(store, options, {options.horizon()}).front());
}

LabelCounts derive_labels(db::Store& store, const LabelOptions& options) {
  // Labels come from the whole run; a rule applied to a prefix is a prediction, never stored.
  DYNFAULT_CHECK(options.horizon().is_full(), "derive_labels(): labels come from the whole run, ",
                 "got horizon ", options.horizon().describe());
  LabelSet labels = compute_labels(store, options);
  // write_labels replaces a whole task: keep the rows of runs outside this campaign.
  std::unordered_set<std::string> campaign_runs;
  if (!options.campaign().empty()) {
    db::RunFilter filter;
    filter.campaign = options.campaign();
    for (const auto& r : store.runs(filter)) campaign_runs.insert(r.spec.run_uuid);
  }
  for (auto& [task, out] : labels.rows) {
    if (!options.campaign().empty())
      for (auto& old : store.labels(task))
        if (!campaign_runs.count(old.run_uuid)) out.push_back(std::move(old));
    std::sort(out.begin(), out.end(),
              [](const db::LabelRow& a, const db::LabelRow& b) { return a.run_uuid < b.run_uuid; });
    store.write_labels(task, out);
  }
  return labels.counts;
}

}  // namespace dynfault::features
