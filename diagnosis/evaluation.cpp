#include "diagnosis/evaluation.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/hash.h"
#include "db/store.h"
#include "diagnosis/preprocess.h"
#include "features/feature_set.h"

namespace dynfault::diagnosis {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Independent stream per resample: results do not depend on which thread runs which resample.
uint64_t resample_seed(uint64_t seed, int64_t b) {
  SplitMix64 mix(seed ^ 0xD1B54A32D192ED03ULL);
  const uint64_t base = mix.next();
  SplitMix64 rng(base + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(b + 1));
  return rng.next();
}

// Labels coded as indices into `classes`.
std::vector<int> encode(const Labels& y, const std::vector<std::string>& classes) {
  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < classes.size(); ++i) index[classes[i]] = static_cast<int>(i);
  std::vector<int> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    auto it = index.find(y[i]);
    DYNFAULT_ASSERT(it != index.end());
    out[i] = it->second;
  }
  return out;
}

ConfusionMatrix confusion_of(const std::vector<int>& t, const std::vector<int>& p,
                             const std::vector<size_t>& idx,
                             const std::vector<std::string>& classes) {
  ConfusionMatrix cm;
  cm.classes = classes;
  cm.counts.assign(classes.size(), std::vector<int64_t>(classes.size(), 0));
  for (size_t i : idx) ++cm.counts[static_cast<size_t>(t[i])][static_cast<size_t>(p[i])];
  return cm;
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
                          "|" + std::to_string(o.seed());
  return std::string("ev-") + stamp + "-" + hash128_hex(key).substr(0, 8);
}

