#include "diagnosis/saved_model.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/input_file.h"
#include "common/output_file.h"
#include "common/version.h"
#include "db/store.h"
#include "diagnosis/class_weights.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/logistic_regression.h"
#include "diagnosis/model_io.h"
#include "diagnosis/model_scope_io.h"
#include "features/feature_set.h"

namespace dynfault::diagnosis {
namespace {

namespace fs = std::filesystem;

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

size_t argmax_row(const Matrix& p, size_t r) {
  size_t best = 0;
  for (size_t c = 1; c < p.cols; ++c)
    if (p(r, c) > p(r, best)) best = c;
  return best;
}

using RunLabels = std::vector<std::pair<std::string, std::string>>;  // (run, label)

/// The feature set the model trains on: --features, or the one the diagnoser is bound to.
std::string feature_set_of(const TrainModelOptions& options, const Diagnoser& diagnoser) {
  std::string spec = options.feature_set();
  const std::string bound = diagnoser.feature_set();
  if (spec.empty()) spec = bound;
  if (spec.empty())
    throw Error("train: diagnoser '" + options.diagnoser() + "' needs a feature set (--features)");
  if (!bound.empty() && bound != spec)
    throw Error("train: diagnoser '" + options.diagnoser() + "' is defined on feature set '" +
                bound + "' only, not '" + spec + "'");
  return spec;
}

/// The stored vectors of feature set `spec`, refused when their columns are not the ones this
/// build computes.
db::FeatureTable stored_features(db::Store& store, const std::string& spec) {
  const features::FeatureSet set = features::feature_set(spec);  // throws for an unknown set
  db::FeatureTable table = load_feature_table(store, spec);
  if (table.names != set.names())
    throw Error("train: the stored columns of feature set '" + spec + "' (" +
                std::to_string(table.names.size()) + ") differ from what this build computes (" +
                std::to_string(set.names().size()) + "); run 'dynfault features' again");
  return table;
}

/// --effective-only: the mutants the killing test found effective (empty without the option).
std::set<std::string> effective_runs(db::Store& store, const TrainModelOptions& options) {
  std::set<std::string> effective;
  if (!options.effective_only()) return effective;
  if (options.task() != "detection")
    throw Error("train: --effective-only goes with --task detection, not '" + options.task() + "'");
  const auto killed = store.labels("effective");
  if (killed.empty())
    throw Error(
        "train: no 'effective' labels stored (the killing test); run 'dynfault "
        "labels' on a campaign with clean repetitions first");
  for (const auto& l : killed)
    if (l.label == "effective") effective.insert(l.run_uuid);
  return effective;
}

/// The runs the model trains on, sorted: finished, with features, labelled for the task (and
/// effective or clean under --effective-only).
RunLabels training_runs(db::Store& store, const TrainModelOptions& options,
                        const std::map<std::string, db::RunSpec>& finished,
                        const std::unordered_map<std::string, size_t>& row_of) {
  const auto labels = store.labels(options.task());
  if (labels.empty())
    throw Error("train: no labels stored for task '" + options.task() +
                "'; run 'dynfault labels' first");
  const std::set<std::string> effective = effective_runs(store, options);
  RunLabels runs;
  for (const auto& l : labels)
    if (!l.label.empty() && finished.count(l.run_uuid) && row_of.count(l.run_uuid) &&
        (!options.effective_only() || l.label == "clean" || effective.count(l.run_uuid)))
      runs.emplace_back(l.run_uuid, l.label);
  std::sort(runs.begin(), runs.end());
  return runs;
}

/// Each column's median over its finite values (0 for a column without one).
std::vector<double> column_medians(const Matrix& x) {
  std::vector<double> median(x.cols, 0.0);
  for (size_t j = 0; j < x.cols; ++j) {
    std::vector<double> v;
    for (size_t i = 0; i < x.rows; ++i)
      if (std::isfinite(x(i, j))) v.push_back(x(i, j));
    std::sort(v.begin(), v.end());
    median[j] = v.empty() ? 0.0 : quantile_sorted(v, 0.5);
  }
  return median;
}

}  // namespace

SavedModel train_model(db::Store& store, const TrainModelOptions& options) {
  store.require_campaign(options.campaign());
  SavedModel m;
  std::shared_ptr<Diagnoser> diagnoser =
      make_diagnoser(options.diagnoser(), options.diagnoser_config());
  diagnoser->configure(LearnerSettings{/*seed=*/0, options.max_bins()});
  const std::string spec = feature_set_of(options, *diagnoser);
  const db::FeatureTable table = stored_features(store, spec);

  db::RunFilter filter;
  filter.campaign = options.campaign();
  filter.status = "FINISHED";
  std::map<std::string, db::RunSpec> finished;
  for (const auto& r : store.runs(filter)) finished.emplace(r.spec.run_uuid, r.spec);
  if (!known_class_weight(options.class_weight()))
    throw Error("train: class weight must be none or balanced, got '" + options.class_weight() +
                "'");
  std::unordered_map<std::string, size_t> row_of;
  for (size_t i = 0; i < table.run_uuids.size(); ++i) row_of[table.run_uuids[i]] = i;
  const RunLabels runs = training_runs(store, options, finished, row_of);
  for (const auto& r : runs) ++m.class_counts[r.second];
  if (m.class_counts.size() < 2)
    throw Error("train: task '" + options.task() + "' needs at least 2 classes among the " +
                std::to_string(runs.size()) + " labelled traces with features, found " +
                std::to_string(m.class_counts.size()));

  const size_t d = table.names.size();
  Matrix x(runs.size(), d);
  x.names = table.names;
  Labels y;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& row = table.rows[row_of.at(runs[i].first)];
    std::copy(row.begin(), row.end(), x.row(i));
    y.push_back(runs[i].second);
  }
  const WeightedRows fitted = weighted_rows(x, y, options.class_weight());
  diagnoser->fit(fitted.x, fitted.y);

