#include "diagnosis/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
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

// The value at fractional position `pos` of the sorted [first, last), interpolated as
// quantile_sorted() does, without sorting: linear-time selections (the fit runs once per fold and
// column, and full sorts were most of its cost). Reorders the range around floor(pos): nothing
// before it is greater, nothing after it smaller.
double select_at(double* first, double* last, double pos) {
  const size_t n = static_cast<size_t>(last - first);
  if (n == 0) return 0.0;
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, n - 1);
  std::nth_element(first, first + lo, last);
  const double a = first[lo];
  const double b = hi == lo ? a : *std::min_element(first + lo + 1, last);
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
  // Column by column (every statistic below scans one column).
  std::vector<double> xt = x.column_major();
  std::vector<double> finite, work;
  for (size_t j = 0; j < d; ++j) {
    double* col = xt.data() + j * n;
    finite.clear();
    for (size_t i = 0; i < n; ++i)
      if (std::isfinite(col[i])) finite.push_back(col[i]);
    impute_[j] = finite.empty() ? 0.0
                                : select_at(finite.data(), finite.data() + finite.size(),
                                            0.5 * static_cast<double>(finite.size() - 1));
    for (size_t i = 0; i < n; ++i)
      if (!std::isfinite(col[i])) col[i] = impute_[j];
    if (clip_quantile > 0 && n > 0) {
      work.assign(col, col + n);
      const double pos_lo = clip_quantile * static_cast<double>(n - 1);
      const double pos_hi = (1.0 - clip_quantile) * static_cast<double>(n - 1);
      lo_[j] = select_at(work.data(), work.data() + n, pos_lo);
      // After that selection nothing from floor(pos_lo) on is below it: the upper quantile is
      // selected in that part only (positions shift by an integer: the same fractions).
      const size_t skip = std::min(static_cast<size_t>(std::floor(pos_lo)),
                                   static_cast<size_t>(std::floor(pos_hi)));
      hi_[j] = select_at(work.data() + skip, work.data() + n, pos_hi - static_cast<double>(skip));
    }
    double sum = 0, mn = kInf, mx = -kInf;
    for (size_t i = 0; i < n; ++i) {
      double& v = col[i];
      v = std::clamp(v, lo_[j], hi_[j]);
      sum += v;
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    const double mean = n > 0 ? sum / static_cast<double>(n) : 0.0;
    double spread = 0;
    if (scaling == Scaling::standard) {
      double ss = 0;
      for (size_t i = 0; i < n; ++i) ss += (col[i] - mean) * (col[i] - mean);
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

FitScope::FitScope(const Matrix& training) : matrix_(&training), previous_(current()) {
  current() = this;
}

FitScope::~FitScope() { current() = previous_; }

FitScope*& FitScope::current() {
  thread_local FitScope* scope = nullptr;
  return scope;
}

std::shared_ptr<const ScaledMatrix> scaled(const Matrix& x, double clip_quantile, Scaling scaling) {
  uint64_t bits = 0;
  std::memcpy(&bits, &clip_quantile, sizeof(bits));
  char key[64];
  std::snprintf(key, sizeof(key), "scaled/%d/%016llx", static_cast<int>(scaling),
                static_cast<unsigned long long>(bits));
  return FitScope::memo<ScaledMatrix>(x, key, [&] {
    ScaledMatrix out;
    out.scaler.fit(x, clip_quantile, scaling);
    out.x = out.scaler.transform(x);
    return out;
  });
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
