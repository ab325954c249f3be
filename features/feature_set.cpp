#include "features/feature_set.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <unordered_set>

#include "db/database.h"
#include "db/store.h"
#include "features/labels.h"
#include "features/trace_util.h"

namespace dynfault::features {
DYNFAULT_DEFINE_REGISTRY(FeatureSetFactory, feature_set_registry, "feature set")

FeatureSet::FeatureSet(std::string name, std::string description, std::vector<std::string> names,
                       Compute compute, std::vector<LabelInputs> label_inputs)
    : name_(std::move(name)),
      description_(std::move(description)),
      names_(std::move(names)),
      compute_(std::move(compute)),
      label_inputs_(std::move(label_inputs)) {
  DYNFAULT_CHECK(!name_.empty(), "FeatureSet: empty name");
  if (label_inputs_.empty()) label_inputs_.assign(names_.size(), kInputNone);
  DYNFAULT_CHECK(label_inputs_.size() == names_.size(), "FeatureSet '", name_,
                 "': ", label_inputs_.size(), " label-input declarations for ", names_.size(),
                 " columns");
  DYNFAULT_CHECK(static_cast<bool>(compute_), "FeatureSet '", name_, "': no compute function");
  std::unordered_set<std::string> seen;
  for (const auto& n : names_)
    DYNFAULT_CHECK(seen.insert(n).second, "FeatureSet '", name_, "': column '", n,
                   "' appears twice");
}

namespace {

std::vector<std::string> split_alternatives(const std::string& entry) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t bar = entry.find('|', start);
    out.push_back(entry.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

std::string shown_entry(const std::string& entry) {
  std::string out;
  for (const auto& a : split_alternatives(entry)) out += (out.empty() ? "" : " or ") + a;
  return out;
}

}  // namespace

bool has_series_matching(const db::Trace& trace, const std::string& pattern) {
  const size_t open = pattern.find('<');
  if (open == std::string::npos) return trace.series.count(pattern) > 0;
  // Keys are sorted: only those starting with the literal part before the placeholder.
  const std::string prefix = pattern.substr(0, open);
  for (auto it = trace.series.lower_bound(prefix);
       it != trace.series.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    if (db::matches_key_pattern(pattern, it->first)) return true;
  return false;
}

void FeatureSet::declare_inputs(std::vector<ColumnInputs> inputs) {
  DYNFAULT_CHECK(inputs.size() == names_.size(), "FeatureSet '", name_, "': ", inputs.size(),
                 " input declarations for ", names_.size(), " columns");
  std::map<std::string, size_t> index;
  need_index_.assign(inputs.size(), {});
  needs_alternatives_.clear();
  const auto& known = db::metric_key_patterns();
  const auto check_known = [&](size_t c, const std::string& pattern) {
    DYNFAULT_CHECK(std::find(known.begin(), known.end(), pattern) != known.end(), "FeatureSet '",
                   name_, "': column '", names_[c], "' reads '", pattern,
                   "', which is no key pattern of db/trace.h");
  };
  for (size_t c = 0; c < inputs.size(); ++c) {
    for (const auto& r : inputs[c].reads) check_known(c, r);
    for (const auto& entry : inputs[c].needs) {
      std::vector<size_t> alternatives;
      for (const auto& a : split_alternatives(entry)) {
        check_known(c, a);
        auto [it, added] = index.emplace(a, needs_alternatives_.size());
        if (added) needs_alternatives_.push_back(a);
        alternatives.push_back(it->second);
      }
      need_index_[c].push_back(std::move(alternatives));
    }
  }
  inputs_ = std::move(inputs);
}

std::vector<MissingInput> FeatureSet::missing_inputs(const db::Trace& trace) const {
  std::vector<MissingInput> groups;
  if (inputs_.empty()) return groups;
  std::vector<char> present(needs_alternatives_.size());
  for (size_t i = 0; i < present.size(); ++i)
    present[i] = has_series_matching(trace, needs_alternatives_[i]) ? 1 : 0;
  std::map<std::string, size_t> group_of;
  for (size_t c = 0; c < inputs_.size(); ++c) {
    std::string absent;
    for (size_t e = 0; e < need_index_[c].size(); ++e) {
      bool any = false;
      for (size_t a : need_index_[c][e]) any = any || present[a];
      if (!any) absent += (absent.empty() ? "" : " and ") + shown_entry(inputs_[c].needs[e]);
    }
    if (absent.empty()) continue;
    auto [it, added] = group_of.emplace(absent, groups.size());
    if (added) groups.push_back(MissingInput{absent, {}});
    groups[it->second].columns.push_back(names_[c]);
  }
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    return a.columns.size() > b.columns.size();
  });
  return groups;
}

std::vector<double> FeatureSet::values(const db::Trace& trace) const {
  std::vector<double> v = compute_(trace);
  // Defect #1 of prior work (DeepFD's shifted header): a row must match its header exactly.
  DYNFAULT_CHECK(v.size() == names_.size(), "feature set '", name_, "' returned ", v.size(),
                 " values for ", names_.size(), " columns (run ", trace.run_uuid, ")");
  if (!needs_alternatives_.empty()) {
    // A missing input is missing: a column that lacks one of its needs is NaN, whatever the
    // function made of the absence (DeepFD's counters start at 0, for example).
    std::vector<char> present(needs_alternatives_.size());
    for (size_t i = 0; i < present.size(); ++i)
      present[i] = has_series_matching(trace, needs_alternatives_[i]) ? 1 : 0;
    for (size_t c = 0; c < v.size(); ++c)
      for (const auto& alternatives : need_index_[c]) {
        bool any = false;
        for (size_t a : alternatives) any = any || present[a];
        if (!any) {
          v[c] = std::numeric_limits<double>::quiet_NaN();
          break;
        }
      }
  }
  return v;
}

FeatureVector FeatureSet::compute(const db::Trace& trace) const {
  return FeatureVector{names_, values(trace)};
}

std::vector<std::string> FeatureSet::restating_columns(LabelInputs task_inputs) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < names_.size(); ++i)
    if (label_inputs_[i] & task_inputs) out.push_back(names_[i]);
  return out;
}

