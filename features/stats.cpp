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

int64_t oscillation_pairs(const std::vector<double>& acc, double zeta) {
  std::vector<double> maxima, minima;
  for (size_t i = 1; i + 1 < acc.size(); ++i) {
    if (acc[i] - acc[i - 1] >= 0 && acc[i] - acc[i + 1] >= 0) maxima.push_back(acc[i]);
    if (acc[i] - acc[i - 1] <= 0 && acc[i] - acc[i + 1] <= 0) minima.push_back(acc[i]);
  }
  int64_t count = 0;
  for (size_t j = 0; j < std::min(maxima.size(), minima.size()); ++j)
    if (maxima[j] - minima[j] >= zeta) ++count;
  return count;
}

void OscillationPairs::add(double value) {
  // The previous value is interior now that it has a right neighbour: classify it as
  // oscillation_pairs does, then pair what can be paired.
  if (size_ >= 2) {
    const double a = before_last_, x = last_;
    if (x - a >= 0 && x - value >= 0) maxima_.push_back(x);
    if (x - a <= 0 && x - value <= 0) minima_.push_back(x);
    for (; paired_ < std::min(maxima_.size(), minima_.size()); ++paired_)
      if (maxima_[paired_] - minima_[paired_] >= zeta_) ++count_;
  }
  before_last_ = last_;
  last_ = value;
  ++size_;
}

double finite_mean(const std::vector<double>& values) {
  double sum = 0;
  size_t n = 0;
  for (double x : values)
    if (std::isfinite(x)) {
      sum += x;
      ++n;
    }
  return n == 0 ? kNaN : sum / static_cast<double>(n);
}

double finite_last(const std::vector<double>& values) {
  for (size_t i = values.size(); i-- > 0;)
    if (std::isfinite(values[i])) return values[i];
  return kNaN;
}

double safe_log10(double x) { return std::isfinite(x) && x > 0 ? std::log10(x) : kNaN; }

double safe_ratio(double a, double b) {
  return std::isfinite(a) && std::isfinite(b) && b != 0 ? a / b : kNaN;
}

namespace {

// Continued fraction of I_x(a, b) (Numerical Recipes `betacf`), modified Lentz: converges fast
// for x < (a + 1) / (a + b + 2); the caller uses the symmetry I_x(a, b) = 1 - I_{1-x}(b, a)
// otherwise.
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 300;
  constexpr double kEps = 1e-15;
  constexpr double kTiny = 1e-300;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double dm = static_cast<double>(m), m2 = 2.0 * dm;
    double aa = dm * (b - dm) * x / ((qam + m2) * (a + m2));  // even step
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + dm) * (qab + dm) * x / ((a + m2) * (qap + m2));  // odd step
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < kEps) break;
  }
  return h;
}

}  // namespace

double regularized_incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1)) return kNaN;
  if (x == 0 || x == 1) return x;
  // Prefactor x^a (1-x)^b / (a B(a, b)), in logs to survive large a, b.
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
  return 1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) return 0.0;
  return regularized_incomplete_beta(0.5 * df, 0.5, df / (df + t * t));
}

double student_t_critical(double alpha, double df) {
  if (!(alpha > 0 && alpha < 1) || !(df > 0)) return kNaN;
  // p(c) falls from 1 at c = 0 towards 0: grow the bracket, then halve it.
  double lo = 0, hi = 1;
  while (student_t_two_sided_p(hi, df) > alpha) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_two_sided_p(mid, df) > alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double noncentral_t_cdf(double x, double df, double ncp) {
  if (std::isnan(x) || std::isnan(ncp) || !(df > 0)) return kNaN;
  if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
  // T = (Z + ncp) / S with S = sqrt(chi^2_df / df): P(T <= x) = E[Phi(x S - ncp)]. S has density
  // 2 (df/2)^(df/2) / Gamma(df/2) s^(df-1) exp(-df s^2 / 2), no singularity for df >= 1.
  const double log_norm = std::log(2.0) + 0.5 * df * std::log(0.5 * df) - std::lgamma(0.5 * df);
  auto integrand = [&](double s) {
    if (s <= 0) return df == 1 ? std::exp(log_norm) * 0.5 * std::erfc(ncp / std::sqrt(2.0)) : 0.0;
    const double log_f = log_norm + (df - 1) * std::log(s) - 0.5 * df * s * s;
    return std::exp(log_f) * 0.5 * std::erfc(-(x * s - ncp) / std::sqrt(2.0));
  };
  constexpr int kPanels = 4000;  // even
  const double top = 1.0 + 40.0 / std::sqrt(2.0 * df);
  const double h = top / kPanels;
  double sum = integrand(0) + integrand(top);
  for (int i = 1; i < kPanels; ++i) sum += (i % 2 == 1 ? 4.0 : 2.0) * integrand(i * h);
  return std::clamp(sum * h / 3.0, 0.0, 1.0);
}

double paired_t_power(int64_t n, double effect, double alpha) {
  if (n < 2) return kNaN;
  const double df = static_cast<double>(n - 1);
  const double c = student_t_critical(alpha, df);
  const double ncp = effect * std::sqrt(static_cast<double>(n));
  return (1.0 - noncentral_t_cdf(c, df, ncp)) + noncentral_t_cdf(-c, df, ncp);
}

}  // namespace dynfault::features