void validate(const EvaluateOptions& o) {
  DYNFAULT_CHECK(!o.tasks().empty(), "evaluate(): no task given");
  DYNFAULT_CHECK(!o.feature_sets().empty(), "evaluate(): no feature set given");
  DYNFAULT_CHECK(!o.diagnosers().empty(), "evaluate(): no diagnoser given");
  DYNFAULT_CHECK(o.within_folds() >= 2, "evaluate(): within_folds must be >= 2, got ",
                 o.within_folds());
  DYNFAULT_CHECK(o.heldout_folds() == 0 || o.heldout_folds() >= 2,
                 "evaluate(): heldout_folds must be 0 (leave-one-program-out) or >= 2, got ",
                 o.heldout_folds());
  DYNFAULT_CHECK(o.bootstrap() >= 0, "evaluate(): bootstrap must be >= 0, got ", o.bootstrap());
  DYNFAULT_CHECK(o.confidence() > 0 && o.confidence() < 1,
                 "evaluate(): confidence must be in (0, 1), got ", o.confidence());
  DYNFAULT_CHECK(o.threads() >= 1, "evaluate(): threads must be >= 1, got ", o.threads());
  // Each (task, feature set, diagnoser) is one set of rows: a repeat would collide in storage.
  for (const auto* list : {&o.tasks(), &o.feature_sets(), &o.diagnosers()}) {
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
  DYNFAULT_CHECK(o.top_features() >= 0, "evaluate(): top_features must be >= 0, got ",
                 o.top_features());
}

// Bootstrap resample b as a multiplicity per program (programs in sorted order): the same draws
// as bootstrap_indices(), so scores computed from weighted per-program confusion matrices equal
// those on the concatenated indices, at a cost independent of the number of traces.
std::vector<std::vector<int>> bootstrap_weights(size_t programs, uint64_t seed, int64_t resamples) {
  std::vector<std::vector<int>> w(static_cast<size_t>(std::max<int64_t>(resamples, 0)),
                                  std::vector<int>(programs, 0));
  for (int64_t b = 0; b < resamples; ++b) {
    SplitMix64 rng(resample_seed(seed, b));
    for (size_t draw = 0; draw < programs; ++draw)
      ++w[static_cast<size_t>(b)][static_cast<size_t>(rng.below(programs))];
  }
  return w;
}

// Per-program confusion counts of one protocol: cells[g][t * k + p].
std::vector<std::vector<int64_t>> program_confusions(const std::vector<int>& t,
                                                     const std::vector<int>& p,
                                                     const std::vector<size_t>& program_of,
                                                     size_t programs, size_t k) {
  std::vector<std::vector<int64_t>> cells(programs, std::vector<int64_t>(k * k, 0));
  for (size_t i = 0; i < t.size(); ++i)
    ++cells[program_of[i]][static_cast<size_t>(t[i]) * k + static_cast<size_t>(p[i])];
  return cells;
}

ConfusionMatrix weighted_confusion(const std::vector<std::vector<int64_t>>& cells,
                                   const std::vector<int>& weights,
                                   const std::vector<std::string>& classes) {
  const size_t k = classes.size();
  ConfusionMatrix cm;
  cm.classes = classes;
  cm.counts.assign(k, std::vector<int64_t>(k, 0));
  for (size_t g = 0; g < cells.size(); ++g) {
    if (weights[g] == 0) continue;
    for (size_t a = 0; a < k; ++a)
      for (size_t b = 0; b < k; ++b) cm.counts[a][b] += weights[g] * cells[g][a * k + b];
  }
  return cm;
}

// Shared by every result of one task: program index per sample and the resample weights.
struct BootstrapPlan {
  std::vector<size_t> program_of;
  size_t programs = 0;
  std::vector<std::vector<int>> weights;
};

BootstrapPlan make_plan(const std::vector<std::string>& groups, uint64_t seed, int64_t resamples) {
  BootstrapPlan plan;
  std::map<std::string, size_t> index;  // sorted, as bootstrap_indices
  for (const auto& g : groups) index.emplace(g, 0);
  for (auto& [g, i] : index) i = plan.programs++;
  for (const auto& g : groups) plan.program_of.push_back(index[g]);
  plan.weights = bootstrap_weights(plan.programs, seed, resamples);
  return plan;
}

void score_with_plan(const Labels& y, const Labels& within_pred, const Labels& heldout_pred,
                     const BootstrapPlan& plan, double confidence, EvaluationResult& result) {
  std::set<std::string> all(y.begin(), y.end());
  all.insert(within_pred.begin(), within_pred.end());
  all.insert(heldout_pred.begin(), heldout_pred.end());
  const std::vector<std::string> classes(all.begin(), all.end());
  const std::vector<int> t = encode(y, classes), pw = encode(within_pred, classes),
                         ph = encode(heldout_pred, classes);
  std::vector<size_t> everyone(y.size());
  for (size_t i = 0; i < everyone.size(); ++i) everyone[i] = i;
  auto fill = [&](ProtocolScores& s, const std::vector<int>& p) {
    s.confusion = confusion_of(t, p, everyone, classes);
    s.balanced_accuracy = Interval{balanced_accuracy(s.confusion)};
    s.macro_f1 = Interval{macro_f1(s.confusion)};
    s.recall = per_class_recall(s.confusion);
    s.n = static_cast<int64_t>(y.size());
  };
  fill(result.within, pw);
  fill(result.heldout, ph);
  result.gap_balanced_accuracy =
      Interval{result.within.balanced_accuracy.value - result.heldout.balanced_accuracy.value};
  result.gap_macro_f1 = Interval{result.within.macro_f1.value - result.heldout.macro_f1.value};
  const size_t resamples = plan.weights.size();
  result.bootstrap = static_cast<int64_t>(resamples);
  result.heldout_draws.clear();
  if (resamples == 0) return;

  const size_t k = classes.size();
  const auto cw = program_confusions(t, pw, plan.program_of, plan.programs, k);
  const auto ch = program_confusions(t, ph, plan.program_of, plan.programs, k);
  std::vector<double> wba(resamples), hba(resamples), gba(resamples), wf1(resamples),
      hf1(resamples), gf1(resamples);
  for (size_t b = 0; b < resamples; ++b) {
    const ConfusionMatrix mw = weighted_confusion(cw, plan.weights[b], classes);
    const ConfusionMatrix mh = weighted_confusion(ch, plan.weights[b], classes);
    wba[b] = balanced_accuracy(mw);
    hba[b] = balanced_accuracy(mh);
    gba[b] = wba[b] - hba[b];
    wf1[b] = macro_f1(mw);
    hf1[b] = macro_f1(mh);
    gf1[b] = wf1[b] - hf1[b];
  }
  const double lo = (1.0 - confidence) / 2.0, hi = 1.0 - lo;
  auto ci = [&](Interval& v, const std::vector<double>& draws) {
    v.low = percentile(draws, lo);
    v.high = percentile(draws, hi);
  };
  ci(result.within.balanced_accuracy, wba);
  ci(result.heldout.balanced_accuracy, hba);
  ci(result.gap_balanced_accuracy, gba);
  ci(result.within.macro_f1, wf1);
  ci(result.heldout.macro_f1, hf1);
  ci(result.gap_macro_f1, gf1);
  result.heldout_draws = std::move(hba);
}

std::vector<db::EvaluationRow> rows_of(const std::string& evaluation_id, const std::string& task,
                                       const EvaluationResult& r, const TaskReport& tr,
                                       const EvaluateOptions& o) {
  std::vector<db::EvaluationRow> rows;
  auto add = [&](const std::string& protocol, const std::string& metric, const Interval& v,
                 int64_t n, const std::string& details) {
    db::EvaluationRow row;
    row.evaluation_id = evaluation_id;
    row.task = task;
    row.protocol = protocol;
    row.diagnoser = r.diagnoser;
    row.feature_set = r.feature_set;
    row.metric = metric;
    row.value = v.value;
    row.ci_low = v.low;
    row.ci_high = v.high;
    row.n = n;
    row.details = details;
    rows.push_back(row);
  };
  auto protocol_rows = [&](const std::string& protocol, const ProtocolScores& s,
                           const std::string& split) {
    json d = {{"split", split},
              {"folds", s.folds},
              {"seed", o.seed()},
              {"classes", s.confusion.classes},
              {"confusion", s.confusion.counts},
              {"n_programs", tr.n_programs},
              {"n_features", r.n_features},
              {"bootstrap", r.bootstrap},
              {"confidence", o.confidence()},
              {"campaign", o.campaign()},
              {"pooled", "out-of-fold predictions pooled over folds"}};
    add(protocol, "balanced_accuracy", s.balanced_accuracy, s.n, d.dump());
    add(protocol, "macro_f1", s.macro_f1, s.n, "");
    for (const auto& [cls, rec] : s.recall) add(protocol, "recall/" + cls, Interval{rec}, s.n, "");
  };
  protocol_rows("within", r.within, "by_run");
  protocol_rows("heldout", r.heldout, "by_program");
  const json gap = {{"definition", "within - heldout"},
                    {"bootstrap", r.bootstrap},
                    {"resampling", "programs with replacement"}};
  add("gap", "balanced_accuracy", r.gap_balanced_accuracy, r.within.n, gap.dump());
  add("gap", "macro_f1", r.gap_macro_f1, r.within.n, gap.dump());
  return rows;
}

std::string fmt(double v) {
  if (std::isnan(v)) return "  -  ";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

std::string fmt_interval(const Interval& v) {
  std::string s = fmt(v.value);
  if (!std::isnan(v.low) && !std::isnan(v.high)) s += " [" + fmt(v.low) + ", " + fmt(v.high) + "]";
  return s;
}

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' ');
}

}  // namespace

