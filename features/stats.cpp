#include "features/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dynfault::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// pandas zeroes round-off in the skewness moments before dividing (`nanops._zero_out_fperr`):
// pandas 1.x with an absolute 1e-14, pandas >= 2.2 relative to the data's magnitude. Either
// rule alone would leave a constant column like {0.1, 0.1, 0.1} with a huge, meaningless skew;
// applying both keeps pandas' answer (0) for constant columns at any scale.
double zero_out_fperr(double m, double tolerance) {
  return std::fabs(m) < std::max(1e-14, tolerance) ? 0.0 : m;
}

}  // namespace

ColumnStats column_stats(const std::vector<double>& values) {
  std::vector<double> v;
  v.reserve(values.size());
  for (double x : values)
    if (!std::isnan(x)) v.push_back(x);
  ColumnStats s{kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
  const size_t n = v.size();
  if (n == 0) return s;
  const double dn = static_cast<double>(n);

  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / dn;

  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  s.min = sorted.front();
  s.max = sorted.back();
  s.median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);

  // Two passes, as pandas' nanvar/nanskew do: deviations from the mean computed first.
  double m2 = 0, m3 = 0, max_abs = 0;
  for (double x : v) {
    const double d = x - s.mean;
    m2 += d * d;
    m3 += d * d * d;
    max_abs = std::max(max_abs, std::fabs(x));
  }
  if (n >= 2) {
    s.var = m2 / (dn - 1.0);
    s.std = std::sqrt(s.var);
    s.sem = s.std / std::sqrt(dn);
  }
  if (n >= 3) {
    const double eps = std::numeric_limits<double>::epsilon();
    const double m2z = zero_out_fperr(m2, std::pow(eps * max_abs, 2) * dn);
    const double m3z = zero_out_fperr(m3, std::pow(eps * max_abs, 3) * dn);
    if (m2z == 0.0) {
      s.skew = 0.0;
    } else {
      s.skew = (dn * std::sqrt(dn - 1.0) / (dn - 2.0)) * (m3z / std::pow(m2z, 1.5));
    }
  }
  return s;
}

double ls_slope(const std::vector<double>& x, const std::vector<double>& y) {
  double sx = 0, sy = 0;
  size_t n = 0;
  const size_t m = std::min(x.size(), y.size());
  for (size_t i = 0; i < m; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    sx += x[i];
    sy += y[i];
    ++n;
  }
  if (n < 2) return kNaN;
  const double mx = sx / static_cast<double>(n), my = sy / static_cast<double>(n);
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < m; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx == 0) return kNaN;
  return sxy / sxx;
}

double finite_min(const std::vector<double>& values) {
  double r = kNaN;
  for (double x : values)
    if (std::isfinite(x) && (std::isnan(r) || x < r)) r = x;
  return r;
}

double finite_max(const std::vector<double>& values) {
  double r = kNaN;
  for (double x : values)
    if (std::isfinite(x) && (std::isnan(r) || x > r)) r = x;
  return r;
}

bool any_nonfinite(const std::vector<double>& values) {
  for (double x : values)
    if (!std::isfinite(x)) return true;
  return false;
}

}  // namespace dynfault::features
