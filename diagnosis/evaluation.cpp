#include "diagnosis/evaluation.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/hash.h"
#include "db/store.h"
#include "diagnosis/class_weights.h"
#include "diagnosis/evaluation_rows.h"
#include "diagnosis/fit_jobs.h"
#include "features/feature_set.h"
#include "features/horizon.h"
#include "features/label_inputs.h"
#include "features/labels.h"

namespace dynfault::diagnosis {
namespace {

constexpr const char* kNotApplicable = "(not applicable)";

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

double wall_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fresh_evaluation_id(const EvaluateOptions& o) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const std::string key = std::to_string(ns) + "|" + o.campaign() + "|" + join(o.tasks(), ",") +
                          "|" + join(o.feature_sets(), ",") + "|" + join(o.diagnosers(), ",") +
                          "|" + join(o.protocols(), ",") + "|" + join(o.horizons(), ",") + "|" +
                          std::to_string(o.seed()) + "|" + o.class_weight() +
                          (o.effective_only() ? "|effective" : "");
  return std::string("ev-") + stamp + "-" + hash128_hex(key).substr(0, 8);
}

features::Horizon parse_horizon(const std::string& text) {
  try {
    return features::Horizon::parse(text);
  } catch (const Error& e) {
    throw Error(std::string("evaluate(): ") + e.what());
  }
}

// "a+b" at a horizon: each part's table there ("a@h0.25+b@h0.25").
std::string spec_at(const std::string& spec, const features::Horizon& h) {
  std::string out;
  for (const auto& part : features::split_feature_set_spec(spec))
    out += (out.empty() ? "" : "+") + features::at_horizon(part, h);
  return out;
}

}  // namespace