std::vector<size_t> bootstrap_indices(const std::vector<std::string>& groups, uint64_t seed,
                                      int64_t b) {
  std::map<std::string, std::vector<size_t>> members;  // sorted: draws independent of row order
  for (size_t i = 0; i < groups.size(); ++i) members[groups[i]].push_back(i);
  std::vector<const std::vector<size_t>*> programs;
  for (const auto& kv : members) programs.push_back(&kv.second);
  std::vector<size_t> out;
  if (programs.empty()) return out;
  SplitMix64 rng(resample_seed(seed, b));
  for (size_t draw = 0; draw < programs.size(); ++draw) {
    const auto* m = programs[rng.below(programs.size())];
    out.insert(out.end(), m->begin(), m->end());
  }
  return out;
}

double percentile(std::vector<double> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

void score_protocols(const Labels& y, const Labels& within_pred, const Labels& heldout_pred,
                     const std::vector<std::string>& groups, int64_t resamples, double confidence,
                     uint64_t seed, int threads, EvaluationResult& result) {
  DYNFAULT_CHECK(y.size() == within_pred.size() && y.size() == heldout_pred.size() &&
                     y.size() == groups.size(),
                 "score_protocols(): sizes differ");
  (void)threads;  // per-program weighting makes 1,000 resamples cost milliseconds
  score_with_plan(y, within_pred, heldout_pred, make_plan(groups, seed, resamples), confidence,
                  result);
}

double eta_squared(const std::vector<double>& values, const std::vector<std::string>& groups) {
  DYNFAULT_CHECK(values.size() == groups.size(), "eta_squared(): sizes differ");
  std::map<std::string, std::pair<double, int64_t>> by;  // group -> (sum, n)
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    auto& g = by[groups[i]];
    g.first += values[i];
    ++g.second;
    sum += values[i];
    ++n;
  }
  if (n < 2) return kNaN;
  const double mean = sum / static_cast<double>(n);
  double total = 0;
  for (size_t i = 0; i < values.size(); ++i)
    if (std::isfinite(values[i])) total += (values[i] - mean) * (values[i] - mean);
  // Round-off of a constant column is not variance.
  if (!(total > 1e-12 * std::max(1.0, mean * mean) * static_cast<double>(n))) return kNaN;
  double between = 0;
  for (const auto& [g, sn] : by) {
    const double gm = sn.first / static_cast<double>(sn.second);
    between += static_cast<double>(sn.second) * (gm - mean) * (gm - mean);
  }
  return std::clamp(between / total, 0.0, 1.0);
}

