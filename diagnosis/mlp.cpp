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

// 2: single-precision weights (version 1 stored double-precision ones).
constexpr int kFormatVersion = 2;

// One Adam state per parameter vector (Kingma & Ba; scikit-learn's beta1 0.9, beta2 0.999).
struct Adam {
  std::vector<float> m, v;
  explicit Adam(size_t n) : m(n, 0.0f), v(n, 0.0f) {}
  void step(std::vector<float>& w, const std::vector<float>& g, double lr, int64_t t) {
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const float c1 = static_cast<float>(1 - std::pow(0.9, static_cast<double>(t)));
    const float c2 = static_cast<float>(1 - std::pow(0.999, static_cast<double>(t)));
    const float lrf = static_cast<float>(lr);
    size_t i = 0;
#ifdef __SSE2__
    // Four parameters at a time: the same operations in the same order (IEEE division and square
    // root are exact-rounded either way), without the scalar loop's errno branch on sqrt.
    const __m128 vb1 = _mm_set1_ps(b1), vb1c = _mm_set1_ps(1 - b1), vb2 = _mm_set1_ps(b2),
                 vb2c = _mm_set1_ps(1 - b2), vc1 = _mm_set1_ps(c1), vc2 = _mm_set1_ps(c2),
                 vlr = _mm_set1_ps(lrf), veps = _mm_set1_ps(eps);
    for (; i + 4 <= w.size(); i += 4) {
      const __m128 gi = _mm_loadu_ps(g.data() + i);
      const __m128 mi =
          _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m.data() + i)), _mm_mul_ps(vb1c, gi));
      const __m128 vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v.data() + i)),
                                   _mm_mul_ps(_mm_mul_ps(vb2c, gi), gi));
      const __m128 step = _mm_div_ps(_mm_mul_ps(vlr, _mm_div_ps(mi, vc1)),
                                     _mm_add_ps(_mm_sqrt_ps(_mm_div_ps(vi, vc2)), veps));
      _mm_storeu_ps(m.data() + i, mi);
      _mm_storeu_ps(v.data() + i, vi);
      _mm_storeu_ps(w.data() + i, _mm_sub_ps(_mm_loadu_ps(w.data() + i), step));
    }
#endif
    for (; i < w.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= lrf * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
    }
  }
};

using simd::F4;
using simd::F8;

// The kernels below keep their sums in registers (V: 4 or 8 floats, Q vectors); lane by lane it
// is the arithmetic of the plain loops, so the same rounding.

// a[u0, u0 + Q lanes) = ReLU(b1 + sum_j x_j w1[j][u]): j ascending, zero inputs skipped.
template <typename V, size_t Q>
inline void hidden_block(const float* __restrict xi, size_t d, size_t h, size_t u0,
                         const float* __restrict w1, const float* __restrict b1,
                         float* __restrict a) {
  constexpr size_t kLanes = sizeof(V) / sizeof(float);
  V acc[Q];
  for (size_t q = 0; q < Q; ++q) simd::load(acc[q], b1 + u0 + kLanes * q);
  for (size_t j = 0; j < d; ++j) {
    const float v = xi[j];
    if (v == 0) continue;
    const V vv = v - V{};  // v in every lane
    const float* w = w1 + j * h + u0;
    for (size_t q = 0; q < Q; ++q) {
      V wq;
      simd::load(wq, w + kLanes * q);
      acc[q] += vv * wq;
    }
  }
  const V zero = V{};
  for (size_t q = 0; q < Q; ++q) {
    const V relu = acc[q] > zero ? acc[q] : zero;
    simd::store(a + u0 + kLanes * q, relu);
  }
}

