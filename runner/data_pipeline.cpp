#include "runner/data_pipeline.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/check.h"

namespace dynfault::runner {

using programs::Dataset;
using programs::DataSpec;
using programs::Rng;

namespace {

void check_fraction(double v, const char* name, bool allow_one) {
  DYNFAULT_CHECK(v >= 0 && (allow_one ? v <= 1 : v < 1), "prepare_data(): ", name,
                 " must be in [0, ", allow_one ? "1]" : "1)", ", got ", v);
}

/// Sample indices per class (one group for regression), in stored order.
std::vector<std::vector<int64_t>> groups_of(const Dataset& d) {
  const int64_t k = d.num_classes > 0 ? d.num_classes : 1;
  std::vector<std::vector<int64_t>> g(static_cast<size_t>(k));
  for (int64_t i = 0; i < d.size(); ++i) {
    const auto c = d.num_classes > 0 ? static_cast<size_t>(d.y[static_cast<size_t>(i)]) : 0;
    DYNFAULT_ASSERT(c < g.size());
    g[c].push_back(i);
  }
  return g;
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// Removes round(share * n_c) random samples from each class c >= first_class, keeping at least
/// one sample per class.
Dataset remove_share(const Dataset& d, double share, Rng& rng, int64_t first_class) {
  std::vector<int64_t> keep;
  auto groups = groups_of(d);
  for (size_t c = 0; c < groups.size(); ++c) {
    auto& members = groups[c];
    if (static_cast<int64_t>(c) < first_class) {
      keep.insert(keep.end(), members.begin(), members.end());
      continue;
    }
    rng.shuffle(members);
    auto drop = static_cast<size_t>(std::llround(share * static_cast<double>(members.size())));
    if (drop >= members.size()) drop = members.empty() ? 0 : members.size() - 1;
    keep.insert(keep.end(), members.begin() + static_cast<std::ptrdiff_t>(drop), members.end());
  }
  return programs::subset(d, sorted(std::move(keep)));
}

void add_label_noise(Dataset& d, double share, Rng& rng) {
  const int64_t n = d.size();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  rng.shuffle(idx);
  const auto m = static_cast<size_t>(std::llround(share * static_cast<double>(n)));
  if (d.num_classes > 1) {
    for (size_t j = 0; j < m; ++j) {
      float& y = d.y[static_cast<size_t>(idx[j])];
      // A uniformly chosen *different* class: offset 1..K-1 modulo K.
      const auto offset =
          1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(d.num_classes - 1)));
      y = static_cast<float>((static_cast<int64_t>(y) + offset) % d.num_classes);
    }
    return;
  }
  if (d.num_classes == 0 && n > 1) {
    // Regression: the chosen samples take the target of another, uniformly drawn sample.
    const int64_t t = d.target_numel();
    const std::vector<float> original = d.y;
    for (size_t j = 0; j < m; ++j) {
      const auto dst = static_cast<size_t>(idx[j]);
      const auto src = static_cast<size_t>(rng.below(static_cast<uint64_t>(n)));
      std::copy(original.begin() + static_cast<std::ptrdiff_t>(src * t),
                original.begin() + static_cast<std::ptrdiff_t>((src + 1) * t),
                d.y.begin() + static_cast<std::ptrdiff_t>(dst * t));
    }
  }
}

/// Normalisation layout: feature f of element e within a sample of `shape`.
struct Layout {
  int64_t channels;  ///< number of statistics
  int64_t inner;     ///< contiguous elements sharing a statistic (images: H*W)
  int64_t stride;    ///< elements per repetition of the channel pattern
};

Layout layout_of(const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  if (shape.size() <= 1) return {numel, 1, numel};
  if (shape.size() == 2) return {shape[1], 1, shape[1]};  // {T, F}: per trailing feature
  return {shape[0], numel / shape[0], numel};             // {C, ...}: per channel
}

int64_t channel_of(const Layout& l, int64_t e) { return l.inner == 1 ? e % l.stride : e / l.inner; }

void normalize_all(PreparedData& p) {
  const Layout l = layout_of(p.train.sample_shape);
  std::vector<double> sum(static_cast<size_t>(l.channels), 0.0);
  std::vector<double> sum2(static_cast<size_t>(l.channels), 0.0);
  std::vector<double> count(static_cast<size_t>(l.channels), 0.0);
  const int64_t per_sample = p.train.sample_numel();
  for (size_t i = 0; i < p.train.x.size(); ++i) {
    const auto c = static_cast<size_t>(channel_of(l, static_cast<int64_t>(i) % per_sample));
    const double v = p.train.x[i];
    sum[c] += v;
    sum2[c] += v * v;
    count[c] += 1;
  }
  std::vector<float> mean(sum.size()), inv_std(sum.size());
  for (size_t c = 0; c < sum.size(); ++c) {
    const double m = count[c] > 0 ? sum[c] / count[c] : 0.0;
    const double var = count[c] > 0 ? std::max(0.0, sum2[c] / count[c] - m * m) : 0.0;
    const double s = std::sqrt(var);
    mean[c] = static_cast<float>(m);
    // A constant feature (e.g. an always-black pixel) is centred but not scaled.
    inv_std[c] = static_cast<float>(s > 1e-8 ? 1.0 / s : 1.0);
  }
  for (Dataset* d : {&p.train, &p.val, &p.test}) {
    for (size_t i = 0; i < d->x.size(); ++i) {
      const auto c = static_cast<size_t>(channel_of(l, static_cast<int64_t>(i) % per_sample));
      d->x[i] = (d->x[i] - mean[c]) * inv_std[c];
    }
  }
}

}  // namespace