VarianceShare variance_share(const std::string& feature_set, const Matrix& x,
                             const std::vector<std::string>& groups, int top) {
  VarianceShare v;
  v.feature_set = feature_set;
  std::vector<double> col(x.rows);
  double sum = 0;
  for (size_t j = 0; j < x.cols; ++j) {
    for (size_t i = 0; i < x.rows; ++i) col[i] = x(i, j);
    const double e = eta_squared(col, groups);
    v.eta2.emplace_back(j < x.names.size() ? x.names[j] : std::to_string(j), e);
    if (std::isnan(e)) continue;
    sum += e;
    ++v.n_defined;
  }
  if (v.n_defined > 0) v.mean_eta2 = sum / static_cast<double>(v.n_defined);
  for (const auto& fe : v.eta2)
    if (!std::isnan(fe.second)) v.top.push_back(fe);
  std::stable_sort(v.top.begin(), v.top.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (v.top.size() > static_cast<size_t>(top)) v.top.resize(static_cast<size_t>(top));
  return v;
}

PairedComparison compare_paired(const EvaluationResult& a, const EvaluationResult& b,
                                double confidence) {
  PairedComparison c;
  c.diagnoser = a.diagnoser;
  c.set_a = a.feature_set;
  c.set_b = b.feature_set;
  c.difference.value = a.heldout.balanced_accuracy.value - b.heldout.balanced_accuracy.value;
  DYNFAULT_CHECK(a.heldout_draws.size() == b.heldout_draws.size(),
                 "compare_paired(): results come from different resamples");
  if (a.heldout_draws.empty()) return c;
  std::vector<double> diff(a.heldout_draws.size());
  size_t positive = 0, defined = 0;
  for (size_t i = 0; i < diff.size(); ++i) {
    diff[i] = a.heldout_draws[i] - b.heldout_draws[i];
    if (std::isnan(diff[i])) continue;
    ++defined;
    positive += diff[i] > 0 ? 1 : 0;
  }
  const double lo = (1.0 - confidence) / 2.0;
  c.difference.low = percentile(diff, lo);
  c.difference.high = percentile(diff, 1.0 - lo);
  c.share_positive = defined ? static_cast<double>(positive) / static_cast<double>(defined) : kNaN;
  return c;
}

EvaluationResult evaluate_matrix(const std::string& diagnoser, const std::string& feature_set,
                                 const Matrix& x, const Labels& y,
                                 const std::vector<std::string>& groups,
                                 const std::vector<Fold>& within_folds,
                                 const std::vector<Fold>& heldout_folds,
                                 const EvaluateOptions& options) {
  DYNFAULT_CHECK(groups_disjoint(heldout_folds, groups),
                 "evaluate_matrix(): a program is on both sides of a held-out fold");
  EvaluationResult r;
  r.diagnoser = diagnoser;
  r.feature_set = feature_set;
  r.n_features = static_cast<int64_t>(x.cols);
  const Labels within = cross_val_predict(diagnoser, x, y, within_folds, options.threads());
  const Labels heldout = cross_val_predict(diagnoser, x, y, heldout_folds, options.threads());
  score_protocols(y, within, heldout, groups, options.bootstrap(), options.confidence(),
                  options.seed(), options.threads(), r);
  r.within.folds = static_cast<int64_t>(within_folds.size());
  r.heldout.folds = static_cast<int64_t>(heldout_folds.size());
  return r;
}

namespace {

// One (diagnoser, feature set) cell of a task's table.
struct Cell {
  std::string diagnoser;
  size_t table = 0;  // index into the loaded tables
};

// The fits of one training fold: every cell on one feature table, one protocol (0 = within,
// 1 = heldout) and one fold. They share the fold's row copies and, through a FitScope, its
// scaling and binning.
struct Job {
  size_t table = 0;
  int protocol = 0;
  size_t fold = 0;
  std::vector<size_t> cells;
};

// The matrix of `table` for `run_ids` (rows in that order), with column names.
Matrix matrix_of(const db::FeatureTable& table, const std::unordered_map<std::string, size_t>& row,
                 const std::vector<std::string>& run_ids) {
  Matrix x(run_ids.size(), table.names.size());
  x.names = table.names;
  for (size_t i = 0; i < run_ids.size(); ++i) {
    const auto& src = table.rows[row.at(run_ids[i])];
    DYNFAULT_CHECK(src.size() == table.names.size(), "evaluate(): feature set '", table.feature_set,
                   "' has a row of ", src.size(), " values for ", table.names.size(),
                   " columns (run ", run_ids[i], ")");
    std::copy(src.begin(), src.end(), x.row(i));
  }
  return x;
}

// CPU time of the calling thread (profiling: unaffected by other processes on the machine).
double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double wall_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Fits every cell on every fold (OpenMP across folds: the cells of one feature table fit one
// after the other on a fold's shared copies); fills preds[cell][protocol] and, when given, the
// CPU seconds of each cell's fits per protocol.
void run_jobs(const std::vector<Cell>& cells, const std::vector<Matrix>& matrices, const Labels& y,
              const std::vector<Fold>* folds, int threads,
              std::vector<std::array<Labels, 2>>& preds,
              std::vector<std::array<double, 2>>* seconds = nullptr) {
  std::vector<Job> jobs;
  for (size_t t = 0; t < matrices.size(); ++t) {
    std::vector<size_t> on_table;
    for (size_t c = 0; c < cells.size(); ++c)
      if (cells[c].table == t) on_table.push_back(c);
    if (on_table.empty()) continue;
    for (int p = 0; p < 2; ++p)
      for (size_t f = 0; f < folds[p].size(); ++f) jobs.push_back(Job{t, p, f, on_table});
  }
  preds.assign(cells.size(), {Labels(y.size()), Labels(y.size())});
  std::string error;
  const int64_t n_jobs = static_cast<int64_t>(jobs.size());
  std::vector<std::vector<double>> fit_seconds(jobs.size());
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic)
#endif
  for (int64_t j = 0; j < n_jobs; ++j) {
    const Job& job = jobs[static_cast<size_t>(j)];
    std::vector<double>& spent = fit_seconds[static_cast<size_t>(j)];
    spent.assign(job.cells.size(), 0.0);
    const Fold& fold = folds[job.protocol][job.fold];
    const Matrix& x = matrices[job.table];
    double t0 = thread_seconds();
    std::string failed;
    try {
      Labels ytrain;
      ytrain.reserve(fold.train.size());
      for (size_t i : fold.train) ytrain.push_back(y[i]);
      const Matrix train = x.take_rows(fold.train);
      const Matrix test = x.take_rows(fold.test);
      const FitScope scope(train);
      // The shared copies are charged to the first cell, as its own copies were before.
      for (size_t c = 0; c < job.cells.size(); ++c) {
        const size_t cell = job.cells[c];
        failed = cells[cell].diagnoser;
        auto model = make_diagnoser(cells[cell].diagnoser);
        model->fit(train, ytrain);
        const Labels p = model->predict(test);
        Labels& out = preds[cell][static_cast<size_t>(job.protocol)];
        for (size_t i = 0; i < fold.test.size(); ++i) out[fold.test[i]] = p[i];
        const double t1 = thread_seconds();
        spent[c] = t1 - t0;
        t0 = t1;
      }
    } catch (const std::exception& e) {
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp critical(dynfault_eval_error)
#endif
      if (error.empty()) error = failed + ": " + e.what();
    }
  }
  (void)threads;
  if (seconds) {
    seconds->assign(cells.size(), {0.0, 0.0});
    for (size_t j = 0; j < jobs.size(); ++j)
      for (size_t c = 0; c < jobs[j].cells.size(); ++c)
        (*seconds)[jobs[j].cells[c]][static_cast<size_t>(jobs[j].protocol)] += fit_seconds[j][c];
  }
  if (!error.empty()) throw Error("evaluate(): " + error);
}

db::EvaluationRow program_row(const std::string& evaluation_id, const std::string& task,
                              const std::string& protocol, const std::string& diagnoser,
                              const std::string& feature_set, const std::string& metric,
                              double value, int64_t n, const std::string& details) {
  db::EvaluationRow row;
  row.evaluation_id = evaluation_id;
  row.task = task;
  row.protocol = protocol;
  row.diagnoser = diagnoser;
  row.feature_set = feature_set;
  row.metric = metric;
  row.value = value;
  row.ci_low = row.ci_high = kNaN;
  row.n = n;
  row.details = details;
  return row;
}

json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

Labels cross_val_predict(const std::string& diagnoser, const Matrix& x, const Labels& y,
                         const std::vector<Fold>& folds, int threads) {
  DYNFAULT_CHECK(x.rows == y.size(), "cross_val_predict(): ", x.rows, " rows, ", y.size(),
                 " labels");
  const std::vector<int64_t> fold_of = test_fold_of(folds, y.size());
  for (size_t i = 0; i < fold_of.size(); ++i)
    DYNFAULT_CHECK(fold_of[i] >= 0, "cross_val_predict(): sample ", i, " is never tested");
  for (size_t f = 0; f < folds.size(); ++f)
    DYNFAULT_CHECK(!folds[f].train.empty(), "cross_val_predict(): fold ", f,
                   " has no training rows");
  const std::vector<Fold> protocols[2] = {folds, {}};
  std::vector<std::array<Labels, 2>> preds;
  run_jobs({Cell{diagnoser, 0}}, {x}, y, protocols, threads, preds);
  return preds[0][0];
}

db::FeatureTable load_feature_table(db::Store& store, const std::string& spec,
                                    const std::vector<std::string>& stored) {
  auto has = [&](const std::string& n) {
    return std::find(stored.begin(), stored.end(), n) != stored.end();
  };
  if (has(spec)) return store.features(spec);
  const auto parts = features::split_feature_set_spec(spec);
  for (const auto& p : parts)
    DYNFAULT_CHECK(has(p), "feature set '", p, "' has not been extracted (stored: ",
                   stored.empty() ? std::string("none") : join(stored, ", "),
                   "); run 'dynfault features --sets ", p, "' first");
  DYNFAULT_ASSERT(parts.size() > 1);
  std::vector<db::FeatureTable> tables;
  for (const auto& p : parts) tables.push_back(store.features(p));
  db::FeatureTable out;
  out.feature_set = spec;
  std::set<std::string> seen;
  for (const auto& t : tables)
    for (const auto& n : t.names) {
      DYNFAULT_CHECK(seen.insert(n).second, "column '", n,
                     "' appears in two parts of '", spec, "'");
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
  validate(options);
  EvaluationReport report;
  report.options = options;
  report.evaluation_id =
      options.evaluation_id().empty() ? fresh_evaluation_id(options) : options.evaluation_id();
  double stage_load = 0, stage_fits = 0, stage_scoring = 0;
  auto stage_t0 = std::chrono::steady_clock::now();

  // Everything is read and checked before the first write.
  db::RunFilter filter;
  filter.campaign = options.campaign();
  filter.status = "FINISHED";
  std::unordered_map<std::string, std::string> program_of;
  for (const auto& run : store.runs(filter)) program_of[run.spec.run_uuid] = run.spec.program;

  // Tables: the listed sets, then the sets that bound diagnosers (baselines, rules) need.
  std::vector<std::string> specs = options.feature_sets();
  std::vector<std::string> bound(options.diagnosers().size());
  for (size_t d = 0; d < bound.size(); ++d) {
    bound[d] = make_diagnoser(options.diagnosers()[d])->feature_set();
    if (!bound[d].empty() && std::find(specs.begin(), specs.end(), bound[d]) == specs.end())
      specs.push_back(bound[d]);
  }
  const std::vector<std::string> stored = store.feature_sets();
  std::vector<db::FeatureTable> tables;
  std::vector<std::unordered_map<std::string, size_t>> row_of;
  for (const auto& spec : specs) {
    tables.push_back(load_feature_table(store, spec, stored));
    row_of.emplace_back();
    for (size_t i = 0; i < tables.back().run_uuids.size(); ++i)
      row_of.back()[tables.back().run_uuids[i]] = i;
  }
  // Cells of every task: unbound diagnosers x listed sets, bound diagnosers x their own set.
  std::vector<Cell> cells;
  for (size_t s = 0; s < options.feature_sets().size(); ++s)
    for (size_t d = 0; d < bound.size(); ++d)
      if (bound[d].empty()) cells.push_back(Cell{options.diagnosers()[d], s});
  for (size_t d = 0; d < bound.size(); ++d)
    if (!bound[d].empty())
      cells.push_back(Cell{
          options.diagnosers()[d],
          static_cast<size_t>(std::find(specs.begin(), specs.end(), bound[d]) - specs.begin())});

  struct Pending {
    std::vector<db::SplitRow> within, heldout;
  };
  std::vector<Pending> splits;
  std::vector<db::EvaluationRow> rows;
  stage_load += wall_since(stage_t0);  // runs and feature tables
  for (const auto& task : options.tasks()) {
    stage_t0 = std::chrono::steady_clock::now();
    TaskReport tr;
    tr.task = task;
    // Runs of the campaign labelled for this task and present in every feature table, so that
    // all feature sets and diagnosers share one set of folds.
    std::vector<std::pair<std::string, std::string>> runs;  // (run_uuid, label)
    const std::vector<db::LabelRow> labels = store.labels(task);
    for (const auto& l : labels) {
      if (!program_of.count(l.run_uuid)) continue;  // another campaign, or no longer FINISHED
      if (l.label.empty()) {
        ++tr.n_not_applicable;
        continue;
      }
      bool everywhere = true;
      for (const auto& m : row_of) everywhere = everywhere && m.count(l.run_uuid);
      if (everywhere)
        runs.emplace_back(l.run_uuid, l.label);
      else
        ++tr.n_missing_features;
    }
    std::sort(runs.begin(), runs.end());
    Labels y;
    std::vector<std::string> groups, run_ids;
    std::set<std::string> programs;
    for (const auto& [run, label] : runs) {
      run_ids.push_back(run);
      y.push_back(label);
      groups.push_back(program_of[run]);
      programs.insert(program_of[run]);
      ++tr.class_counts[label];
    }
    for (const auto& kv : tr.class_counts) tr.classes.push_back(kv.first);
    tr.n_traces = static_cast<int64_t>(y.size());
    tr.n_programs = static_cast<int64_t>(programs.size());
    if (labels.empty()) {
      tr.message = "no labels stored for task '" + task + "' (derive labels first)";
    } else if (tr.classes.size() < 2) {
      tr.message = "needs at least 2 classes, found " + std::to_string(tr.classes.size()) +
                   (tr.classes.empty() ? "" : " (" + join(tr.classes, ", ") + ")") + " among " +
                   std::to_string(tr.n_traces) + " labelled traces with features";
    } else if (tr.n_programs < 2) {
      tr.message =
          "needs at least 2 programs to hold one out, found " + std::to_string(tr.n_programs);
    }
    if (!tr.message.empty()) {
      report.tasks.push_back(std::move(tr));
      stage_load += wall_since(stage_t0);
      continue;
    }

    const std::vector<Fold> folds[2] = {
        make_splits(SplitKind::by_run, y, groups, options.within_folds(), options.seed()),
        make_splits(SplitKind::by_program, y, groups, options.heldout_folds(), options.seed())};
    DYNFAULT_ASSERT(groups_disjoint(folds[1], groups));
    Pending p;
    const auto wf = test_fold_of(folds[0], y.size());
    const auto hf = test_fold_of(folds[1], y.size());
    for (size_t i = 0; i < y.size(); ++i) {
      p.within.push_back(db::SplitRow{run_ids[i], wf[i]});
      p.heldout.push_back(db::SplitRow{run_ids[i], hf[i]});
    }
    splits.push_back(std::move(p));

    std::vector<Matrix> matrices;
    for (size_t s = 0; s < tables.size(); ++s)
      matrices.push_back(matrix_of(tables[s], row_of[s], run_ids));
    stage_load += wall_since(stage_t0);
    stage_t0 = std::chrono::steady_clock::now();
    std::vector<std::array<Labels, 2>> preds;
    std::vector<std::array<double, 2>> seconds;
    run_jobs(cells, matrices, y, folds, options.threads(), preds, &seconds);
    stage_fits += wall_since(stage_t0);
    stage_t0 = std::chrono::steady_clock::now();

    const BootstrapPlan plan = make_plan(groups, options.seed(), options.bootstrap());
    tr.results.resize(cells.size());
    const int64_t n_cells = static_cast<int64_t>(cells.size());
#ifdef DYNFAULT_HAS_OPENMP
#pragma omp parallel for num_threads(options.threads()) schedule(dynamic)
#endif
    for (int64_t c = 0; c < n_cells; ++c) {
      EvaluationResult& r = tr.results[static_cast<size_t>(c)];
      const Cell& cell = cells[static_cast<size_t>(c)];
      r.diagnoser = cell.diagnoser;
      r.feature_set = specs[cell.table];
      r.n_features = static_cast<int64_t>(matrices[cell.table].cols);
      score_with_plan(y, preds[static_cast<size_t>(c)][0], preds[static_cast<size_t>(c)][1], plan,
                      options.confidence(), r);
      r.within.folds = static_cast<int64_t>(folds[0].size());
      r.heldout.folds = static_cast<int64_t>(folds[1].size());
      r.fit_seconds[0] = seconds[static_cast<size_t>(c)][0];
      r.fit_seconds[1] = seconds[static_cast<size_t>(c)][1];
    }
    for (const auto& r : tr.results) {
      const auto more = rows_of(report.evaluation_id, task, r, tr, options);
      rows.insert(rows.end(), more.begin(), more.end());
    }
    if (options.paired())
      for (size_t a = 0; a < tr.results.size(); ++a)
        for (size_t b = a + 1; b < tr.results.size(); ++b) {
          const EvaluationResult &ra = tr.results[a], &rb = tr.results[b];
          if (ra.diagnoser != rb.diagnoser || ra.feature_set == rb.feature_set) continue;
          PairedComparison c = compare_paired(ra, rb, options.confidence());
          db::EvaluationRow row = program_row(
              report.evaluation_id, task, "paired", c.diagnoser, c.set_a + " vs " + c.set_b,
              "heldout_balanced_accuracy_diff", c.difference.value, tr.n_traces,
              json{{"set_a", c.set_a},
                   {"set_b", c.set_b},
                   {"definition", "heldout balanced accuracy of set_a - set_b"},
                   {"share_positive", num_or_null(c.share_positive)},
                   {"bootstrap", options.bootstrap()},
                   {"resampling", "programs with replacement, shared by both sets"}}
                  .dump());
          row.ci_low = c.difference.low;
          row.ci_high = c.difference.high;
          rows.push_back(row);
          tr.paired.push_back(std::move(c));
        }
    report.tasks.push_back(std::move(tr));
    stage_scoring += wall_since(stage_t0);
  }
  report.stage_seconds = {{"load", stage_load}, {"fits", stage_fits}, {"scoring", stage_scoring}};

  stage_t0 = std::chrono::steady_clock::now();
  if (options.program_structure()) {
    // Every FINISHED run of the campaign with all listed feature sets, labelled by its program.
    std::vector<std::string> run_ids;
    for (const auto& [run, program] : program_of) {
      bool everywhere = true;
      for (size_t s = 0; s < options.feature_sets().size(); ++s)
        everywhere = everywhere && row_of[s].count(run);
      if (everywhere) run_ids.push_back(run);
    }
    std::sort(run_ids.begin(), run_ids.end());
    Labels programs;
    for (const auto& r : run_ids) programs.push_back(program_of[r]);
    const std::set<std::string> distinct(programs.begin(), programs.end());
    report.identity_traces = static_cast<int64_t>(run_ids.size());
    if (distinct.size() < 2) {
      report.identity_message =
          "needs at least 2 programs, found " + std::to_string(distinct.size());
    } else {
      const std::vector<Fold> folds[2] = {make_splits(SplitKind::by_run, programs, programs,
                                                      options.within_folds(), options.seed()),
                                          {}};
      std::vector<Cell> id_cells;
      std::vector<Matrix> matrices;
      for (size_t s = 0; s < options.feature_sets().size(); ++s) {
        matrices.push_back(matrix_of(tables[s], row_of[s], run_ids));
        id_cells.push_back(Cell{options.identity_diagnoser(), s});
      }
      std::vector<std::array<Labels, 2>> preds;
      run_jobs(id_cells, matrices, programs, folds, options.threads(), preds);
      const double chance = 1.0 / static_cast<double>(distinct.size());
      for (size_t s = 0; s < id_cells.size(); ++s) {
        ProgramIdentity id;
        id.feature_set = specs[s];
        id.diagnoser = options.identity_diagnoser();
        id.balanced_accuracy = balanced_accuracy(programs, preds[s][0]);
        id.accuracy = accuracy(programs, preds[s][0]);
        id.chance = chance;
        id.n = static_cast<int64_t>(programs.size());
        id.n_programs = static_cast<int64_t>(distinct.size());
        const std::string details = json{
            {"chance", chance},
            {"n_programs", id.n_programs},
            {"folds", folds[0].size()},
            {"split", "stratified by program (within)"},
            {"seed", options.seed()}}.dump();
        rows.push_back(program_row(report.evaluation_id, kTaskProgramIdentity, "within",
                                   id.diagnoser, id.feature_set, "balanced_accuracy",
                                   id.balanced_accuracy, id.n, details));
        rows.push_back(program_row(report.evaluation_id, kTaskProgramIdentity, "within",
                                   id.diagnoser, id.feature_set, "accuracy", id.accuracy, id.n,
                                   details));
        report.identity.push_back(id);

        VarianceShare v = variance_share(specs[s], matrices[s], programs, options.top_features());
        json top = json::array();
        for (const auto& [f, e] : v.top) top.push_back({{"feature", f}, {"eta2", e}});
        rows.push_back(program_row(report.evaluation_id, kTaskProgramVariance, "all", "",
                                   v.feature_set, "eta2_mean", v.mean_eta2, id.n,
                                   json{{"top", top},
                                        {"n_features", v.eta2.size()},
                                        {"n_defined", v.n_defined},
                                        {"definition",
                                         "one-way ANOVA SS_between / SS_total by "
                                         "program, finite values"}}
                                       .dump()));
        for (const auto& [f, e] : v.eta2)
          rows.push_back(program_row(report.evaluation_id, kTaskProgramVariance, "all", "",
                                     v.feature_set, "eta2/" + f, e, id.n, ""));
        report.variance.push_back(std::move(v));
      }
    }
  }

  report.stage_seconds.emplace_back("program_structure", wall_since(stage_t0));
  stage_t0 = std::chrono::steady_clock::now();
  size_t next_split = 0;
  for (const auto& tr : report.tasks) {
    if (!tr.message.empty()) continue;
    const Pending& p = splits[next_split++];
    store.write_splits(report.evaluation_id, tr.task, "within", p.within);
    store.write_splits(report.evaluation_id, tr.task, "heldout", p.heldout);
  }
  if (!rows.empty()) store.write_evaluation(rows);
  report.stage_seconds.emplace_back("store", wall_since(stage_t0));
  return report;
}

std::string format_table(const EvaluationReport& report) {
  std::ostringstream out;
  out << "evaluation " << report.evaluation_id << '\n';
  const auto& o = report.options;
  const int pct = static_cast<int>(std::lround(o.confidence() * 100));
  for (const auto& tr : report.tasks) {
    out << "\n== " << tr.task;
    if (!tr.message.empty()) {
      out << ": skipped: " << tr.message << '\n';
      continue;
    }
    out << ": " << tr.classes.size() << " classes, " << tr.n_traces << " traces, " << tr.n_programs
        << " programs ==\n";
    if (tr.n_not_applicable > 0 || tr.n_missing_features > 0)
      out << "excluded: " << tr.n_not_applicable << " traces labelled not applicable, "
          << tr.n_missing_features << " without features\n";
    out << "classes:";
    for (const auto& [cls, n] : tr.class_counts) out << ' ' << cls << " (" << n << ')';
    out << '\n';
    out << "within = stratified " << o.within_folds() << "-fold over traces; held-out = "
        << (o.heldout_folds() == 0 ? std::string("leave-one-program-out")
                                   : std::to_string(o.heldout_folds()) + "-fold by program")
        << "; gap = within - held-out\n";
    if (o.bootstrap() > 0)
      out << "[" << pct << "% percentile interval, " << o.bootstrap()
          << " bootstrap resamples of programs]\n";
    for (const bool f1 : {false, true}) {
      out << '\n' << (f1 ? "macro-F1" : "balanced accuracy") << '\n';
      out << pad("diagnoser", 21) << pad("feature set", 18) << pad("within", 23)
          << pad("held-out", 23) << pad("gap", 24) << pad("traces", 8) << "programs\n";
      for (const auto& r : tr.results) {
        const Interval& w = f1 ? r.within.macro_f1 : r.within.balanced_accuracy;
        const Interval& h = f1 ? r.heldout.macro_f1 : r.heldout.balanced_accuracy;
        const Interval& g = f1 ? r.gap_macro_f1 : r.gap_balanced_accuracy;
        out << pad(r.diagnoser, 21) << pad(r.feature_set, 18) << pad(fmt_interval(w), 23)
            << pad(fmt_interval(h), 23) << pad(fmt_interval(g), 24)
            << pad(std::to_string(tr.n_traces), 8) << tr.n_programs << '\n';
      }
    }
    if (!tr.paired.empty()) {
      out << "\npaired: held-out balanced accuracy of set a - set b, same resamples\n";
      out << pad("diagnoser", 21) << pad("a vs b", 36) << pad("difference", 24) << "share > 0\n";
      for (const auto& c : tr.paired)
        out << pad(c.diagnoser, 21) << pad(c.set_a + " vs " + c.set_b, 36)
            << pad(fmt_interval(c.difference), 24) << fmt(c.share_positive) << '\n';
    }
  }
  if (o.program_structure()) {
    out << "\n== program identity and program share of feature variance ==\n";
    if (!report.identity_message.empty()) {
      out << "skipped: " << report.identity_message << '\n';
      return out.str();
    }
    if (!report.identity.empty())
      out << "which program a trace comes from, " << report.identity.front().diagnoser
          << ", stratified " << o.within_folds() << "-fold by program over "
          << report.identity_traces << " traces; chance = 1/" << report.identity.front().n_programs
          << " = " << fmt(report.identity.front().chance) << "\n";
    out << pad("feature set", 18) << pad("balanced acc", 14) << pad("accuracy", 10)
        << pad("mean eta^2", 12) << "most program-dependent features (eta^2)\n";
    for (size_t s = 0; s < report.identity.size(); ++s) {
      const auto& id = report.identity[s];
      const VarianceShare* v = s < report.variance.size() ? &report.variance[s] : nullptr;
      std::string top;
      if (v)
        for (const auto& [f, e] : v->top) top += (top.empty() ? "" : ", ") + f + " " + fmt(e);
      out << pad(id.feature_set, 18) << pad(fmt(id.balanced_accuracy), 14)
          << pad(fmt(id.accuracy), 10) << pad(v ? fmt(v->mean_eta2) : fmt(kNaN), 12) << top << '\n';
    }
  }
  return out.str();
}

}  // namespace dynfault::diagnosis