// g1[j][u0, u0 + Q lanes) += x_j dz1[u] for every column j of one batch row (zero inputs
// skipped), with the row's dz1 in registers; rows go in ascending order, as in the plain loop.
template <typename V, size_t Q>
inline void weight_grad_block(const float* __restrict xi, size_t d, size_t h, size_t u0,
                              const float* __restrict dz1, float* __restrict g1) {
  constexpr size_t kLanes = sizeof(V) / sizeof(float);
  V g[Q];
  for (size_t q = 0; q < Q; ++q) simd::load(g[q], dz1 + u0 + kLanes * q);
  for (size_t j = 0; j < d; ++j) {
    const float v = xi[j];
    if (v == 0) continue;
    const V vv = v - V{};
    float* gw = g1 + j * h + u0;
    for (size_t q = 0; q < Q; ++q) {
      V gq;
      simd::load(gq, gw + kLanes * q);
      gq += vv * g[q];
      simd::store(gw + kLanes * q, gq);
    }
  }
}

// hidden_block for four rows at once (sixteen-unit blocks): four independent sums per vector of
// units, so the additions do not wait on each other. A column is skipped when all four inputs
// are zero; a zero input of one row adds an exact zero (0 * w with w finite), as skipping would.
template <size_t Q>
inline void hidden_block4(const float* const* __restrict xs, size_t d, size_t h, size_t u0,
                          const float* __restrict w1, const float* __restrict b1,
                          float* const* __restrict as) {
  F8 acc[4][Q];
  for (size_t r = 0; r < 4; ++r)
    for (size_t q = 0; q < Q; ++q) simd::load(acc[r][q], b1 + u0 + 8 * q);
  for (size_t j = 0; j < d; ++j) {
    const float v0 = xs[0][j], v1 = xs[1][j], v2 = xs[2][j], v3 = xs[3][j];
    if (v0 == 0 && v1 == 0 && v2 == 0 && v3 == 0) continue;
    const float* w = w1 + j * h + u0;
    for (size_t q = 0; q < Q; ++q) {
      F8 wq;
      simd::load(wq, w + 8 * q);
      acc[0][q] += (v0 - F8{}) * wq;
      acc[1][q] += (v1 - F8{}) * wq;
      acc[2][q] += (v2 - F8{}) * wq;
      acc[3][q] += (v3 - F8{}) * wq;
    }
  }
  const F8 zero = F8{};
  for (size_t r = 0; r < 4; ++r)
    for (size_t q = 0; q < Q; ++q) {
      const F8 relu = acc[r][q] > zero ? acc[r][q] : zero;
      simd::store(as[r] + u0 + 8 * q, relu);
    }
}

// weight_grad_block for four rows at once: each gradient entry is loaded and stored once and
// gets the four rows' terms in row order.
template <size_t Q>
inline void weight_grad_block4(const float* const* __restrict xs, size_t d, size_t h, size_t u0,
                               const float* const* __restrict dz1, float* __restrict g1) {
  F8 g[4][Q];
  for (size_t r = 0; r < 4; ++r)
    for (size_t q = 0; q < Q; ++q) simd::load(g[r][q], dz1[r] + u0 + 8 * q);
  for (size_t j = 0; j < d; ++j) {
    const float v0 = xs[0][j], v1 = xs[1][j], v2 = xs[2][j], v3 = xs[3][j];
    if (v0 == 0 && v1 == 0 && v2 == 0 && v3 == 0) continue;
    float* gw = g1 + j * h + u0;
    for (size_t q = 0; q < Q; ++q) {
      F8 gq;
      simd::load(gq, gw + 8 * q);
      gq = (((gq + (v0 - F8{}) * g[0][q]) + (v1 - F8{}) * g[1][q]) + (v2 - F8{}) * g[2][q]) +
           (v3 - F8{}) * g[3][q];
      simd::store(gw + 8 * q, gq);
    }
  }
}

// The same for one unit (widths that are not a multiple of 4).
inline void hidden_unit(const float* xi, size_t d, size_t h, size_t u, const float* w1,
                        const float* b1, float* a) {
  float acc = b1[u];
  for (size_t j = 0; j < d; ++j)
    if (xi[j] != 0) acc += xi[j] * w1[j * h + u];
  a[u] = std::max(0.0f, acc);
}

inline void weight_grad_unit(const float* xi, size_t d, size_t h, size_t u, const float* dz1,
                             float* g1) {
  for (size_t j = 0; j < d; ++j)
    if (xi[j] != 0) g1[j * h + u] += xi[j] * dz1[u];
}