PreparedData prepare_data(const DataSpec& spec, uint64_t seed) {
  check_fraction(spec.val_fraction, "val_fraction", false);
  check_fraction(spec.label_noise, "label_noise", true);
  check_fraction(spec.delete_fraction, "delete_fraction", false);
  check_fraction(spec.imbalance, "imbalance", true);
  DYNFAULT_CHECK(spec.input_noise >= 0, "prepare_data(): input_noise must be >= 0, got ",
                 spec.input_noise);
  DYNFAULT_CHECK(std::isfinite(spec.input_scale), "prepare_data(): input_scale must be finite");

  programs::DataSplit split = programs::load_data(spec, programs::mix_seed(seed, kDataStream));
  PreparedData p;
  p.test = std::move(split.test);

  // Validation: the tail of every class, so the split is stratified and needs no random draw.
  std::vector<int64_t> train_idx, val_idx;
  for (const auto& members : groups_of(split.train)) {
    const auto n_val =
        static_cast<size_t>(std::llround(spec.val_fraction * static_cast<double>(members.size())));
    const size_t n_train = members.size() - std::min(n_val, members.size());
    train_idx.insert(train_idx.end(), members.begin(),
                     members.begin() + static_cast<std::ptrdiff_t>(n_train));
    val_idx.insert(val_idx.end(), members.begin() + static_cast<std::ptrdiff_t>(n_train),
                   members.end());
  }
  p.train = programs::subset(split.train, sorted(std::move(train_idx)));
  p.val = programs::subset(split.train, sorted(std::move(val_idx)));
  DYNFAULT_CHECK(p.train.size() > 0, "prepare_data(): data set '", spec.name,
                 "' leaves no training samples (val_fraction ", spec.val_fraction, ")");

  Rng rng(programs::mix_seed(seed, kFaultStream));
  if (spec.delete_fraction > 0) p.train = remove_share(p.train, spec.delete_fraction, rng, 0);
  if (spec.imbalance > 0 && p.train.num_classes > 1) {
    const int64_t k = p.train.num_classes;
    p.train = remove_share(p.train, spec.imbalance, rng, k - k / 2);
  }
  if (spec.label_noise > 0) add_label_noise(p.train, spec.label_noise, rng);

  if (spec.normalize && !p.train.integer_inputs) normalize_all(p);

  if (spec.input_noise > 0 && !p.train.integer_inputs) {
    for (float& v : p.train.x) v += static_cast<float>(spec.input_noise * rng.normal());
  }
  if (spec.input_scale != 1.0 && !p.train.integer_inputs) {
    const auto s = static_cast<float>(spec.input_scale);
    for (Dataset* d : {&p.train, &p.val, &p.test})
      for (float& v : d->x) v *= s;
  }
  return p;
}

}  // namespace dynfault::runner
