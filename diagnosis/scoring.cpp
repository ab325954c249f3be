#include "diagnosis/scoring.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "common/check.h"
#include "diagnosis/splits.h"

namespace dynfault::diagnosis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Independent stream per resample: results do not depend on which thread runs which resample.
uint64_t resample_seed(uint64_t seed, int64_t b) {
  SplitMix64 mix(seed ^ 0xD1B54A32D192ED03ULL);
  const uint64_t base = mix.next();
  SplitMix64 rng(base + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(b + 1));
  return rng.next();
}

std::vector<int> encode(const Labels& y, const std::unordered_map<std::string, int>& index) {
  std::vector<int> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    auto it = index.find(y[i]);
    DYNFAULT_ASSERT(it != index.end());
    out[i] = it->second;
  }
  return out;
}

// Per-group confusion counts: cells[g][t * k + p].
std::vector<std::vector<int64_t>> group_confusions(const std::vector<int>& t,
                                                   const std::vector<int>& p,
                                                   const std::vector<size_t>& group_of,
                                                   size_t groups, size_t k) {
  std::vector<std::vector<int64_t>> cells(groups, std::vector<int64_t>(k * k, 0));
  for (size_t i = 0; i < t.size(); ++i)
    ++cells[group_of[i]][static_cast<size_t>(t[i]) * k + static_cast<size_t>(p[i])];
  return cells;
}

ConfusionMatrix weighted_confusion(const std::vector<std::vector<int64_t>>& cells,
                                   const std::vector<int>* weights,
                                   const std::vector<std::string>& classes) {
  const size_t k = classes.size();
  ConfusionMatrix cm;
  cm.classes = classes;
  cm.counts.assign(k, std::vector<int64_t>(k, 0));
  for (size_t g = 0; g < cells.size(); ++g) {
    const int w = weights ? (*weights)[g] : 1;
    if (w == 0) continue;
    for (size_t a = 0; a < k; ++a)
      for (size_t b = 0; b < k; ++b) cm.counts[a][b] += w * cells[g][a * k + b];
  }
  return cm;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? kNaN : s / static_cast<double>(v.size());
}

}  // namespace

BootstrapPlan make_plan(const std::vector<std::string>& groups, uint64_t seed, int64_t resamples) {
  BootstrapPlan plan;
  std::map<std::string, size_t> index;  // sorted, as bootstrap_indices
  for (const auto& g : groups) index.emplace(g, 0);
  for (auto& [g, i] : index) i = plan.groups++;
  for (const auto& g : groups) plan.group_of.push_back(index[g]);
  plan.weights.assign(static_cast<size_t>(std::max<int64_t>(resamples, 0)),
                      std::vector<int>(plan.groups, 0));
  for (int64_t b = 0; b < resamples; ++b) {
    SplitMix64 rng(resample_seed(seed, b));
    for (size_t draw = 0; draw < plan.groups; ++draw)
      ++plan.weights[static_cast<size_t>(b)][static_cast<size_t>(rng.below(plan.groups))];
  }
  return plan;
}

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