// Forward pass of n rows of `x` (rows[0, n) when `rows` is given, else rows [0, n)): hidden
// activations and class probabilities.
DYNFAULT_SIMD_CLONES
void forward(const float* x, const size_t* rows, size_t n, size_t d, size_t h, size_t k,
             const std::vector<float>& w1, const std::vector<float>& b1,
             const std::vector<float>& w2, const std::vector<float>& b2, float* hidden,
             float* proba) {
  size_t i = 0;
  if (h >= 16) {
    for (; i + 4 <= n; i += 4) {
      const float* xs[4];
      float* as[4];
      for (size_t r = 0; r < 4; ++r) {
        xs[r] = x + (rows ? rows[i + r] : i + r) * d;
        as[r] = hidden + (i + r) * h;
      }
      size_t u0 = 0;
      for (; u0 + 16 <= h; u0 += 16) hidden_block4<2>(xs, d, h, u0, w1.data(), b1.data(), as);
      for (size_t r = 0; r < 4; ++r) {
        size_t u = u0;
        for (; u + 4 <= h; u += 4) hidden_block<F4, 1>(xs[r], d, h, u, w1.data(), b1.data(), as[r]);
        for (; u < h; ++u) hidden_unit(xs[r], d, h, u, w1.data(), b1.data(), as[r]);
      }
    }
  }
  for (; i < n; ++i) {
    float* a = hidden + i * h;
    const float* xi = x + (rows ? rows[i] : i) * d;
    size_t u0 = 0;
    for (; u0 + 16 <= h; u0 += 16) hidden_block<F8, 2>(xi, d, h, u0, w1.data(), b1.data(), a);
    for (; u0 + 4 <= h; u0 += 4) hidden_block<F4, 1>(xi, d, h, u0, w1.data(), b1.data(), a);
    for (; u0 < h; ++u0) hidden_unit(xi, d, h, u0, w1.data(), b1.data(), a);
  }
  for (i = 0; i < n; ++i) {
    const float* a = hidden + i * h;
    float* p = proba + i * k;
    std::copy(b2.begin(), b2.end(), p);
    for (size_t u = 0; u < h; ++u) {  // a[u] = 0 adds exact zeros: no branch
      const float au = a[u];
      const float* w = w2.data() + u * k;
      for (size_t c = 0; c < k; ++c) p[c] += au * w[c];
    }
    float m = -std::numeric_limits<float>::infinity();
    for (size_t c = 0; c < k; ++c) m = std::max(m, p[c]);
    float s = 0;
    for (size_t c = 0; c < k; ++c) s += (p[c] = std::exp(p[c] - m));
    for (size_t c = 0; c < k; ++c) p[c] /= s;
  }
}

// Output layer of the backward pass, rows in order: gb2 += dz2_i, g2 += a_i dz2_i^T, and
// dz1_i = W2 dz2_i on active units, 0 on inactive ones. Works on the transposes (K x h) of g2
// and W2 so that eight units go in one vector; per entry the terms are added in the order of
// the plain loops. No branches on the ReLU: an inactive unit (a = 0) adds exact zeros to g2.
DYNFAULT_SIMD_CLONES
void backprop_output(const float* __restrict hidden, const float* __restrict dz2, size_t m,
                     size_t h, size_t k, const float* __restrict w2t, float* __restrict g2t,
                     float* __restrict gb2, float* __restrict dz1) {
  for (size_t i = 0; i < m; ++i) {
    const float* a = hidden + i * h;
    const float* g = dz2 + i * k;
    float* dz = dz1 + i * h;
    for (size_t c = 0; c < k; ++c) gb2[c] += g[c];
    size_t u = 0;
    for (; u + 8 <= h; u += 8) {
      F8 av, back = F8{};
      simd::load(av, a + u);
      for (size_t c = 0; c < k; ++c) {
        const F8 gc = g[c] - F8{};
        F8 acc, w;
        simd::load(acc, g2t + c * h + u);
        acc += av * gc;
        simd::store(g2t + c * h + u, acc);
        simd::load(w, w2t + c * h + u);
        back += w * gc;
      }
      const F8 zero = F8{};
      simd::store(dz + u, av > zero ? back : zero);
    }
    for (; u < h; ++u) {
      float back = 0;
      for (size_t c = 0; c < k; ++c) {
        g2t[c * h + u] += a[u] * g[c];
        back += w2t[c * h + u] * g[c];
      }
      dz[u] = a[u] > 0 ? back : 0.0f;
    }
  }
}

