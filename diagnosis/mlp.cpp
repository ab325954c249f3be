#include "diagnosis/mlp.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <istream>
#include <limits>
#include <ostream>

#include "diagnosis/model_io.h"
#include "diagnosis/simd.h"
#include "diagnosis/splits.h"

namespace dynfault::diagnosis {
namespace {

constexpr int kFormatVersion = 1;

// One Adam state per parameter vector (Kingma & Ba; scikit-learn's beta1 0.9, beta2 0.999).
struct Adam {
  std::vector<double> m, v;
  explicit Adam(size_t n) : m(n, 0.0), v(n, 0.0) {}
  void step(std::vector<double>& w, const std::vector<double>& g, double lr, int64_t t) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1 - std::pow(b1, static_cast<double>(t));
    const double c2 = 1 - std::pow(b2, static_cast<double>(t));
    size_t i = 0;
#ifdef __SSE2__
    // Two parameters at a time: the same operations in the same order (IEEE division and square
    // root are exact-rounded either way), without the scalar loop's errno branch on sqrt.
    const __m128d vb1 = _mm_set1_pd(b1), vb1c = _mm_set1_pd(1 - b1), vb2 = _mm_set1_pd(b2),
                  vb2c = _mm_set1_pd(1 - b2), vc1 = _mm_set1_pd(c1), vc2 = _mm_set1_pd(c2),
                  vlr = _mm_set1_pd(lr), veps = _mm_set1_pd(eps);
    for (; i + 2 <= w.size(); i += 2) {
      const __m128d gi = _mm_loadu_pd(g.data() + i);
      const __m128d mi =
          _mm_add_pd(_mm_mul_pd(vb1, _mm_loadu_pd(m.data() + i)), _mm_mul_pd(vb1c, gi));
      const __m128d vi = _mm_add_pd(_mm_mul_pd(vb2, _mm_loadu_pd(v.data() + i)),
                                    _mm_mul_pd(_mm_mul_pd(vb2c, gi), gi));
      const __m128d step = _mm_div_pd(_mm_mul_pd(vlr, _mm_div_pd(mi, vc1)),
                                      _mm_add_pd(_mm_sqrt_pd(_mm_div_pd(vi, vc2)), veps));
      _mm_storeu_pd(m.data() + i, mi);
      _mm_storeu_pd(v.data() + i, vi);
      _mm_storeu_pd(w.data() + i, _mm_sub_pd(_mm_loadu_pd(w.data() + i), step));
    }
#endif
    for (; i < w.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
    }
  }
};

using simd::V2;
using simd::V4;

// The kernels below keep their sums in registers (V: 2 or 4 doubles, Q vectors); lane by lane it
// is the arithmetic of the plain loops, so the same rounding.

// a[u0, u0 + Q lanes) = ReLU(b1 + sum_j x_j w1[j][u]): j ascending, zero inputs skipped.
template <typename V, size_t Q>
inline void hidden_block(const double* __restrict xi, size_t d, size_t h, size_t u0,
                         const double* __restrict w1, const double* __restrict b1,
                         double* __restrict a) {
  constexpr size_t L = sizeof(V) / sizeof(double);
  V acc[Q];
  for (size_t q = 0; q < Q; ++q) simd::load(acc[q], b1 + u0 + L * q);
  for (size_t j = 0; j < d; ++j) {
    const double v = xi[j];
    if (v == 0) continue;
    const V vv = v - V{};  // v in every lane
    const double* w = w1 + j * h + u0;
    for (size_t q = 0; q < Q; ++q) {
      V wq;
      simd::load(wq, w + L * q);
      acc[q] += vv * wq;
    }
  }
  const V zero = V{};
  for (size_t q = 0; q < Q; ++q) {
    const V relu = acc[q] > zero ? acc[q] : zero;
    simd::store(a + u0 + L * q, relu);
  }
}

// g1[j][u0, u0 + Q lanes) += x_j dz1[u] for every column j of one batch row (zero inputs
// skipped), with the row's dz1 in registers; rows go in ascending order, as in the plain loop.
template <typename V, size_t Q>
inline void weight_grad_block(const double* __restrict xi, size_t d, size_t h, size_t u0,
                              const double* __restrict dz1, double* __restrict g1) {
  constexpr size_t L = sizeof(V) / sizeof(double);
  V g[Q];
  for (size_t q = 0; q < Q; ++q) simd::load(g[q], dz1 + u0 + L * q);
  for (size_t j = 0; j < d; ++j) {
    const double v = xi[j];
    if (v == 0) continue;
    const V vv = v - V{};
    double* gw = g1 + j * h + u0;
    for (size_t q = 0; q < Q; ++q) {
      V gq;
      simd::load(gq, gw + L * q);
      gq += vv * g[q];
      simd::store(gw + L * q, gq);
    }
  }
}

// The same for one unit (odd widths).
inline void hidden_unit(const double* xi, size_t d, size_t h, size_t u, const double* w1,
                        const double* b1, double* a) {
  double acc = b1[u];
  for (size_t j = 0; j < d; ++j)
    if (xi[j] != 0) acc += xi[j] * w1[j * h + u];
  a[u] = std::max(0.0, acc);
}

inline void weight_grad_unit(const double* xi, size_t d, size_t h, size_t u, const double* dz1,
                             double* g1) {
  for (size_t j = 0; j < d; ++j)
    if (xi[j] != 0) g1[j * h + u] += xi[j] * dz1[u];
}

// Forward pass of n rows of `x` (rows[0, n) when `rows` is given, else rows [0, n)): hidden
// activations and class probabilities.
DYNFAULT_SIMD_CLONES
void forward(const double* x, const size_t* rows, size_t n, size_t d, size_t h, size_t k,
             const std::vector<double>& w1, const std::vector<double>& b1,
             const std::vector<double>& w2, const std::vector<double>& b2, double* hidden,
             double* proba) {
  for (size_t i = 0; i < n; ++i) {
    double* a = hidden + i * h;
    const double* xi = x + (rows ? rows[i] : i) * d;
    size_t u0 = 0;
    for (; u0 + 16 <= h; u0 += 16)
      hidden_block<V4, 4>(xi, d, h, u0, w1.data(), b1.data(), a);
    for (; u0 + 2 <= h; u0 += 2) hidden_block<V2, 1>(xi, d, h, u0, w1.data(), b1.data(), a);
    for (; u0 < h; ++u0) hidden_unit(xi, d, h, u0, w1.data(), b1.data(), a);
    double* p = proba + i * k;
    std::copy(b2.begin(), b2.end(), p);
    for (size_t u = 0; u < h; ++u) {
      if (a[u] == 0) continue;
      const double* w = w2.data() + u * k;
      for (size_t c = 0; c < k; ++c) p[c] += a[u] * w[c];
    }
    double m = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < k; ++c) m = std::max(m, p[c]);
    double s = 0;
    for (size_t c = 0; c < k; ++c) s += (p[c] = std::exp(p[c] - m));
    for (size_t c = 0; c < k; ++c) p[c] /= s;
  }
}