RungScores score_predictions(const Labels& y, const std::vector<Labels>& preds,
                             const BootstrapPlan& plan, double confidence) {
  DYNFAULT_CHECK(!preds.empty(), "score_predictions(): no predictions");
  DYNFAULT_CHECK(plan.group_of.size() == y.size(), "score_predictions(): the plan covers ",
                 plan.group_of.size(), " traces, not ", y.size());
  std::set<std::string> all(y.begin(), y.end());
  for (const auto& p : preds) {
    DYNFAULT_CHECK(p.size() == y.size(), "score_predictions(): ", p.size(), " predictions for ",
                   y.size(), " labels");
    all.insert(p.begin(), p.end());
  }
  const std::vector<std::string> classes(all.begin(), all.end());
  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < classes.size(); ++i) index[classes[i]] = static_cast<int>(i);
  const std::vector<int> t = encode(y, index);
  const size_t k = classes.size(), seeds = preds.size();

  RungScores s;
  s.n = static_cast<int64_t>(y.size());
  s.learner_seeds = static_cast<int64_t>(seeds);
  s.confusion.classes = classes;
  s.confusion.counts.assign(k, std::vector<int64_t>(k, 0));
  std::vector<std::vector<std::vector<int64_t>>> cells(seeds);
  std::vector<double> ba(seeds), f1(seeds);
  std::map<std::string, double> recall;
  for (size_t j = 0; j < seeds; ++j) {
    cells[j] = group_confusions(t, encode(preds[j], index), plan.group_of, plan.groups, k);
    const ConfusionMatrix cm = weighted_confusion(cells[j], nullptr, classes);
    for (size_t a = 0; a < k; ++a)
      for (size_t b = 0; b < k; ++b) s.confusion.counts[a][b] += cm.counts[a][b];
    ba[j] = balanced_accuracy(cm);
    f1[j] = macro_f1(cm);
    for (const auto& [cls, r] : per_class_recall(cm)) recall[cls] += r / static_cast<double>(seeds);
  }
  s.recall = recall;
  s.balanced_accuracy.value = mean_of(ba);
  s.macro_f1.value = mean_of(f1);
  if (seeds >= 2) {
    double ss = 0;
    for (double v : ba) ss += (v - s.balanced_accuracy.value) * (v - s.balanced_accuracy.value);
    s.learner_sd = std::sqrt(ss / static_cast<double>(seeds - 1));
  }
  const size_t resamples = plan.weights.size();
  if (resamples == 0) return s;
  s.draws.resize(resamples);
  s.f1_draws.resize(resamples);
  for (size_t b = 0; b < resamples; ++b) {
    double sum_ba = 0, sum_f1 = 0;
    for (size_t j = 0; j < seeds; ++j) {
      const ConfusionMatrix cm = weighted_confusion(cells[j], &plan.weights[b], classes);
      sum_ba += balanced_accuracy(cm);
      sum_f1 += macro_f1(cm);
    }
    s.draws[b] = sum_ba / static_cast<double>(seeds);
    s.f1_draws[b] = sum_f1 / static_cast<double>(seeds);
  }
  const double lo = (1.0 - confidence) / 2.0;
  s.balanced_accuracy.low = percentile(s.draws, lo);
  s.balanced_accuracy.high = percentile(s.draws, 1.0 - lo);
  s.macro_f1.low = percentile(s.f1_draws, lo);
  s.macro_f1.high = percentile(s.f1_draws, 1.0 - lo);
  return s;
}

PairedDifference paired_difference(double a_value, const std::vector<double>& a_draws,
                                   double b_value, const std::vector<double>& b_draws,
                                   double confidence) {
  DYNFAULT_CHECK(a_draws.size() == b_draws.size(),
                 "paired_difference(): the scores come from different resamples");
  PairedDifference d;
  d.difference.value = a_value - b_value;
  if (a_draws.empty()) return d;
  std::vector<double> diff(a_draws.size());
  size_t positive = 0, defined = 0;
  for (size_t i = 0; i < diff.size(); ++i) {
    diff[i] = a_draws[i] - b_draws[i];
    if (std::isnan(diff[i])) continue;
    ++defined;
    positive += diff[i] > 0 ? 1 : 0;
  }
  const double lo = (1.0 - confidence) / 2.0;
  d.difference.low = percentile(diff, lo);
  d.difference.high = percentile(diff, 1.0 - lo);
  d.share_positive = defined ? static_cast<double>(positive) / static_cast<double>(defined) : kNaN;
  return d;
}

Verdict judge(const Interval& d, double margin) {
  if (std::isnan(d.low) || std::isnan(d.high)) return Verdict::none;
  if (d.low >= -margin && d.high <= margin) return Verdict::equivalent;
  if (d.low > 0) return Verdict::positive;
  if (d.high < 0) return Verdict::negative;
  return Verdict::inconclusive;
}

namespace {

/// A verdict in words; `positive` and `negative` name the two directions.
std::string verdict_word(Verdict v, const char* positive, const char* negative) {
  switch (v) {
    case Verdict::positive:
      return positive;
    case Verdict::negative:
      return negative;
    case Verdict::equivalent:
      return "equivalent";
    case Verdict::inconclusive:
      return "inconclusive";
    case Verdict::none:
      break;
  }
  return "-";
}

}  // namespace

std::string comparison_word(Verdict v) { return verdict_word(v, "helps", "hurts"); }

std::string loss_word(Verdict v) { return verdict_word(v, "loses", "gains"); }

}  // namespace dynfault::diagnosis