  m.task = options.task();
  m.classes = diagnoser->classes();
  m.task_classes = options.task_classes();
  m.feature_set = spec;
  m.feature_names = table.names;
  m.campaign = options.campaign();
  m.n_traces = static_cast<int64_t>(runs.size());
  m.created_utc = now_utc();
  m.dynfault_version = kVersion;
  m.median = column_medians(x);
  // LogisticRegressionOptions' defaults: the z its coefficients apply to.
  m.scaler.fit(x, LogisticRegressionOptions().clip_quantile(), Scaling::standard);
  std::vector<db::RunSpec> specs;
  std::vector<std::string> run_labels;
  for (const auto& r : runs) {
    specs.push_back(finished.at(r.first));
    run_labels.push_back(r.second);
  }
  m.scope = build_scope(store, specs, run_labels, x.data, d, m.task, spec, diagnoser->name());
  m.scope.class_weight = options.class_weight();
  m.scope.effective_only = options.effective_only();
  m.diagnoser_options = options_json(options.diagnoser(), options.diagnoser_config());
  m.max_bins = options.max_bins();
  m.diagnoser = std::move(diagnoser);
  return m;
}

double imbalance_ratio(const std::map<std::string, int64_t>& class_counts) {
  int64_t lo = 0, hi = 0;
  for (const auto& [c, n] : class_counts) {
    lo = lo == 0 ? n : std::min(lo, n);
    hi = std::max(hi, n);
  }
  return lo > 0 ? static_cast<double>(hi) / static_cast<double>(lo) : 1.0;
}

void write_model(std::ostream& out, const SavedModel& m) {
  DYNFAULT_CHECK(m.diagnoser != nullptr, "write_model(): no diagnoser");
  model_io::write_header(out, kModelFormat, kModelFormatVersion);
  model_io::write_strings(out, "task", {m.task});
  model_io::write_strings(out, "classes", m.classes);
  model_io::write_strings(out, "task_classes", m.task_classes);
  model_io::write_strings(out, "feature_set", {m.feature_set});
  model_io::write_strings(out, "feature_names", m.feature_names);
  model_io::write_strings(out, "campaign", {m.campaign});
  model_io::write_int(out, "n_traces", m.n_traces);
  std::vector<std::string> count_classes;
  std::vector<double> counts;
  for (const auto& [c, n] : m.class_counts) {
    count_classes.push_back(c);
    counts.push_back(static_cast<double>(n));
  }
  model_io::write_strings(out, "class_count_names", count_classes);
  model_io::write_vector(out, "class_counts", counts);
  model_io::write_strings(out, "created", {m.created_utc, m.dynfault_version});
  model_io::write_vector(out, "median", m.median);
  m.scaler.save(out);
  model_io::write_blob(out, "scope", scope_to_text(m.scope));
  std::ostringstream d;
  m.diagnoser->save(d);
  model_io::write_strings(out, "diagnoser_name", {m.diagnoser->name()});
  model_io::write_blob(out, "diagnoser", d.str());
  model_io::write_strings(out, "diagnoser_options", {m.diagnoser_options});
  model_io::write_int(out, "bins", m.max_bins);
  out << "end\n";
}