// g1 += sum over the batch rows (in order) of x_i^T dz1_i, zero inputs skipped.
DYNFAULT_SIMD_CLONES
void weight_grad(const double* x, const size_t* rows, size_t m, size_t d, size_t h,
                 const double* dz1, double* g1) {
  for (size_t i = 0; i < m; ++i) {
    const double* xi = x + rows[i] * d;
    const double* g = dz1 + i * h;
    size_t u0 = 0;
    for (; u0 + 16 <= h; u0 += 16) weight_grad_block<V4, 4>(xi, d, h, u0, g, g1);
    for (; u0 + 2 <= h; u0 += 2) weight_grad_block<V2, 1>(xi, d, h, u0, g, g1);
    for (; u0 < h; ++u0) weight_grad_unit(xi, d, h, u0, g, g1);
  }
}

}  // namespace

Mlp::Mlp(MlpOptions o) : options_(o) {
  DYNFAULT_CHECK(o.hidden() >= 1, "Mlp: hidden must be >= 1, got ", o.hidden());
  DYNFAULT_CHECK(o.alpha() >= 0, "Mlp: alpha must be >= 0, got ", o.alpha());
  DYNFAULT_CHECK(o.learning_rate() > 0, "Mlp: learning_rate must be > 0, got ", o.learning_rate());
  DYNFAULT_CHECK(o.batch_size() >= 1, "Mlp: batch_size must be >= 1, got ", o.batch_size());
  DYNFAULT_CHECK(o.max_epochs() >= 1, "Mlp: max_epochs must be >= 1, got ", o.max_epochs());
  DYNFAULT_CHECK(o.patience() >= 1, "Mlp: patience must be >= 1, got ", o.patience());
}