// g1 += sum over the batch rows (in order) of x_i^T dz1_i, zero inputs skipped.
DYNFAULT_SIMD_CLONES
void weight_grad(const float* x, const size_t* rows, size_t m, size_t d, size_t h, const float* dz1,
                 float* g1) {
  size_t i = 0;
  if (h >= 16) {
    for (; i + 4 <= m; i += 4) {
      const float* xs[4];
      const float* gs[4];
      for (size_t r = 0; r < 4; ++r) {
        xs[r] = x + rows[i + r] * d;
        gs[r] = dz1 + (i + r) * h;
      }
      size_t u0 = 0;
      for (; u0 + 16 <= h; u0 += 16) weight_grad_block4<2>(xs, d, h, u0, gs, g1);
      for (size_t r = 0; r < 4; ++r) {
        size_t u = u0;
        for (; u + 4 <= h; u += 4) weight_grad_block<F4, 1>(xs[r], d, h, u, gs[r], g1);
        for (; u < h; ++u) weight_grad_unit(xs[r], d, h, u, gs[r], g1);
      }
    }
  }
  for (; i < m; ++i) {
    const float* xi = x + rows[i] * d;
    const float* g = dz1 + i * h;
    size_t u0 = 0;
    for (; u0 + 16 <= h; u0 += 16) weight_grad_block<F8, 2>(xi, d, h, u0, g, g1);
    for (; u0 + 4 <= h; u0 += 4) weight_grad_block<F4, 1>(xi, d, h, u0, g, g1);
    for (; u0 < h; ++u0) weight_grad_unit(xi, d, h, u0, g, g1);
  }
}

// The scaled inputs in single precision, row-major.
std::vector<float> to_float(const Matrix& m) {
  return std::vector<float>(m.data.begin(), m.data.end());
}