SavedModel read_model(std::istream& in, const std::string& name) {
  int format_version = 0;
  std::string first;
  std::getline(in, first);
  {
    std::istringstream h(first);
    std::string format;
    int version = 0;
    h >> format;
    if (format != kModelFormat) {
      std::string shown = first.substr(0, 40);
      for (char& c : shown)
        if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '?';
      throw Error(name + ": not a dynfault model file (it starts with '" + shown +
                  "'; a model file starts with '" + kModelFormat + " " +
                  std::to_string(kModelFormatVersion) + "')");
    }
    if (!(h >> version))
      throw Error(name + ": not a dynfault model file (no format version after '" +
                  std::string(kModelFormat) + "')");
    if (version < 1 || version > kModelFormatVersion)
      throw Error(name + ": dynfault model format version " + std::to_string(version) +
                  " is not supported (this build reads versions 1 to " +
                  std::to_string(kModelFormatVersion) + "); train the model again");
    format_version = version;
  }
  const std::string who = name + ": model file";
  try {
    SavedModel m;
    const auto one = [&](const std::string& tag) {
      auto v = model_io::read_strings(in, tag, who);
      DYNFAULT_CHECK(v.size() == 1, who, ": '", tag, "' must hold one string");
      return v[0];
    };
    m.task = one("task");
    m.classes = model_io::read_strings(in, "classes", who);
    m.task_classes = model_io::read_strings(in, "task_classes", who);
    m.feature_set = one("feature_set");
    m.feature_names = model_io::read_strings(in, "feature_names", who);
    m.campaign = one("campaign");
    m.n_traces = model_io::read_int(in, "n_traces", who);
    const auto count_classes = model_io::read_strings(in, "class_count_names", who);
    const auto counts = model_io::read_vector(in, "class_counts", count_classes.size(), who);
    for (size_t i = 0; i < counts.size(); ++i)
      m.class_counts[count_classes[i]] = static_cast<int64_t>(counts[i]);
    const auto created = model_io::read_strings(in, "created", who);
    DYNFAULT_CHECK(created.size() == 2, who, ": 'created' must hold two strings");
    m.created_utc = created[0];
    m.dynfault_version = created[1];
    const size_t d = m.feature_names.size();
    m.median = model_io::read_vector(in, "median", d, who);
    m.scaler.load(in, d, who);
    if (format_version >= 2)
      m.scope = scope_from_text(model_io::read_blob(in, "scope", who), d, who);
    const std::string dname = one("diagnoser_name");
    std::istringstream blob(model_io::read_blob(in, "diagnoser", who));
    m.diagnoser = load_diagnoser(blob);
    DYNFAULT_CHECK(m.diagnoser->name() == dname, who, ": diagnoser '", m.diagnoser->name(),
                   "' where '", dname, "' was recorded");
    DYNFAULT_CHECK(m.diagnoser->classes() == m.classes, who,
                   ": the diagnoser's classes differ from the recorded ones");
    if (format_version >= 3) {
      m.diagnoser_options = one("diagnoser_options");
      m.max_bins = static_cast<int>(model_io::read_int(in, "bins", who));
    }
    model_io::read_end(in, who);
    return m;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (what.rfind(name, 0) == 0) throw;
    throw Error(name + ": damaged model file: " + what);
  }
}

std::vector<std::string> save_model_file(const SavedModel& model, const std::string& path,
                                         bool force) {
  files::check_output_file(path, force, "model file");
  std::ostringstream text;
  write_model(text, model);
  return files::write_output_file(path, text.str(), force, "model file");
}

SavedModel load_model_file(const std::string& path) {
  std::istringstream in(files::read_input_file(path, "model file", files::kMaxModelBytes));
  return read_model(in, path);
}

std::string describe_method(const std::string& method) {
  if (method == "linear")
    return "linear: (w_kj - mean_c w_cj) * z_j, the feature's part of the predicted class's "
           "logit relative to the mean logit; > 0 pushes towards the prediction";
  return "occlusion: p(predicted) - p(predicted with this feature at its training median); "
         "> 0 pushes towards the prediction";
}