void check_options(const EvaluateOptions& o) {
  DYNFAULT_CHECK(!o.tasks().empty(), "evaluate(): no task given");
  DYNFAULT_CHECK(!o.feature_sets().empty(), "evaluate(): no feature set given");
  DYNFAULT_CHECK(!o.diagnosers().empty(), "evaluate(): no diagnoser given");
  DYNFAULT_CHECK(!o.protocols().empty(),
                 "evaluate(): no protocol given (known: ", join(rung_names(), ", "), ")");
  for (const auto& p : o.protocols()) rung(p);  // throws naming an unknown protocol
  DYNFAULT_CHECK(o.within_folds() >= 2, "evaluate(): within_folds must be >= 2, got ",
                 o.within_folds());
  DYNFAULT_CHECK(o.heldout_folds() == 0 || o.heldout_folds() >= 2,
                 "evaluate(): heldout_folds must be 0 (leave one group out) or >= 2, got ",
                 o.heldout_folds());
  DYNFAULT_CHECK(o.bootstrap() >= 0 && o.bootstrap() <= kMaxBootstrap,
                 "evaluate(): bootstrap (--bootstrap) must be in [0, ", kMaxBootstrap, "], got ",
                 o.bootstrap());
  DYNFAULT_CHECK(o.confidence() > 0 && o.confidence() < 1,
                 "evaluate(): confidence must be in (0, 1), got ", o.confidence());
  DYNFAULT_CHECK(o.margin() > 0 && o.margin() < 1, "evaluate(): margin must be in (0, 1), got ",
                 o.margin());
  DYNFAULT_CHECK(o.learner_seeds() >= 1, "evaluate(): learner_seeds must be >= 1, got ",
                 o.learner_seeds());
  DYNFAULT_CHECK(o.max_bins() >= 2 && o.max_bins() <= 255,
                 "evaluate(): max_bins must be in [2, 255], got ", o.max_bins());
  DYNFAULT_CHECK(known_class_weight(o.class_weight()),
                 "evaluate(): class weight (--class-weight) must be none or balanced, got '",
                 o.class_weight(), "'");
  DYNFAULT_CHECK(!o.effective_only() || std::find(o.tasks().begin(), o.tasks().end(),
                                                  features::kTaskDetection) != o.tasks().end(),
                 "evaluate(): --effective-only goes with the task 'detection', not '",
                 join(o.tasks(), ", "), "'");
  DYNFAULT_CHECK(o.resample_by() == "program" || o.resample_by() == "dataset",
                 "evaluate(): resample_by must be 'program' or 'dataset', got '", o.resample_by(),
                 "'");
  DYNFAULT_CHECK(o.threads() >= 1 && o.threads() <= kMaxThreads,
                 "evaluate(): threads (--threads) must be in [1, ", kMaxThreads, "], got ",
                 o.threads());
  // Each (task, feature set, diagnoser, rung) is one set of rows: a repeat would collide.
  for (const auto* list : {&o.tasks(), &o.feature_sets(), &o.diagnosers(), &o.protocols()}) {
    const std::set<std::string> unique(list->begin(), list->end());
    DYNFAULT_CHECK(unique.size() == list->size(), "evaluate(): '", join(*list, ", "),
                   "' names an entry twice");
  }
  const auto known = diagnoser_names();
  std::vector<std::string> used = o.diagnosers();
  if (o.program_structure()) used.push_back(o.identity_diagnoser());
  for (const auto& d : used)
    DYNFAULT_CHECK(std::find(known.begin(), known.end(), d) != known.end(),
                   "evaluate(): unknown diagnoser '", d, "' (known: ", join(known, ", "), ")");
  // Every option the configuration sets, for every diagnoser it names (an error names both).
  for (const auto& [name, values] : o.diagnoser_config()) resolve_options(name, values);
  DYNFAULT_CHECK(std::find(known.begin(), known.end(), kLabelRule) == known.end(),
                 "evaluate(): a diagnoser may not be called '", kLabelRule, "'");
  DYNFAULT_CHECK(!o.horizons().empty(), "evaluate(): no horizon given");
  std::set<std::string> suffixes;
  for (const auto& h : o.horizons()) {
    const features::Horizon horizon = parse_horizon(h);
    DYNFAULT_CHECK(suffixes.insert(horizon.suffix()).second, "evaluate(): horizon '", h,
                   "' is given twice");
  }
  DYNFAULT_CHECK(o.top_features() >= 0, "evaluate(): top_features must be >= 0, got ",
                 o.top_features());
}

