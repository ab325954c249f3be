#include "features/feature_set.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "db/store.h"
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

std::vector<double> FeatureSet::values(const db::Trace& trace) const {
  std::vector<double> v = compute_(trace);
  // Defect #1 of prior work (DeepFD's shifted header): a row must match its header exactly.
  DYNFAULT_CHECK(v.size() == names_.size(), "feature set '", name_, "' returned ", v.size(),
                 " values for ", names_.size(), " columns (run ", trace.run_uuid, ")");
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
  fill(db::Trace{}, empty);
  return FeatureSet(
      std::move(name), std::move(description), empty.names,
      [fill](const db::Trace& trace) {
        FeatureRow row;
        row.names.reserve(64);
        fill(trace, row);
        return std::move(row.values);
      },
      empty.label_inputs);
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
      throw Error(unknown_name_message("feature set", name, feature_set_names()) + " in '" +
                  spec + "'");
    parts.push_back((*factory)());
    DYNFAULT_CHECK(parts.back().name() == name, "feature set registered as '", name,
                   "' builds a set named '", parts.back().name(), "'");
  }
  if (parts.size() == 1) return parts.front();
  std::vector<std::string> names;
  std::vector<LabelInputs> inputs;
  std::string description = "union of";
  for (const auto& p : parts) {
    names.insert(names.end(), p.names().begin(), p.names().end());
    inputs.insert(inputs.end(), p.label_inputs().begin(), p.label_inputs().end());
    description += " " + p.name();
  }
  // The FeatureSet constructor rejects a column present in two parts.
  return FeatureSet(
      spec, description, names,
      [parts](const db::Trace& trace) {
        std::vector<double> v;
        for (const auto& p : parts) {
          const std::vector<double> part = p.values(trace);
          v.insert(v.end(), part.begin(), part.end());
        }
        return v;
      },
      inputs);
}

void register_feature_set(FeatureSet set) {
  DYNFAULT_CHECK(set.name().find('+') == std::string::npos, "register_feature_set(): name '",
                 set.name(), "' must not contain '+' (reserved for unions)");
  const std::string name = set.name();
  feature_set_registry().add(name, [set = std::move(set)] { return set; });
}

ExtractReport extract_features(db::Store& store, const ExtractOptions& options) {
  DYNFAULT_CHECK(options.threads() >= 1, "extract_features(): threads must be >= 1, got ",
                 options.threads());
  DYNFAULT_CHECK(!options.feature_sets().empty(), "extract_features(): no feature set given");
  std::vector<FeatureSet> sets;  // resolved first: an unknown name fails before any work
  for (const auto& spec : options.feature_sets()) sets.push_back(feature_set(spec));

  std::vector<db::FeatureTable> tables(sets.size());
  for (size_t s = 0; s < sets.size(); ++s) {
    tables[s].feature_set = sets[s].name();
    tables[s].names = sets[s].names();
  }
  ExtractReport report;
  for_each_trace_chunk(
      store, options.campaign(), options.chunk_size(), [&](std::vector<db::Trace>& chunk) {
        const int64_t n = static_cast<int64_t>(chunk.size());
        std::vector<std::vector<std::vector<double>>> rows(
            sets.size(), std::vector<std::vector<double>>(chunk.size()));
        std::string error;
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp parallel for num_threads(options.threads()) schedule(dynamic)
#endif
        for (int64_t i = 0; i < n; ++i) {
          try {
            for (size_t s = 0; s < sets.size(); ++s)
              rows[s][static_cast<size_t>(i)] = sets[s].values(chunk[static_cast<size_t>(i)]);
          } catch (const std::exception& e) {
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp critical(dynfault_extract_error)
#endif
            if (error.empty()) error = e.what();
          }
        }
        if (!error.empty()) throw Error("extract_features(): " + error);
        for (size_t s = 0; s < sets.size(); ++s)
          for (size_t i = 0; i < chunk.size(); ++i) {
            tables[s].run_uuids.push_back(chunk[i].run_uuid);
            tables[s].rows.push_back(std::move(rows[s][i]));
          }
        report.traces += n;
      });

  // write_features replaces a whole set: keep other campaigns' rows when they have the same
  // columns (a changed definition invalidates them).
  const std::vector<std::string> stored = store.feature_sets();
  for (auto& table : tables) {
    if (!options.campaign().empty() &&
        std::find(stored.begin(), stored.end(), table.feature_set) != stored.end()) {
      db::RunFilter filter;
      filter.campaign = options.campaign();
      std::unordered_set<std::string> campaign_runs;
      for (const auto& r : store.runs(filter)) campaign_runs.insert(r.spec.run_uuid);
      db::FeatureTable old = store.features(table.feature_set);
      if (old.names == table.names)
        for (size_t i = 0; i < old.run_uuids.size(); ++i)
          if (!campaign_runs.count(old.run_uuids[i])) {
            table.run_uuids.push_back(old.run_uuids[i]);
            table.rows.push_back(std::move(old.rows[i]));
          }
    }
    store.write_features(table);
    report.tables[table.feature_set] = {static_cast<int64_t>(table.rows.size()),
                                        static_cast<int64_t>(table.names.size())};
  }
  return report;
}

}  // namespace dynfault::features
