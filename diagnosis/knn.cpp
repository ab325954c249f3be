#include "diagnosis/knn.h"

#include <algorithm>
#include <istream>
#include <ostream>

#include "diagnosis/model_io.h"
#include "diagnosis/simd.h"

namespace dynfault::diagnosis {
namespace {
constexpr int kFormatVersion = 1;
}  // namespace

Knn::Knn(KnnOptions options) : options_(options) {
  DYNFAULT_CHECK(options_.k() >= 1, "Knn: k must be >= 1, got ", options_.k());
  DYNFAULT_CHECK(options_.clip_quantile() >= 0 && options_.clip_quantile() < 0.5,
                 "Knn: clip_quantile must be in [0, 0.5), got ", options_.clip_quantile());
}

void Knn::fit(const Matrix& x, const Labels& y) {
  classes_ = training_classes(x, y, "Knn");
  const auto prepared = scaled(x, options_.clip_quantile(), options_.scaling());
  scaler_ = prepared->scaler;
  train_ = std::shared_ptr<const Matrix>(prepared, &prepared->x);  // no copy
  labels_ = encode_labels(y, classes_);
  fitted_ = true;
}

namespace {

// The k nearest training rows (squared Euclidean distance) of each query row of `q` in
// [i0, i1), into bests[i - i0] as sorted (distance, index) pairs.
DYNFAULT_SIMD_CLONES
void nearest(const Matrix& q, size_t i0, size_t i1, const Matrix& train, size_t kk,
             std::vector<std::vector<std::pair<double, size_t>>>& bests) {
  const size_t n = train.rows, d = train.cols, d4 = d - d % 4;
  for (size_t t = 0; t < n; ++t) {
    const double* b = train.row(t);
    for (size_t i = i0; i < i1; ++i) {
      const double* a = q.row(i);
      auto& best = bests[i - i0];
      // Four partial sums s0..s3 (s_l adds the terms j = l mod 4), the lanes of one vector: the
      // loop is SIMD without -ffast-math, lane by lane the arithmetic of scalar code.
      // Once k candidates are held, stop as soon as the partial distance reaches the k-th
      // best: the terms are non-negative and rounding is monotone, so the full sum could not
      // be smaller either (the neighbours found are exactly those of the full computation).
      const bool full = best.size() == kk;
      const double bound = full ? best.back().first : 0.0;
      simd::V4 s = {0, 0, 0, 0};
      size_t j = 0;
      bool pruned = false;
      while (j < d4) {
        const size_t stop = std::min(d4, j + 32);
        for (; j < stop; j += 4) {
          simd::V4 va, vb;
          simd::load(va, a + j);
          simd::load(vb, b + j);
          const simd::V4 diff = va - vb;
          s += diff * diff;
        }
        if (full && j < d && !((s[0] + s[1]) + (s[2] + s[3]) < bound)) {
          pruned = true;
          break;
        }
      }
      if (pruned) continue;
      double s0 = s[0];
      for (; j < d; ++j) s0 += (a[j] - b[j]) * (a[j] - b[j]);
      const double dist = (s0 + s[1]) + (s[2] + s[3]);
      // Strictly smaller only: among equal distances the lower training index stays.
      if (full && !(dist < bound)) continue;
      auto pos = std::upper_bound(best.begin(), best.end(), std::make_pair(dist, t));
      best.insert(pos, {dist, t});
      if (best.size() > kk) best.pop_back();
    }
  }
}

}  // namespace

Matrix Knn::predict_proba(const Matrix& x) const {
  DYNFAULT_CHECK(fitted_, "Knn: predict() before fit()");
  const Matrix q = scaler_.transform(x);
  const size_t n = train_->rows, k = classes_.size();
  const size_t kk = std::min(n, static_cast<size_t>(options_.k()));
  Matrix proba(x.rows, k);
  // The k best (distance, index) pairs per query, kept sorted by insertion: k is tiny, n is not.
  // Queries go in blocks that share each training row while it is in L1 (the scan is otherwise
  // bound by reading the training matrix once per query); each query still visits the training
  // rows in order, so the result is that of one query at a time.
  constexpr size_t kBlock = 16;
  std::vector<std::vector<std::pair<double, size_t>>> bests(kBlock);
  for (auto& best : bests) best.reserve(kk + 1);
  for (size_t i0 = 0; i0 < q.rows; i0 += kBlock) {
    const size_t i1 = std::min(q.rows, i0 + kBlock);
    for (auto& best : bests) best.clear();
    nearest(q, i0, i1, *train_, kk, bests);
    for (size_t i = i0; i < i1; ++i)
      for (const auto& [dist, t] : bests[i - i0])
        proba(i, labels_[t]) += 1.0 / static_cast<double>(kk);
  }
  return proba;
}

Labels Knn::predict(const Matrix& x) const { return argmax_labels(predict_proba(x), classes_); }

void Knn::save(std::ostream& out) const {
  DYNFAULT_CHECK(fitted_, "Knn::save(): not fitted");
  model_io::write_header(out, name(), kFormatVersion);
  model_io::write_vector(out, "options",
                         {double(options_.k()), options_.scaling() == Scaling::standard ? 0.0 : 1.0,
                          options_.clip_quantile()});
  model_io::write_strings(out, "classes", classes_);
  model_io::write_int(out, "dims", static_cast<int64_t>(train_->cols));
  model_io::write_int(out, "rows", static_cast<int64_t>(train_->rows));
  scaler_.save(out);
  model_io::write_vector(out, "train", train_->data);
  model_io::write_vector(out, "labels", std::vector<double>(labels_.begin(), labels_.end()));
  out << "end\n";
}

void Knn::load(std::istream& in) {
  const std::string who = "Knn";
  model_io::read_header(in, name(), kFormatVersion);
  const auto o = model_io::read_vector(in, "options", 3, who);
  auto classes = model_io::read_strings(in, "classes", who);
  const int64_t d = model_io::read_int(in, "dims", who), n = model_io::read_int(in, "rows", who);
  DYNFAULT_CHECK(!classes.empty() && d >= 0 && n >= 1, who, "::load(): bad header");
  Scaler scaler;
  scaler.load(in, static_cast<size_t>(d), who);
  Matrix train(static_cast<size_t>(n), static_cast<size_t>(d));
  train.data = model_io::read_vector(in, "train", train.data.size(), who);
  const auto labels = model_io::read_vector(in, "labels", static_cast<size_t>(n), who);
  model_io::read_end(in, who);
  std::vector<size_t> li;
  for (double v : labels) {
    DYNFAULT_CHECK(v >= 0 && v < static_cast<double>(classes.size()), who, "::load(): bad label");
    li.push_back(static_cast<size_t>(v));
  }
  *this = Knn(KnnOptions()
                  .k(static_cast<int>(o[0]))
                  .scaling(o[1] == 0 ? Scaling::standard : Scaling::minmax)
                  .clip_quantile(o[2]));
  classes_ = std::move(classes);
  scaler_ = std::move(scaler);
  train_ = std::make_shared<const Matrix>(std::move(train));
  labels_ = std::move(li);
  fitted_ = true;
}

OptionSchema<KnnOptions> knn_options() {
  return OptionSchema<KnnOptions>()
      .integer("k", 1, 1e6, "neighbours that vote (DeepFD: 5)", DYNFAULT_OPTION_FIELD(k))
      .choice(
          "scaling", {"standard", "minmax"}, "column scaling fitted on the training fold",
          [](const KnnOptions& o) {
            return o.scaling() == Scaling::minmax ? "minmax" : "standard";
          },
          [](KnnOptions& o, const std::string& w) {
            o.scaling(w == "minmax" ? Scaling::minmax : Scaling::standard);
          })
      .real("clip_quantile", 0, 0.49,
            "winsorise each column to [q, 1 - q] before scaling (0 = off)",
            DYNFAULT_OPTION_FIELD(clip_quantile));
}

DYNFAULT_REGISTER(diagnoser_registry(), "knn", diagnoser_entry<Knn>(knn_options()));

}  // namespace dynfault::diagnosis