namespace {

// Everything evaluate() reads before its first fit: runs, tables and cells.
struct Inputs {
  std::unordered_map<std::string, db::RunSpec> spec_of;  // FINISHED runs of the campaign
  std::unordered_map<std::string, std::string> program_of;
  LoadedTables loaded;
  std::vector<Cell> cells;
};

Inputs load_inputs(db::Store& store, const EvaluateOptions& o, const features::Horizon& h) {
  Inputs in;
  db::RunFilter filter;
  filter.campaign = o.campaign();
  filter.status = "FINISHED";
  for (auto& run : store.runs(filter)) {
    in.program_of[run.spec.run_uuid] = run.spec.program;
    in.spec_of.emplace(run.spec.run_uuid, std::move(run.spec));
  }
  // Tables: the listed sets, then the sets that bound diagnosers (baselines, rules) need.
  std::vector<std::string>& specs = in.loaded.specs;
  specs = o.feature_sets();
  std::vector<std::string> bound(o.diagnosers().size());
  std::vector<bool> seeded(bound.size());
  for (size_t d = 0; d < bound.size(); ++d) {
    const auto model = make_diagnoser(o.diagnosers()[d], o.diagnoser_config());
    model->configure(LearnerSettings{0, o.max_bins()});  // a bad bin count fails here
    bound[d] = model->feature_set();
    seeded[d] = model->seeded();
    if (!bound[d].empty() && std::find(specs.begin(), specs.end(), bound[d]) == specs.end())
      specs.push_back(bound[d]);
  }
  const std::vector<std::string> stored = store.feature_sets();
  for (const auto& spec : specs) {
    in.loaded.tables.push_back(load_feature_table(store, spec_at(spec, h), stored));
    in.loaded.tables.back().feature_set = spec;
    in.loaded.row_of.emplace_back();
    const auto& table = in.loaded.tables.back();
    for (size_t i = 0; i < table.run_uuids.size(); ++i)
      in.loaded.row_of.back()[table.run_uuids[i]] = i;
  }
  // Unbound diagnosers x listed sets, then bound diagnosers x their own set.
  for (size_t s = 0; s < o.feature_sets().size(); ++s)
    for (size_t d = 0; d < bound.size(); ++d)
      if (bound[d].empty()) in.cells.push_back(Cell{o.diagnosers()[d], s, seeded[d]});
  for (size_t d = 0; d < bound.size(); ++d)
    if (!bound[d].empty())
      in.cells.push_back(
          Cell{o.diagnosers()[d],
               static_cast<size_t>(std::find(specs.begin(), specs.end(), bound[d]) - specs.begin()),
               seeded[d]});
  return in;
}

// One task, ready to fit: its traces, labels, groups, folds per rung and matrices.
struct PreparedTask {
  TaskReport report;
  std::vector<std::string> run_ids;
  Labels y;
  TraceGroups groups;
  std::vector<std::vector<Fold>> folds;  // per rung, options.protocols() order
  std::vector<Matrix> matrices;          // per table, label inputs dropped
};

// The task's labelled runs present in every table (so that every feature set and diagnoser
// shares one set of folds); counts the others. Throws for a task without 2 classes.
void select_runs(db::Store& store, const Inputs& in, const std::string& task,
                 const features::Horizon& h, const EvaluateOptions& o, PreparedTask& p) {
  TaskReport& tr = p.report;
  std::vector<std::pair<std::string, std::string>> runs;  // (run_uuid, label)
  std::vector<db::LabelRow> labels;
  if (task != features::kTaskInstabilityAhead) {
    labels = store.labels(task);
    DYNFAULT_CHECK(!labels.empty(), "evaluate(): no labels stored for task '", task,
                   "' (run 'dynfault labels' first)");
  } else if (h.is_full()) {
    // Nothing is ahead at the end of the run: the triage read as stable / unstable.
    labels = store.labels(features::kTaskInstability);
    DYNFAULT_CHECK(!labels.empty(), "evaluate(): no labels stored for task 'instability' ",
                   "(instability_ahead at H = 1 reads them; run 'dynfault labels' first)");
    for (auto& l : labels) l.label = features::unstable_or_stable(l.label);
  } else {
    labels = store.labels(features::at_horizon(task, h));
    DYNFAULT_CHECK(!labels.empty(), "evaluate(): no labels stored for task '",
                   features::at_horizon(task, h), "' (run 'dynfault features --horizon ",
                   h.suffix(), "' first)");
  }
  // --effective-only: the faulty runs the killing test found effective, against clean runs.
  const bool effective_only = o.effective_only() && task == features::kTaskDetection;
  std::unordered_set<std::string> effective;
  if (effective_only) {
    const auto killed = store.labels(features::kTaskEffective);
    DYNFAULT_CHECK(!killed.empty(), "evaluate(): --effective-only needs the stored '",
                   features::kTaskEffective, "' labels (the killing test; run 'dynfault labels')");
    for (const auto& l : killed)
      if (l.label == "effective") effective.insert(l.run_uuid);
  }
  for (const auto& l : labels) {
    if (!in.spec_of.count(l.run_uuid)) continue;  // another campaign, or no longer FINISHED
    if (l.label.empty()) {
      ++tr.n_not_applicable;
      continue;
    }
    if (effective_only && l.label != "clean" && !effective.count(l.run_uuid)) {
      ++tr.n_ineffective;
      continue;
    }
    bool everywhere = true;
    for (const auto& m : in.loaded.row_of) everywhere = everywhere && m.count(l.run_uuid);
    if (everywhere)
      runs.emplace_back(l.run_uuid, l.label);
    else
      ++tr.n_missing_features;
  }
  std::sort(runs.begin(), runs.end());
  std::set<std::string> programs;
  for (const auto& [run, label] : runs) {
    const db::RunSpec& spec = in.spec_of.at(run);
    p.run_ids.push_back(run);
    p.y.push_back(label);
    p.groups.add(spec);
    programs.insert(spec.program);
    ++tr.class_counts[label];
  }
  for (const auto& kv : tr.class_counts) tr.classes.push_back(kv.first);
  tr.n_traces = static_cast<int64_t>(p.y.size());
  tr.n_programs = static_cast<int64_t>(programs.size());
  DYNFAULT_CHECK(tr.classes.size() >= 2, "evaluate(): task '", tr.task,
                 "' needs at least 2 classes, found ", tr.classes.size(),
                 tr.classes.empty() ? std::string() : " (" + join(tr.classes, ", ") + ")",
                 " among ", tr.n_traces, " labelled traces with features");
}

PreparedTask prepare_task(db::Store& store, const Inputs& in, const std::string& task,
                          const features::Horizon& h, const EvaluateOptions& o) {
  PreparedTask p;
  TaskReport& tr = p.report;
  tr.task = features::at_horizon(task, h);
  tr.label_inputs = features::label_input_names(features::task_label_inputs(task));
  select_runs(store, in, task, h, o, p);
  const RungOptions ro{o.within_folds(), o.heldout_folds(), o.seed()};
  for (const auto& name : o.protocols()) {
    const Rung& r = rung(name);
    std::vector<Fold> folds;
    try {
      folds = rung_folds(r, p.y, p.groups, ro);
    } catch (const Error& e) {
      throw Error("evaluate(): task '" + tr.task + "': " + e.what());
    }
    // No group of the rung on both sides of a fold: the rung's whole point.
    if (!r.grouping.empty()) DYNFAULT_ASSERT(groups_disjoint(folds, p.groups.by(r.grouping)));
    tr.rungs.push_back(RungInfo{
        name, describe_rung(r, ro, folds.size()), static_cast<int64_t>(rung_groups(r, p.groups)),
        static_cast<int64_t>(folds.size()), unseen_class_traces(folds, p.y)});
    p.folds.push_back(std::move(folds));
  }
  for (size_t s = 0; s < in.loaded.tables.size(); ++s) {
    const db::FeatureTable& table = in.loaded.tables[s];
    std::vector<std::string> drop;
    if (!o.keep_label_inputs()) drop = label_input_columns(in.loaded.specs[s], table.names, task);
    if (!drop.empty()) tr.dropped[in.loaded.specs[s]] = drop;
    p.matrices.push_back(matrix_of(table, in.loaded.row_of[s], p.run_ids, drop));
  }
  return p;
}

// Every loss between rungs: consecutive ones, then from the first rung to each later one.
std::vector<RungLoss> rung_losses(const std::vector<RungScores>& rungs, double confidence,
                                  double margin) {
  std::vector<RungLoss> out;
  for (size_t a = 0; a < rungs.size(); ++a)
    for (size_t b = a + 1; b < rungs.size(); ++b) {
      const bool consecutive = b == a + 1, from_first = a == 0;
      if (!consecutive && !from_first) continue;
      RungLoss l;
      l.from = rungs[a].rung;
      l.to = rungs[b].rung;
      l.consecutive = consecutive;
      l.from_first = from_first;
      const PairedDifference ba =
          paired_difference(rungs[a].balanced_accuracy.value, rungs[a].draws,
                            rungs[b].balanced_accuracy.value, rungs[b].draws, confidence);
      const PairedDifference f1 =
          paired_difference(rungs[a].macro_f1.value, rungs[a].f1_draws, rungs[b].macro_f1.value,
                            rungs[b].f1_draws, confidence);
      l.balanced_accuracy = ba.difference;
      l.share_positive = ba.share_positive;
      l.macro_f1 = f1.difference;
      l.verdict = judge(l.balanced_accuracy, margin);
      out.push_back(l);
    }
  // Consecutive losses first (the ladder read upwards), then the losses from the first rung.
  std::stable_partition(out.begin(), out.end(), [](const RungLoss& l) { return l.consecutive; });
  return out;
}

// Scores one cell's predictions (preds[rung][seed]) on every rung, and the losses between them.
EvaluationResult score_cell(const std::string& diagnoser, const std::string& feature_set,
                            const Labels& y, const std::vector<std::vector<Labels>>& preds,
                            const std::vector<std::vector<Fold>>& folds,
                            const std::vector<std::string>& rungs, const BootstrapPlan& plan,
                            const EvaluateOptions& o) {
  EvaluationResult r;
  r.diagnoser = diagnoser;
  r.feature_set = feature_set;
  r.bootstrap = static_cast<int64_t>(plan.weights.size());
  for (size_t k = 0; k < rungs.size(); ++k) {
    RungScores s = score_predictions(y, preds[k], plan, o.confidence());
    s.rung = rungs[k];
    s.folds = static_cast<int64_t>(folds[k].size());
    r.rungs.push_back(std::move(s));
  }
  r.losses = rung_losses(r.rungs, o.confidence(), o.margin());
  return r;
}

std::vector<PairedComparison> compare_sets(const std::vector<EvaluationResult>& results,
                                           const EvaluateOptions& o) {
  std::vector<PairedComparison> out;
  for (size_t k = 0; k < o.protocols().size(); ++k)
    for (size_t a = 0; a < results.size(); ++a)
      for (size_t b = a + 1; b < results.size(); ++b) {
        const EvaluationResult &ra = results[a], &rb = results[b];
        if (ra.diagnoser != rb.diagnoser || ra.feature_set == rb.feature_set) continue;
        if (ra.diagnoser == kLabelRule) continue;
        const RungScores &sa = ra.rungs[k], &sb = rb.rungs[k];
        const PairedDifference d =
            paired_difference(sa.balanced_accuracy.value, sa.draws, sb.balanced_accuracy.value,
                              sb.draws, o.confidence());
        out.push_back(PairedComparison{ra.diagnoser, ra.feature_set, rb.feature_set, sa.rung,
                                       d.difference, d.share_positive,
                                       judge(d.difference, o.margin())});
      }
  return out;
}

// The label rule's prediction of every trace of every task at every horizon (keyed by the task
// at its horizon), from the configs of the options (tasks the label code does not know get
// none). One pass over the traces for all horizons.
std::map<std::string, std::unordered_map<std::string, std::string>> rule_predictions(
    db::Store& store, const EvaluateOptions& o, const std::vector<features::Horizon>& horizons) {
  std::map<std::string, std::unordered_map<std::string, std::string>> out;
  if (!o.label_rule()) return out;
  const features::Taxonomies taxonomies = features::load_taxonomies(o.taxonomies_path());
  std::vector<std::string> known = {features::kTaskDetection, features::kTaskInstability,
                                    features::kTaskMismatch, features::kTaskEffective,
                                    features::kTaskInstabilityAhead};
  for (const auto& t : taxonomies.list) known.push_back(features::fault_type_task(t.name));
  std::vector<std::string> tasks;
  for (const auto& t : o.tasks())
    if (std::find(known.begin(), known.end(), t) != known.end()) tasks.push_back(t);
  if (tasks.empty()) return out;
  const std::vector<features::LabelSet> labels =
      features::compute_labels_at(store,
                                  features::LabelOptions()
                                      .campaign(o.campaign())
                                      .taxonomies_path(o.taxonomies_path())
                                      .thresholds_path(o.thresholds_path())
                                      .tasks(tasks),
                                  horizons);
  for (size_t k = 0; k < horizons.size(); ++k)
    for (const auto& [task, rows] : labels[k].rows)
      for (const auto& r : rows)
        out[features::at_horizon(task, horizons[k])][r.run_uuid] =
            r.label.empty() ? kNotApplicable : r.label;
  return out;
}

// Fits and scores one prepared task; fills its results and paired comparisons.
void evaluate_task(PreparedTask& p, const Inputs& in,
                   const std::unordered_map<std::string, std::string>* rule,
                   const EvaluateOptions& o, double& fit_seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  CellPredictions preds;
  std::vector<std::vector<double>> seconds;
  run_jobs(in.cells, p.matrices, p.y, p.folds,
           FitSettings{learner_seeds(o.seed(), o.learner_seeds()), o.max_bins(), o.threads(),
                       o.diagnoser_config(), o.class_weight()},
           preds, &seconds);
  fit_seconds += wall_since(t0);
  const BootstrapPlan plan = make_plan(p.groups.by(o.resample_by()), o.seed(), o.bootstrap());
  TaskReport& tr = p.report;
  tr.results.resize(in.cells.size());
  const int64_t n_cells = static_cast<int64_t>(in.cells.size());
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp parallel for num_threads(o.threads()) schedule(dynamic)
#endif
  for (int64_t c = 0; c < n_cells; ++c) {
    const Cell& cell = in.cells[static_cast<size_t>(c)];
    EvaluationResult& r = tr.results[static_cast<size_t>(c)];
    r = score_cell(cell.diagnoser, in.loaded.specs[cell.table], p.y, preds[static_cast<size_t>(c)],
                   p.folds, o.protocols(), plan, o);
    r.n_features = static_cast<int64_t>(p.matrices[cell.table].cols);
    r.fit_seconds = seconds[static_cast<size_t>(c)];
  }
  if (rule) {
    Labels predicted;
    for (const auto& run : p.run_ids) {
      const auto it = rule->find(run);
      predicted.push_back(it == rule->end() ? kNotApplicable : it->second);
    }
    const std::vector<std::vector<Labels>> same(o.protocols().size(), {predicted});
    tr.results.push_back(
        score_cell(kLabelRule, kLabelRuleSet, p.y, same, p.folds, o.protocols(), plan, o));
  }
  if (o.paired()) tr.paired = compare_sets(tr.results, o);
}

}  // namespace