void Mlp::fit(const Matrix& x, const Labels& y) {
  classes_ = training_classes(x, y, "Mlp");
  dims_ = x.cols;
  const auto prepared = scaled(x, /*clip_quantile=*/0.01, Scaling::standard);
  scaler_ = prepared->scaler;
  const Matrix& xs = prepared->x;
  const std::vector<size_t> yi = encode_labels(y, classes_);
  const size_t n = x.rows, d = x.cols, h = static_cast<size_t>(options_.hidden()),
               k = classes_.size();
  SplitMix64 rng(options_.seed() ^ 0x2545F4914F6CDD1DULL);
  auto uniform = [&] { return (static_cast<double>(rng.next() >> 11) + 0.5) / 9007199254740992.0; };
  // Glorot uniform, as scikit-learn's MLP: U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
  auto init = [&](std::vector<double>& w, size_t fan_in, size_t fan_out) {
    const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    for (double& v : w) v = (2 * uniform() - 1) * bound;
  };
  w1_.assign(d * h, 0.0);
  b1_.assign(h, 0.0);
  w2_.assign(h * k, 0.0);
  b2_.assign(k, 0.0);
  init(w1_, d, h);
  init(b1_, d, h);
  init(w2_, h, k);
  init(b2_, h, k);
  Adam a1(w1_.size()), ab1(h), a2(w2_.size()), ab2(k);
  const size_t batch = std::min(n, static_cast<size_t>(options_.batch_size()));
  std::vector<double> hidden(batch * h), proba(batch * k), dz2(batch * k),
      dz1(batch * h), g1(w1_.size()), gb1(h), g2(w2_.size()), gb2(k);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  double best = std::numeric_limits<double>::infinity();
  int stale = 0;
  int64_t t = 0;
  const double alpha = options_.alpha(), lr = options_.learning_rate();
  for (epochs_ = 1; epochs_ <= options_.max_epochs(); ++epochs_) {
    shuffle(order, rng);
    double epoch_loss = 0;
    for (size_t start = 0; start < n; start += batch) {
      const size_t m = std::min(batch, n - start);
      forward(xs.data.data(), order.data() + start, m, d, h, k, w1_, b1_, w2_, b2_, hidden.data(),
              proba.data());
      const double inv = 1.0 / static_cast<double>(m);
      for (size_t i = 0; i < m; ++i) {
        const size_t yc = yi[order[start + i]];
        epoch_loss -= std::log(std::max(proba[i * k + yc], 1e-300));
        for (size_t c = 0; c < k; ++c) dz2[i * k + c] = (proba[i * k + c] - (c == yc)) * inv;
      }
      // Gradients: output layer, then back through the ReLU.
      for (size_t p = 0; p < g2.size(); ++p) g2[p] = alpha * inv * w2_[p];
      std::fill(gb2.begin(), gb2.end(), 0.0);
      std::fill(dz1.begin(), dz1.begin() + static_cast<long>(m * h), 0.0);
      for (size_t i = 0; i < m; ++i) {
        const double* a = hidden.data() + i * h;
        const double* g = dz2.data() + i * k;
        for (size_t c = 0; c < k; ++c) gb2[c] += g[c];
        for (size_t u = 0; u < h; ++u) {
          if (a[u] <= 0) continue;
          double back = 0;
          for (size_t c = 0; c < k; ++c) {
            g2[u * k + c] += a[u] * g[c];
            back += w2_[u * k + c] * g[c];
          }
          dz1[i * h + u] = back;
        }
      }
      for (size_t p = 0; p < g1.size(); ++p) g1[p] = alpha * inv * w1_[p];
      std::fill(gb1.begin(), gb1.end(), 0.0);
      for (size_t i = 0; i < m; ++i) {
        const double* g = dz1.data() + i * h;
        for (size_t u = 0; u < h; ++u) gb1[u] += g[u];
      }
      weight_grad(xs.data.data(), order.data() + start, m, d, h, dz1.data(), g1.data());
      ++t;
      a1.step(w1_, g1, lr, t);
      ab1.step(b1_, gb1, lr, t);
      a2.step(w2_, g2, lr, t);
      ab2.step(b2_, gb2, lr, t);
    }
    epoch_loss /= static_cast<double>(n);
    if (epoch_loss > best - options_.tol()) {
      if (++stale >= options_.patience()) break;
    } else {
      stale = 0;
    }
    best = std::min(best, epoch_loss);
  }
  epochs_ = std::min(epochs_, options_.max_epochs());
  fitted_ = true;
}