FeatureSet make_row_feature_set(std::string name, std::string description,
                                void (*fill)(const db::Trace&, FeatureRow&)) {
  FeatureRow empty;
  empty.declaring = true;
  fill(db::Trace{}, empty);
  FeatureSet set(
      std::move(name), std::move(description), empty.names,
      [fill](const db::Trace& trace) {
        FeatureRow row;
        row.names.reserve(64);
        fill(trace, row);
        return std::move(row.values);
      },
      empty.label_inputs);
  set.declare_inputs(std::move(empty.inputs));
  return set;
}

std::vector<std::string> feature_set_names() { return feature_set_registry().ids(); }

std::vector<std::string> default_feature_sets() {
  return {"deepfd", "curves", "default", "curvature", "optimizer", "activation", "config"};
}

std::vector<std::string> split_feature_set_spec(const std::string& spec) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t plus = spec.find('+', start);
    parts.push_back(
        spec.substr(start, plus == std::string::npos ? std::string::npos : plus - start));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return parts;
}

FeatureSet feature_set(const std::string& spec) {
  std::vector<FeatureSet> parts;
  for (const auto& name : split_feature_set_spec(spec)) {
    const FeatureSetFactory* factory = feature_set_registry().find(name);
    if (!factory)
      throw Error(unknown_name_message("feature set", name, feature_set_names()) + " in '" + spec +
                  "'");
    parts.push_back((*factory)());
    DYNFAULT_CHECK(parts.back().name() == name, "feature set registered as '", name,
                   "' builds a set named '", parts.back().name(), "'");
  }
  if (parts.size() == 1) return parts.front();
  std::vector<std::string> names;
  std::vector<LabelInputs> label_inputs;
  std::vector<ColumnInputs> inputs;
  bool declared = true;
  std::string description = "union of";
  for (const auto& p : parts) {
    names.insert(names.end(), p.names().begin(), p.names().end());
    label_inputs.insert(label_inputs.end(), p.label_inputs().begin(), p.label_inputs().end());
    inputs.insert(inputs.end(), p.inputs().begin(), p.inputs().end());
    declared = declared && !p.inputs().empty();
    description += " " + p.name();
  }
  // The FeatureSet constructor rejects a column present in two parts.
  FeatureSet set(
      spec, description, names,
      [parts](const db::Trace& trace) {
        std::vector<double> v;
        for (const auto& p : parts) {
          const std::vector<double> part = p.values(trace);
          v.insert(v.end(), part.begin(), part.end());
        }
        return v;
      },
      label_inputs);
  if (declared) set.declare_inputs(std::move(inputs));
  return set;
}

void register_feature_set(FeatureSet set) {
  DYNFAULT_CHECK(set.name().find('+') == std::string::npos, "register_feature_set(): name '",
                 set.name(), "' must not contain '+' (reserved for unions)");
  const std::string name = set.name();
  feature_set_registry().add(name, [set = std::move(set)] { return set; });
}

namespace {

// Keeps other campaigns' rows of a set's stored table when its columns are unchanged
// (write_features replaces a whole set; a changed definition invalidates them).
void keep_other_campaigns(db::Store& store, const std::string& campaign,
                          const std::vector<std::string>& stored, db::FeatureTable& table) {
  if (campaign.empty() ||
      std::find(stored.begin(), stored.end(), table.feature_set) == stored.end())
    return;
  db::RunFilter filter;
  filter.campaign = campaign;
  std::unordered_set<std::string> campaign_runs;
  for (const auto& r : store.runs(filter)) campaign_runs.insert(r.spec.run_uuid);
  db::FeatureTable old = store.features(table.feature_set);
  if (old.names != table.names) return;
  for (size_t i = 0; i < old.run_uuids.size(); ++i)
    if (!campaign_runs.count(old.run_uuids[i])) {
      table.run_uuids.push_back(old.run_uuids[i]);
      table.rows.push_back(std::move(old.rows[i]));
    }
}

// One trace's rows of every set, at the horizon (nothing when the run ended by the cut), and
// its instability_ahead label there.
struct TraceRows {
  bool alive = false;
  std::vector<std::vector<double>> rows;
  Label ahead;
};

TraceRows trace_rows(const db::Trace& trace, const std::vector<FeatureSet>& sets,
                     const ExtractOptions& o, const HorizonCutter* cutter,
                     const InstabilityThresholds& thresholds) {
  TraceRows out;
  std::optional<db::Trace> cut;
  if (cutter) {
    cut = cutter->cut(trace, o.horizon());
    if (!cut) return out;
    out.ahead = instability_ahead_label(trace, *cut, thresholds);
  }
  out.alive = true;
  const db::Trace& seen = cut ? *cut : trace;
  for (const auto& set : sets) out.rows.push_back(set.values(seen));
  return out;
}

}  // namespace