const RungScores* EvaluationResult::on(const std::string& rung) const {
  for (const auto& s : rungs)
    if (s.rung == rung) return &s;
  return nullptr;
}

std::string loss_protocol(const std::string& from, const std::string& to) {
  return "loss/" + from + "/" + to;
}

std::string paired_protocol(const std::string& rung) { return "paired/" + rung; }

std::vector<std::string> label_input_columns(const std::string& spec,
                                             const std::vector<std::string>& columns,
                                             const std::string& task) {
  const features::LabelInputs task_inputs = features::task_label_inputs(task);
  if (task_inputs == features::kInputNone) return {};
  std::map<std::string, features::LabelInputs> declared;
  try {
    const features::FeatureSet set = features::feature_set(spec);
    for (size_t i = 0; i < set.names().size(); ++i)
      declared[set.names()[i]] = set.label_inputs()[i];
  } catch (const Error&) {
    return {};  // a stored set this build does not know declares nothing
  }
  std::vector<std::string> out;
  for (const auto& c : columns)
    if (auto it = declared.find(c); it != declared.end() && (it->second & task_inputs))
      out.push_back(c);
  return out;
}

Labels cross_val_predict(const std::string& diagnoser, const Matrix& x, const Labels& y,
                         const std::vector<Fold>& folds, int threads,
                         const LearnerSettings& settings) {
  DYNFAULT_CHECK(x.rows == y.size(), "cross_val_predict(): ", x.rows, " rows, ", y.size(),
                 " labels");
  const std::vector<int64_t> fold_of = test_fold_of(folds, y.size());
  for (size_t i = 0; i < fold_of.size(); ++i)
    DYNFAULT_CHECK(fold_of[i] >= 0, "cross_val_predict(): sample ", i, " is never tested");
  for (size_t f = 0; f < folds.size(); ++f)
    DYNFAULT_CHECK(!folds[f].train.empty(), "cross_val_predict(): fold ", f,
                   " has no training rows");
  // One learner seed, settings.seed itself.
  CellPredictions preds;
  run_jobs({Cell{diagnoser, 0, false}}, {x}, y, {folds},
           FitSettings{{settings.seed}, settings.max_bins, threads, {}}, preds);
  return preds[0][0][0];
}

