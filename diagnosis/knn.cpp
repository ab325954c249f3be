#include "diagnosis/knn.h"

#include <algorithm>
#include <istream>
#include <ostream>

#include "diagnosis/model_io.h"

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
  scaler_.fit(x, options_.clip_quantile(), options_.scaling());
  train_ = scaler_.transform(x);
  labels_ = encode_labels(y, classes_);
  fitted_ = true;
}

Matrix Knn::predict_proba(const Matrix& x) const {
  DYNFAULT_CHECK(fitted_, "Knn: predict() before fit()");
  const Matrix q = scaler_.transform(x);
  const size_t n = train_.rows, d = train_.cols, k = classes_.size();
  const size_t kk = std::min(n, static_cast<size_t>(options_.k()));
  Matrix proba(x.rows, k);
  // The k best (distance, index) pairs, kept sorted by insertion: k is tiny, n is not.
  std::vector<std::pair<double, size_t>> best;
  best.reserve(kk + 1);
  for (size_t i = 0; i < q.rows; ++i) {
    const double* a = q.row(i);
    best.clear();
    for (size_t t = 0; t < n; ++t) {
      const double* b = train_.row(t);
      // Four partial sums so the loop vectorises without -ffast-math.
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      size_t j = 0;
      for (; j + 4 <= d; j += 4) {
        const double d0 = a[j] - b[j], d1 = a[j + 1] - b[j + 1], d2 = a[j + 2] - b[j + 2],
                     d3 = a[j + 3] - b[j + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
      }
      for (; j < d; ++j) s0 += (a[j] - b[j]) * (a[j] - b[j]);
      const double dist = (s0 + s1) + (s2 + s3);
      // Strictly smaller only: among equal distances the lower training index stays.
      if (best.size() == kk && !(dist < best.back().first)) continue;
      auto pos = std::upper_bound(best.begin(), best.end(), std::make_pair(dist, t));
      best.insert(pos, {dist, t});
      if (best.size() > kk) best.pop_back();
    }
    for (const auto& [dist, t] : best) proba(i, labels_[t]) += 1.0 / static_cast<double>(kk);
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
  model_io::write_int(out, "dims", static_cast<int64_t>(train_.cols));
  model_io::write_int(out, "rows", static_cast<int64_t>(train_.rows));
  scaler_.save(out);
  model_io::write_vector(out, "train", train_.data);
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
  train_ = std::move(train);
  labels_ = std::move(li);
  fitted_ = true;
}

}  // namespace dynfault::diagnosis