ExtractReport extract_features(db::Store& store, const ExtractOptions& options) {
  store.require_campaign(options.campaign());
  DYNFAULT_CHECK(options.threads() >= 1 && options.threads() <= kMaxThreads,
                 "extract_features(): threads (--threads) must be in [1, ", kMaxThreads, "], got ",
                 options.threads());
  DYNFAULT_CHECK(!options.feature_sets().empty(), "extract_features(): no feature set given");
  std::vector<FeatureSet> sets;  // resolved first: an unknown name fails before any work
  for (const auto& spec : options.feature_sets()) sets.push_back(feature_set(spec));
  const Horizon& horizon = options.horizon();
  if (horizon.unit == Horizon::Unit::kFraction) Horizon::fraction(horizon.value);  // validates
  std::optional<HorizonCutter> cutter;
  InstabilityThresholds thresholds;
  if (!horizon.is_full()) {
    thresholds = load_thresholds(options.thresholds_path()).instability;
    cutter.emplace(store, options.campaign());
  }

  std::vector<db::FeatureTable> tables(sets.size());
  for (size_t s = 0; s < sets.size(); ++s) {
    tables[s].feature_set = at_horizon(sets[s].name(), horizon);
    tables[s].names = sets[s].names();
  }
  std::vector<db::LabelRow> ahead;
  ExtractReport report;
  for_each_trace_chunk(
      store, options.campaign(), options.chunk_size(), [&](std::vector<db::Trace>& chunk) {
        const int64_t n = static_cast<int64_t>(chunk.size());
        std::vector<TraceRows> rows(chunk.size());
        std::string error;
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp parallel for num_threads(options.threads()) schedule(dynamic)
#endif
        for (int64_t i = 0; i < n; ++i) {
          try {
            rows[static_cast<size_t>(i)] = trace_rows(chunk[static_cast<size_t>(i)], sets, options,
                                                      cutter ? &*cutter : nullptr, thresholds);
          } catch (const std::exception& e) {
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp critical(dynfault_extract_error)
#endif
            if (error.empty()) error = e.what();
          }
        }
        if (!error.empty()) throw Error("extract_features(): " + error);
        for (size_t i = 0; i < chunk.size(); ++i) {
          if (!rows[i].alive) continue;
          ++report.alive;
          for (size_t s = 0; s < sets.size(); ++s) {
            tables[s].run_uuids.push_back(chunk[i].run_uuid);
            tables[s].rows.push_back(std::move(rows[i].rows[s]));
          }
          if (cutter) {
            ahead.push_back(
                db::LabelRow{chunk[i].run_uuid, rows[i].ahead.value, rows[i].ahead.details});
            ++report.ahead[rows[i].ahead.value];
          }
        }
        report.traces += n;
      });
  if (cutter) {
    report.bounded = cutter->bounded_runs();
    if (report.alive == 0)
      throw Error("extract_features(): no run of " +
                  (options.campaign().empty() ? std::string("the database")
                                              : "campaign '" + options.campaign() + "'") +
                  " is still training at horizon " + horizon.describe() + " (" +
                  std::to_string(report.traces) + " traces); nothing stored");
  }

  // Every table and the labels of the horizon in one transaction: all or nothing.
  db::Transaction tx(store.database());
  const std::vector<std::string> stored = store.feature_sets();
  for (auto& table : tables) {
    keep_other_campaigns(store, options.campaign(), stored, table);
    store.write_features(table);
    report.tables[table.feature_set] = {static_cast<int64_t>(table.rows.size()),
                                        static_cast<int64_t>(table.names.size())};
  }
  if (cutter) {
    const std::string task = at_horizon(kTaskInstabilityAhead, horizon);
    if (!options.campaign().empty()) {
      db::RunFilter filter;
      filter.campaign = options.campaign();
      std::unordered_set<std::string> campaign_runs;
      for (const auto& r : store.runs(filter)) campaign_runs.insert(r.spec.run_uuid);
      for (auto& old : store.labels(task))
        if (!campaign_runs.count(old.run_uuid)) ahead.push_back(std::move(old));
    }
    std::sort(ahead.begin(), ahead.end(),
              [](const db::LabelRow& a, const db::LabelRow& b) { return a.run_uuid < b.run_uuid; });
    store.write_labels(task, ahead);
  }
  tx.commit();
  return report;
}

}  // namespace dynfault::features