EvaluationResult evaluate_matrix(const std::string& diagnoser, const std::string& feature_set,
                                 const Matrix& x, const Labels& y, const TraceGroups& groups,
                                 const EvaluateOptions& options) {
  check_options(options);
  DYNFAULT_CHECK(x.rows == y.size() && y.size() == groups.size(), "evaluate_matrix(): ", x.rows,
                 " rows, ", y.size(), " labels, ", groups.size(), " traces");
  const RungOptions ro{options.within_folds(), options.heldout_folds(), options.seed()};
  std::vector<std::vector<Fold>> folds;
  for (const auto& name : options.protocols()) {
    const Rung& r = rung(name);
    folds.push_back(rung_folds(r, y, groups, ro));
    DYNFAULT_CHECK(r.grouping.empty() || groups_disjoint(folds.back(), groups.by(r.grouping)),
                   "evaluate_matrix(): a group is on both sides of a fold of '", name, "'");
  }
  const auto model = make_diagnoser(diagnoser, options.diagnoser_config());
  CellPredictions preds;
  std::vector<std::vector<double>> seconds;
  run_jobs({Cell{diagnoser, 0, model->seeded()}}, {x}, y, folds,
           FitSettings{learner_seeds(options.seed(), options.learner_seeds()), options.max_bins(),
                       options.threads(), options.diagnoser_config(), options.class_weight()},
           preds, &seconds);
  const BootstrapPlan plan =
      make_plan(groups.by(options.resample_by()), options.seed(), options.bootstrap());
  EvaluationResult r =
      score_cell(diagnoser, feature_set, y, preds[0], folds, options.protocols(), plan, options);
  r.n_features = static_cast<int64_t>(x.cols);
  r.fit_seconds = seconds[0];
  return r;
}