Matrix Mlp::predict_proba(const Matrix& x) const {
  DYNFAULT_CHECK(fitted_, "Mlp: predict() before fit()");
  const Matrix xs = scaler_.transform(x);
  const size_t h = static_cast<size_t>(options_.hidden()), k = classes_.size();
  Matrix proba(x.rows, k);
  std::vector<double> hidden(x.rows * h);
  forward(xs.data.data(), nullptr, x.rows, dims_, h, k, w1_, b1_, w2_, b2_, hidden.data(),
          proba.data.data());
  return proba;
}

Labels Mlp::predict(const Matrix& x) const { return argmax_labels(predict_proba(x), classes_); }

void Mlp::save(std::ostream& out) const {
  DYNFAULT_CHECK(fitted_, "Mlp::save(): not fitted");
  const MlpOptions& o = options_;
  model_io::write_header(out, name(), kFormatVersion);
  model_io::write_vector(out, "options",
                         {double(o.hidden()), o.alpha(), o.learning_rate(), double(o.batch_size()),
                          double(o.max_epochs()), o.tol(), double(o.patience()), double(o.seed())});
  model_io::write_strings(out, "classes", classes_);
  model_io::write_int(out, "dims", static_cast<int64_t>(dims_));
  scaler_.save(out);
  model_io::write_vector(out, "w1", w1_);
  model_io::write_vector(out, "b1", b1_);
  model_io::write_vector(out, "w2", w2_);
  model_io::write_vector(out, "b2", b2_);
  out << "end\n";
}

void Mlp::load(std::istream& in) {
  const std::string who = "Mlp";
  model_io::read_header(in, name(), kFormatVersion);
  const auto o = model_io::read_vector(in, "options", 8, who);
  auto classes = model_io::read_strings(in, "classes", who);
  const int64_t dims = model_io::read_int(in, "dims", who);
  DYNFAULT_CHECK(!classes.empty() && dims >= 0 && o[0] >= 1, who, "::load(): bad header");
  const size_t d = static_cast<size_t>(dims), h = static_cast<size_t>(o[0]), k = classes.size();
  Scaler scaler;
  scaler.load(in, d, who);
  auto w1 = model_io::read_vector(in, "w1", d * h, who);
  auto b1 = model_io::read_vector(in, "b1", h, who);
  auto w2 = model_io::read_vector(in, "w2", h * k, who);
  auto b2 = model_io::read_vector(in, "b2", k, who);
  model_io::read_end(in, who);
  *this = Mlp(MlpOptions()
                  .hidden(static_cast<int>(o[0]))
                  .alpha(o[1])
                  .learning_rate(o[2])
                  .batch_size(static_cast<int>(o[3]))
                  .max_epochs(static_cast<int>(o[4]))
                  .tol(o[5])
                  .patience(static_cast<int>(o[6]))
                  .seed(static_cast<uint64_t>(o[7])));
  classes_ = std::move(classes);
  dims_ = d;
  scaler_ = std::move(scaler);
  w1_ = std::move(w1);
  b1_ = std::move(b1);
  w2_ = std::move(w2);
  b2_ = std::move(b2);
  fitted_ = true;
}

}  // namespace dynfault::diagnosis