Diagnosis diagnose_trace(const SavedModel& model, const db::Trace& trace, int top) {
  DYNFAULT_CHECK(model.diagnoser != nullptr, "diagnose_trace(): no diagnoser");
  const features::FeatureSet set = features::feature_set(model.feature_set);
  if (set.names() != model.feature_names)
    throw Error("the model's " + std::to_string(model.feature_names.size()) + " features of set '" +
                model.feature_set + "' differ from the " + std::to_string(set.names().size()) +
                " this build computes; train the model again with this build");
  const std::vector<double> values = set.values(trace);
  const size_t d = values.size();
  Matrix x(1, d);
  x.names = model.feature_names;
  std::copy(values.begin(), values.end(), x.row(0));

  const Diagnoser& dg = *model.diagnoser;
  const Matrix p = dg.predict_proba(x);
  const auto& classes = dg.classes();
  const size_t k = argmax_row(p, 0);
  Diagnosis out;
  out.predicted = classes[k];
  for (size_t c = 0; c < classes.size(); ++c) out.proba.emplace_back(classes[c], p(0, c));
  std::stable_sort(out.proba.begin(), out.proba.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (double v : values) out.n_missing += std::isfinite(v) ? 0 : 1;
  out.imputed_share = d > 0 ? static_cast<double>(out.n_missing) / static_cast<double>(d) : 0;
  out.missing_by_input = set.missing_inputs(trace);
  out.scope = check_scope(model.scope, model.feature_names, values, trace);
  {
    std::set<std::string> by_input;
    for (const auto& g : out.missing_by_input) by_input.insert(g.columns.begin(), g.columns.end());
    for (size_t j = 0; j < d; ++j)
      if (!std::isfinite(values[j]) && !by_input.count(model.feature_names[j]))
        out.missing_undefined.push_back(model.feature_names[j]);
  }

  const Matrix z = model.scaler.transform(x);
  std::vector<double> contribution(d, 0.0);
  out.method = "occlusion";
  if (const auto* lr = dynamic_cast<const LogisticRegression*>(&dg)) {
    // Exact when the model's own scaler equals the stored one: checked by recomputing p.
    const auto& w = lr->coef();
    const auto& b = lr->intercept();
    const size_t kc = classes.size();
    if (w.size() == kc * d && b.size() == kc) {
      std::vector<double> logit(kc);
      for (size_t c = 0; c < kc; ++c) {
        logit[c] = b[c];
        for (size_t j = 0; j < d; ++j) logit[c] += w[c * d + j] * z(0, j);
      }
      const double mx = *std::max_element(logit.begin(), logit.end());
      double sum = 0;
      for (double l : logit) sum += std::exp(l - mx);
      bool same = true;
      for (size_t c = 0; c < kc; ++c)
        same = same && std::fabs(std::exp(logit[c] - mx) / sum - p(0, c)) < 1e-9;
      if (same) {
        out.method = "linear";
        for (size_t j = 0; j < d; ++j) {
          double mean_w = 0;
          for (size_t c = 0; c < kc; ++c) mean_w += w[c * d + j];
          mean_w /= static_cast<double>(kc);
          contribution[j] = (w[k * d + j] - mean_w) * z(0, j);
        }
      }
    }
  }
  if (out.method == "occlusion") {
    Matrix xs(d, d);
    xs.names = model.feature_names;
    for (size_t j = 0; j < d; ++j) {
      std::copy(values.begin(), values.end(), xs.row(j));
      xs(j, j) = model.median[j];
    }
    const Matrix ps = dg.predict_proba(xs);
    for (size_t j = 0; j < d; ++j) contribution[j] = p(0, k) - ps(j, k);
  }
  std::vector<size_t> order(d);
  for (size_t j = 0; j < d; ++j) order[j] = j;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::fabs(contribution[a]) > std::fabs(contribution[b]);
  });
  for (size_t i = 0; i < order.size() && static_cast<int>(out.top.size()) < top; ++i) {
    const size_t j = order[i];
    if (contribution[j] == 0) break;  // sorted by |contribution|: the rest changes nothing
    out.top.push_back(
        FeatureContribution{model.feature_names[j], values[j], z(0, j), contribution[j]});
  }
  return out;
}

}  // namespace dynfault::diagnosis