db::FeatureTable load_feature_table(db::Store& store, const std::string& spec,
                                    const std::vector<std::string>& stored) {
  auto has = [&](const std::string& n) {
    return std::find(stored.begin(), stored.end(), n) != stored.end();
  };
  if (has(spec)) return store.features(spec);
  const auto parts = features::split_feature_set_spec(spec);
  for (const auto& p : parts) {
    if (has(p)) continue;
    const size_t at = p.find('@');  // a set at a horizon: deepfd@h0.25
    const std::string how =
        at == std::string::npos
            ? "dynfault features --sets " + p
            : "dynfault features --sets " + p.substr(0, at) + " --horizon " + p.substr(at + 1);
    throw Error("feature set '" + p + "' has not been extracted (stored: " +
                (stored.empty() ? std::string("none") : join(stored, ", ")) + "); run '" + how +
                "' first");
  }
  DYNFAULT_ASSERT(parts.size() > 1);
  std::vector<db::FeatureTable> tables;
  for (const auto& p : parts) tables.push_back(store.features(p));
  db::FeatureTable out;
  out.feature_set = spec;
  std::set<std::string> seen;
  for (const auto& t : tables)
    for (const auto& n : t.names) {
      DYNFAULT_CHECK(seen.insert(n).second, "column '", n, "' appears in two parts of '", spec,
                     "'");
      out.names.push_back(n);
    }
  std::vector<std::unordered_map<std::string, size_t>> index(tables.size());
  for (size_t t = 0; t < tables.size(); ++t)
    for (size_t i = 0; i < tables[t].run_uuids.size(); ++i) index[t][tables[t].run_uuids[i]] = i;
  for (size_t i = 0; i < tables[0].run_uuids.size(); ++i) {
    const std::string& run = tables[0].run_uuids[i];
    std::vector<double> row;
    bool everywhere = true;
    for (size_t t = 0; t < tables.size() && everywhere; ++t) {
      auto it = index[t].find(run);
      if (it == index[t].end()) {
        everywhere = false;
        break;
      }
      const auto& part = tables[t].rows[it->second];
      row.insert(row.end(), part.begin(), part.end());
    }
    if (!everywhere) continue;
    out.run_uuids.push_back(run);
    out.rows.push_back(std::move(row));
  }
  return out;
}

