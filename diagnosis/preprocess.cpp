#include "diagnosis/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/check.h"
#include "diagnosis/model_io.h"

namespace dynfault::diagnosis {

double quantile_sorted(const std::vector<double>& s, double q) {
  if (s.empty()) return 0.0;
  const double pos = q * static_cast<double>(s.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (pos - static_cast<double>(lo)) * (s[hi] - s[lo]);
}

namespace {

// quantile_sorted() of the sorted `v` without sorting it: two linear-time selections (the fit
// runs once per fold and column, and full sorts were most of its cost). Reorders `v`.
double quantile_select(std::vector<double>& v, double q) {
  if (v.empty()) return 0.0;
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(lo), v.end());
  const double a = v[lo];
  const double b =
      hi == lo ? a : *std::min_element(v.begin() + static_cast<long>(lo) + 1, v.end());
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

}  // namespace

void Scaler::fit(const Matrix& x, double clip_quantile, Scaling scaling) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const size_t n = x.rows, d = x.cols;
  impute_.assign(d, 0.0);
  lo_.assign(d, -kInf);
  hi_.assign(d, kInf);
  center_.assign(d, 0.0);
  scale_.assign(d, 0.0);
  std::vector<double> col(n), finite, work;
  for (size_t j = 0; j < d; ++j) {
    finite.clear();
    for (size_t i = 0; i < n; ++i)
      if (std::isfinite(x(i, j))) finite.push_back(x(i, j));
    impute_[j] = finite.empty() ? 0.0 : quantile_select(finite, 0.5);
    for (size_t i = 0; i < n; ++i) col[i] = std::isfinite(x(i, j)) ? x(i, j) : impute_[j];
    if (clip_quantile > 0) {
      work = col;
      lo_[j] = quantile_select(work, clip_quantile);
      hi_[j] = quantile_select(work, 1.0 - clip_quantile);
    }
    double sum = 0, mn = kInf, mx = -kInf;
    for (double& v : col) {
      v = std::clamp(v, lo_[j], hi_[j]);
      sum += v;
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    const double mean = n > 0 ? sum / static_cast<double>(n) : 0.0;
    double spread = 0;
    if (scaling == Scaling::standard) {
      double ss = 0;
      for (double v : col) ss += (v - mean) * (v - mean);
      spread = n > 0 ? std::sqrt(ss / static_cast<double>(n)) : 0.0;
      center_[j] = mean;
    } else {
      spread = n > 0 ? mx - mn : 0.0;
      center_[j] = n > 0 ? mn : 0.0;
    }
    // Round-off of a constant column is not signal.
    scale_[j] = spread > 1e-12 * std::max(1.0, std::fabs(mean)) ? spread : 0.0;
  }
}

Matrix Scaler::transform(const Matrix& x) const {
  DYNFAULT_CHECK(x.cols == dims(), "Scaler: fitted on ", dims(), " features, got ", x.cols);
  Matrix out(x.rows, x.cols);
  out.names = x.names;
  for (size_t i = 0; i < x.rows; ++i)
    for (size_t j = 0; j < x.cols; ++j) {
      double v = x(i, j);
      if (!std::isfinite(v)) v = impute_[j];
      v = std::clamp(v, lo_[j], hi_[j]);
      out(i, j) = scale_[j] > 0 ? (v - center_[j]) / scale_[j] : 0.0;
    }
  return out;
}

void Scaler::save(std::ostream& out) const {
  model_io::write_vector(out, "impute", impute_);
  model_io::write_vector(out, "lo", lo_);
  model_io::write_vector(out, "hi", hi_);
  model_io::write_vector(out, "mean", center_);
  model_io::write_vector(out, "scale", scale_);
}

void Scaler::load(std::istream& in, size_t dims, const std::string& who) {
  auto impute = model_io::read_vector(in, "impute", dims, who);
  auto lo = model_io::read_vector(in, "lo", dims, who);
  auto hi = model_io::read_vector(in, "hi", dims, who);
  auto center = model_io::read_vector(in, "mean", dims, who);
  auto scale = model_io::read_vector(in, "scale", dims, who);
  impute_ = std::move(impute);
  lo_ = std::move(lo);
  hi_ = std::move(hi);
  center_ = std::move(center);
  scale_ = std::move(scale);
}

}  // namespace dynfault::diagnosis