// Model I/O keeps the double-precision text format; floats round-trip exactly through it.
std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<float> narrow(const std::vector<double>& v) { return {v.begin(), v.end()}; }

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
  const std::vector<float> xs = to_float(prepared->x);
  const std::vector<size_t> yi = encode_labels(y, classes_);
  const size_t n = x.rows, d = x.cols, h = static_cast<size_t>(options_.hidden()),
               k = classes_.size();
  SplitMix64 rng(options_.seed() ^ 0x2545F4914F6CDD1DULL);
  auto uniform = [&] { return (static_cast<double>(rng.next() >> 11) + 0.5) / 9007199254740992.0; };
  // Glorot uniform, as scikit-learn's MLP: U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
  auto init = [&](std::vector<float>& w, size_t fan_in, size_t fan_out) {
    const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    for (float& v : w) v = static_cast<float>((2 * uniform() - 1) * bound);
  };
  w1_.assign(d * h, 0.0f);
  b1_.assign(h, 0.0f);
  w2_.assign(h * k, 0.0f);
  b2_.assign(k, 0.0f);
  init(w1_, d, h);
  init(b1_, d, h);
  init(w2_, h, k);
  init(b2_, h, k);
  Adam a1(w1_.size()), ab1(h), a2(w2_.size()), ab2(k);
  const size_t batch = std::min(n, static_cast<size_t>(options_.batch_size()));
  std::vector<float> hidden(batch * h), proba(batch * k), dz2(batch * k), dz1(batch * h),
      g1(w1_.size()), gb1(h), g2(w2_.size()), gb2(k), w2t(w2_.size()), g2t(w2_.size());
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  double best = std::numeric_limits<double>::infinity();
  int stale = 0;
  int64_t t = 0;
  const double lr = options_.learning_rate();
  const float alpha = static_cast<float>(options_.alpha());
  for (epochs_ = 1; epochs_ <= options_.max_epochs(); ++epochs_) {
    shuffle(order, rng);
    double epoch_loss = 0;
    for (size_t start = 0; start < n; start += batch) {
      const size_t m = std::min(batch, n - start);
      forward(xs.data(), order.data() + start, m, d, h, k, w1_, b1_, w2_, b2_, hidden.data(),
              proba.data());
      const float inv = 1.0f / static_cast<float>(m);
      for (size_t i = 0; i < m; ++i) {
        const size_t yc = yi[order[start + i]];
        epoch_loss -= std::log(std::max(static_cast<double>(proba[i * k + yc]), 1e-300));
        for (size_t c = 0; c < k; ++c) dz2[i * k + c] = (proba[i * k + c] - (c == yc)) * inv;
      }
      // Gradients: output layer, then back through the ReLU.
      for (size_t p = 0; p < g2.size(); ++p) g2[p] = alpha * inv * w2_[p];
      std::fill(gb2.begin(), gb2.end(), 0.0f);
      for (size_t u = 0; u < h; ++u)
        for (size_t c = 0; c < k; ++c) {
          w2t[c * h + u] = w2_[u * k + c];
          g2t[c * h + u] = g2[u * k + c];
        }
      backprop_output(hidden.data(), dz2.data(), m, h, k, w2t.data(), g2t.data(), gb2.data(),
                      dz1.data());
      for (size_t u = 0; u < h; ++u)
        for (size_t c = 0; c < k; ++c) g2[u * k + c] = g2t[c * h + u];
      for (size_t p = 0; p < g1.size(); ++p) g1[p] = alpha * inv * w1_[p];
      std::fill(gb1.begin(), gb1.end(), 0.0f);
      for (size_t i = 0; i < m; ++i) {
        const float* g = dz1.data() + i * h;
        for (size_t u = 0; u < h; ++u) gb1[u] += g[u];
      }
      weight_grad(xs.data(), order.data() + start, m, d, h, dz1.data(), g1.data());
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
  const std::vector<float> xs = to_float(scaler_.transform(x));
  const size_t h = static_cast<size_t>(options_.hidden()), k = classes_.size();
  std::vector<float> hidden(x.rows * h), p(x.rows * k);
  forward(xs.data(), nullptr, x.rows, dims_, h, k, w1_, b1_, w2_, b2_, hidden.data(), p.data());
  Matrix proba(x.rows, k);
  std::copy(p.begin(), p.end(), proba.data.begin());
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
  model_io::write_vector(out, "w1", widen(w1_));
  model_io::write_vector(out, "b1", widen(b1_));
  model_io::write_vector(out, "w2", widen(w2_));
  model_io::write_vector(out, "b2", widen(b2_));
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
  w1_ = narrow(w1);
  b1_ = narrow(b1);
  w2_ = narrow(w2);
  b2_ = narrow(b2);
  fitted_ = true;
}

OptionSchema<MlpOptions> mlp_options() {
  return OptionSchema<MlpOptions>()
      .integer("hidden", 1, 1e5, "hidden units", DYNFAULT_OPTION_FIELD(hidden))
      .real("alpha", 0, 1e6, "L2 penalty (scikit-learn's alpha)", DYNFAULT_OPTION_FIELD(alpha))
      .real("learning_rate", 1e-12, 10, "Adam step", DYNFAULT_OPTION_FIELD(learning_rate))
      .integer("batch_size", 1, 1e7, "rows per Adam step", DYNFAULT_OPTION_FIELD(batch_size))
      .integer("max_epochs", 1, 1e6, "epochs at most", DYNFAULT_OPTION_FIELD(max_epochs))
      .real("tol", 0, 1e6, "least improvement of the epoch loss that counts",
            DYNFAULT_OPTION_FIELD(tol))
      .integer("patience", 1, 1e6, "epochs without improvement before stopping",
               DYNFAULT_OPTION_FIELD(patience));
}

DYNFAULT_REGISTER(diagnoser_registry(), "mlp", diagnoser_entry<Mlp>(mlp_options()));

}  // namespace dynfault::diagnosis