db::FeatureTable load_feature_table(db::Store& store, const std::string& spec) {
  return load_feature_table(store, spec, store.feature_sets());
}

EvaluationReport evaluate(db::Store& store, const EvaluateOptions& options) {
  check_options(options);
  store.require_campaign(options.campaign());
  EvaluationReport report;
  report.options = options;
  report.evaluation_id =
      options.evaluation_id().empty() ? fresh_evaluation_id(options) : options.evaluation_id();
  auto t0 = std::chrono::steady_clock::now();

  // Everything is read and checked before the first fit and the first write: every horizon's
  // tables, labels and folds.
  std::vector<Inputs> inputs;  // per horizon
  std::vector<PreparedTask> tasks;
  std::vector<size_t> horizon_of;  // per task, its index in inputs
  std::vector<features::Horizon> horizons;
  for (const auto& text : options.horizons()) {
    const features::Horizon h = parse_horizon(text);
    horizons.push_back(h);
    inputs.push_back(load_inputs(store, options, h));
    for (const auto& task : options.tasks()) {
      tasks.push_back(prepare_task(store, inputs.back(), task, h, options));
      horizon_of.push_back(inputs.size() - 1);
    }
  }
  const auto rules = rule_predictions(store, options, horizons);
  const Inputs& in = inputs.front();
  double stage_fits = 0;
  report.stage_seconds.emplace_back("load", wall_since(t0));

  t0 = std::chrono::steady_clock::now();
  std::vector<db::EvaluationRow> rows;
  for (size_t t = 0; t < tasks.size(); ++t) {
    PreparedTask& p = tasks[t];
    const auto rule = rules.find(p.report.task);
    evaluate_task(p, inputs[horizon_of[t]], rule == rules.end() ? nullptr : &rule->second, options,
                  stage_fits);
    const auto more = task_rows(report.evaluation_id, p.report, options);
    rows.insert(rows.end(), more.begin(), more.end());
    report.tasks.push_back(p.report);
  }
  report.stage_seconds.emplace_back("fits", stage_fits);
  report.stage_seconds.emplace_back("scoring", wall_since(t0) - stage_fits);

  t0 = std::chrono::steady_clock::now();
  if (options.program_structure())
    program_structure(in.loaded, in.program_of, options, report, rows);
  report.stage_seconds.emplace_back("program_structure", wall_since(t0));

  t0 = std::chrono::steady_clock::now();
  for (size_t t = 0; t < tasks.size(); ++t)
    for (size_t k = 0; k < options.protocols().size(); ++k) {
      const auto fold_of = test_fold_of(tasks[t].folds[k], tasks[t].y.size());
      std::vector<db::SplitRow> splits;
      for (size_t i = 0; i < fold_of.size(); ++i)
        splits.push_back(db::SplitRow{tasks[t].run_ids[i], fold_of[i]});
      store.write_splits(report.evaluation_id, tasks[t].report.task, options.protocols()[k],
                         splits);
    }
  if (!rows.empty()) store.write_evaluation(rows);
  report.stage_seconds.emplace_back("store", wall_since(t0));
  return report;
}

}  // namespace dynfault::diagnosis
