#include "diagnosis/logistic_regression.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <istream>
#include <limits>
#include <map>
#include <ostream>
#include <set>

#include "diagnosis/model_io.h"
#include "diagnosis/simd.h"

namespace dynfault::diagnosis {
namespace {

constexpr int kFormatVersion = 1;
// Subsamples smaller than this are not worth a warm start.
constexpr size_t kMinWarmStartRows = 500;
constexpr double kInf = std::numeric_limits<double>::infinity();

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::fabs(v));
  return m;
}

// z[k][i] += sum_j w[k][j] x[i][j] from the column-major xt (d x n), terms in column order and
// zero weights skipped. In blocks of rows so that the block of every class's logits stays in L1
// while the columns stream past.
DYNFAULT_SIMD_CLONES
void add_logits(const double* __restrict xt, size_t n, size_t d, size_t classes,
                const double* __restrict w, double* __restrict z) {
  constexpr size_t kRows = 256;
  for (size_t i0 = 0; i0 < n; i0 += kRows) {
    const size_t i1 = std::min(n, i0 + kRows);
    for (size_t j = 0; j < d; ++j) {
      const double* col = xt + j * n;
      for (size_t k = 0; k < classes; ++k) {
        const double wk = w[k * d + j];
        if (wk == 0.0) continue;
        double* zk = z + k * n;
        for (size_t i = i0; i < i1; ++i) zk[i] += wk * col[i];
      }
    }
  }
}

// grad[k][j] += sum_i r[i][k] x[i][j] and grad[K d + k] += sum_i r[i][k], rows in order. Four
// rows at a time: each entry is loaded once and gets the four terms in row order, as the
// row-by-row loop adds them (the same rounding, a quarter of the loads and stores).
DYNFAULT_SIMD_CLONES
void add_gradient(const double* __restrict x, size_t n, size_t d, size_t classes,
                  const double* __restrict r, double* __restrict grad) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const double* x0 = x + i * d;
    const double* x1 = x0 + d;
    const double* x2 = x1 + d;
    const double* x3 = x2 + d;
    for (size_t k = 0; k < classes; ++k) {
      const double r0 = r[i * classes + k], r1 = r[(i + 1) * classes + k],
                   r2 = r[(i + 2) * classes + k], r3 = r[(i + 3) * classes + k];
      double* gk = grad + k * d;
      for (size_t j = 0; j < d; ++j)
        gk[j] = (((gk[j] + r0 * x0[j]) + r1 * x1[j]) + r2 * x2[j]) + r3 * x3[j];
      grad[classes * d + k] = (((grad[classes * d + k] + r0) + r1) + r2) + r3;
    }
  }
  for (; i < n; ++i) {
    const double* xi = x + i * d;
    for (size_t k = 0; k < classes; ++k) {
      const double rik = r[i * classes + k];
      double* gk = grad + k * d;
      for (size_t j = 0; j < d; ++j) gk[j] += rik * xi[j];
      grad[classes * d + k] += rik;
    }
  }
}

// The penalised multinomial cross-entropy over standardised data. Parameters: K x d weights
// (row k = class k) then K intercepts. Both layouts of X are kept so that the two products
// (logits, gradient) are axpy loops the compiler vectorises without reassociating sums.
class Objective {
 public:
  // Two classes: one weight vector for the second class, the first class's logit fixed at 0
  // (the binomial model, as scikit-learn fits binary problems); K classes: K weight vectors.
  Objective(const Matrix& x, std::vector<size_t> y, size_t classes, double c)
      : n_(x.rows),
        d_(x.cols),
        k_(classes == 2 ? 1 : classes),
        binary_(classes == 2),
        x_(x),
        y_(std::move(y)),
        lambda_(1.0 / (c * static_cast<double>(x.rows))),
        xt_(x.column_major()),
        z_(k_ * n_),
        r_(n_ * k_),
        lse_(n_) {}

  size_t size() const { return k_ * d_ + k_; }

  // The objective at theta; keeps the logits and log-sum-exps for gradient().
  double value(const std::vector<double>& theta) {
    const double* w = theta.data();
    const double* b = theta.data() + k_ * d_;
    for (size_t k = 0; k < k_; ++k)
      std::fill(z_.begin() + static_cast<long>(k * n_),
                z_.begin() + static_cast<long>((k + 1) * n_), b[k]);
    add_logits(xt_.data(), n_, d_, k_, w, z_.data());
    double loss = 0;
    if (binary_) {  // the first class's logit is fixed at 0: lse = log(1 + e^z)
      for (size_t i = 0; i < n_; ++i) {
        const double z = z_[i], m = std::max(0.0, z);
        lse_[i] = m + std::log(std::exp(-m) + std::exp(z - m));
        loss += lse_[i] - (y_[i] == 1 ? z : 0.0);
      }
    } else {
      for (size_t i = 0; i < n_; ++i) {
        double m = -kInf;
        for (size_t k = 0; k < k_; ++k) m = std::max(m, z_[k * n_ + i]);
        double sum = 0;
        for (size_t k = 0; k < k_; ++k) sum += std::exp(z_[k * n_ + i] - m);
        lse_[i] = m + std::log(sum);
        loss += lse_[i] - z_[y_[i] * n_ + i];
      }
    }
    double penalty = 0;
    for (size_t p = 0; p < k_ * d_; ++p) penalty += w[p] * w[p];
    return loss * (1.0 / static_cast<double>(n_)) + 0.5 * lambda_ * penalty;
  }

  // The gradient at the theta of the last value() call (a line search's rejected trials never
  // need it: half the cost of a trial).
  void gradient(const std::vector<double>& theta, std::vector<double>& grad) {
    if (binary_) {
      for (size_t i = 0; i < n_; ++i) r_[i] = std::exp(z_[i] - lse_[i]) - (y_[i] == 1 ? 1.0 : 0.0);
    } else {
      for (size_t i = 0; i < n_; ++i)
        for (size_t k = 0; k < k_; ++k)
          r_[i * k_ + k] = std::exp(z_[k * n_ + i] - lse_[i]) - (k == y_[i] ? 1.0 : 0.0);
    }
    const double inv_n = 1.0 / static_cast<double>(n_);
    std::fill(grad.begin(), grad.end(), 0.0);
    add_gradient(x_.data.data(), n_, d_, k_, r_.data(), grad.data());
    for (size_t p = 0; p < k_ * d_; ++p) grad[p] = grad[p] * inv_n + lambda_ * theta[p];
    for (size_t k = 0; k < k_; ++k) grad[k_ * d_ + k] *= inv_n;
  }

 private:
  size_t n_, d_, k_;  // k_: classes with their own weights
  bool binary_;
  const Matrix& x_;
  std::vector<size_t> y_;
  double lambda_;
  std::vector<double> xt_, z_, r_, lse_;
};

struct LbfgsResult {
  int iterations = 0;
  bool converged = false;
  double objective = 0;
};

// L-BFGS (Nocedal & Wright, Algorithm 7.4/7.5) with Armijo backtracking from `theta` (updated in
// place); pairs failing the curvature condition are skipped so the implicit Hessian stays
// positive definite. Stops when max |gradient| <= tol.
LbfgsResult lbfgs(Objective& f, std::vector<double>& theta, int max_iter, double tol, int memory) {
  const size_t p = f.size();
  std::vector<double> grad(p), next(p), next_grad(p), dir(p);
  std::deque<std::vector<double>> s_hist, y_hist;
  std::deque<double> rho_hist;
  LbfgsResult r;
  double fx = f.value(theta);
  f.gradient(theta, grad);
  for (r.iterations = 0; r.iterations < max_iter; ++r.iterations) {
    if (max_abs(grad) <= tol) {
      r.converged = true;
      break;
    }
    std::vector<double> q = grad;
    std::vector<double> alpha(s_hist.size());
    for (size_t m = s_hist.size(); m-- > 0;) {
      alpha[m] = rho_hist[m] * dot(s_hist[m], q);
      for (size_t t = 0; t < p; ++t) q[t] -= alpha[m] * y_hist[m][t];
    }
    double gamma = 1.0;
    if (!s_hist.empty())
      gamma = dot(s_hist.back(), y_hist.back()) / dot(y_hist.back(), y_hist.back());
    for (double& v : q) v *= gamma;
    for (size_t m = 0; m < s_hist.size(); ++m) {
      const double beta = rho_hist[m] * dot(y_hist[m], q);
      for (size_t t = 0; t < p; ++t) q[t] += s_hist[m][t] * (alpha[m] - beta);
    }
    for (size_t t = 0; t < p; ++t) dir[t] = -q[t];
    double slope = dot(grad, dir);
    if (!(slope < 0)) {  // not a descent direction (round-off): restart from steepest descent
      s_hist.clear();
      y_hist.clear();
      rho_hist.clear();
      for (size_t t = 0; t < p; ++t) dir[t] = -grad[t];
      slope = dot(grad, dir);
    }
    double step = s_hist.empty() ? std::min(1.0, 1.0 / std::sqrt(dot(grad, grad))) : 1.0;
    double fnext = 0;
    bool accepted = false;
    for (int halvings = 0; halvings < 60; ++halvings, step *= 0.5) {
      for (size_t t = 0; t < p; ++t) next[t] = theta[t] + step * dir[t];
      fnext = f.value(next);
      if (std::isfinite(fnext) && fnext <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;  // no decrease possible at machine precision: as good as it gets
    f.gradient(next, next_grad);
    std::vector<double> s(p), yv(p);
    for (size_t t = 0; t < p; ++t) {
      s[t] = next[t] - theta[t];
      yv[t] = next_grad[t] - grad[t];
    }
    const double sy = dot(s, yv);
    if (sy > 1e-10 * std::sqrt(dot(yv, yv) * dot(s, s))) {
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(yv));
      rho_hist.push_back(1.0 / sy);
      if (static_cast<int>(s_hist.size()) > memory) {
        s_hist.pop_front();
        y_hist.pop_front();
        rho_hist.pop_front();
      }
    }
    const double decrease = fx - fnext;
    theta.swap(next);
    grad.swap(next_grad);
    fx = fnext;
    // scipy's lbfgs `factr` test: relative decrease at machine-precision level.
    if (decrease <= 64 * std::numeric_limits<double>::epsilon() * std::max({1.0, std::fabs(fx)})) {
      r.converged = max_abs(grad) <= tol;
      ++r.iterations;
      break;
    }
  }
  if (!r.converged && max_abs(grad) <= tol) r.converged = true;
  r.objective = fx;
  return r;
}

}  // namespace

LogisticRegression::LogisticRegression(LogisticRegressionOptions options) : options_(options) {
  DYNFAULT_CHECK(options_.c() > 0 && std::isfinite(options_.c()),
                 "LogisticRegression: C must be positive, got ", options_.c());
  DYNFAULT_CHECK(options_.max_iter() > 0, "LogisticRegression: max_iter must be positive, got ",
                 options_.max_iter());
  DYNFAULT_CHECK(options_.tol() > 0, "LogisticRegression: tol must be positive, got ",
                 options_.tol());
  DYNFAULT_CHECK(options_.memory() > 0, "LogisticRegression: memory must be positive, got ",
                 options_.memory());
  DYNFAULT_CHECK(options_.warm_start() >= 0, "LogisticRegression: warm_start must be >= 0, got ",
                 options_.warm_start());
  DYNFAULT_CHECK(options_.clip_quantile() >= 0 && options_.clip_quantile() < 0.5,
                 "LogisticRegression: clip_quantile must be in [0, 0.5), got ",
                 options_.clip_quantile());
}

void LogisticRegression::fit(const Matrix& x, const Labels& y) {
  classes_ = training_classes(x, y, "LogisticRegression");
  dims_ = x.cols;
  const size_t d = x.cols, k = classes_.size();

  // Preprocessing statistics from this (training) matrix only.
  const auto prepared = scaled(x, options_.clip_quantile(), Scaling::standard);
  scaler_ = prepared->scaler;

  coef_.assign(k * d, 0.0);
  intercept_.assign(k, 0.0);
  iterations_ = 0;
  converged_ = true;
  objective_ = 0;
  fitted_ = true;
  if (k == 1) return;  // one class: the constant prediction is the exact answer

  const std::vector<size_t> yi = encode_labels(y, classes_);
  Objective f(prepared->x, yi, k, options_.c());

  // Warm start: the fit on every warm_start-th training row, to ten times the tolerance. The
  // objective is strictly convex, so the full fit below reaches the same minimiser from there,
  // in fewer passes over the whole fold; the subsample is part of the training fold (no test
  // row is ever seen).
  std::vector<double> theta(f.size(), 0.0);
  const size_t stride = static_cast<size_t>(options_.warm_start());
  if (stride > 1 && x.rows / stride >= kMinWarmStartRows) {
    std::vector<size_t> rows, ysub;
    for (size_t i = 0; i < x.rows; i += stride) {
      rows.push_back(i);
      ysub.push_back(yi[i]);
    }
    const Matrix xsub = prepared->x.take_rows(rows);
    Objective fsub(xsub, ysub, k, options_.c());
    lbfgs(fsub, theta, options_.max_iter(), 10 * options_.tol(), options_.memory());
  }
  const LbfgsResult r = lbfgs(f, theta, options_.max_iter(), options_.tol(), options_.memory());
  iterations_ = r.iterations;
  converged_ = r.converged;
  objective_ = r.objective;
  // Binary: the first class keeps zero weights (softmax of (0, z) is the logistic of z).
  const size_t free = k == 2 ? 1 : k, offset = k - free;
  std::copy(theta.begin(), theta.begin() + static_cast<long>(free * d),
            coef_.begin() + static_cast<long>(offset * d));
  std::copy(theta.begin() + static_cast<long>(free * d), theta.end(),
            intercept_.begin() + static_cast<long>(offset));
}

void LogisticRegression::check_fitted(const Matrix& x) const {
  DYNFAULT_CHECK(fitted_, "LogisticRegression: predict() before fit()");
  DYNFAULT_CHECK(x.cols == dims_, "LogisticRegression: fitted on ", dims_, " features, got ",
                 x.cols);
}

Matrix LogisticRegression::predict_proba(const Matrix& x) const {
  check_fitted(x);
  const size_t k = classes_.size(), d = dims_;
  Matrix proba(x.rows, k);
  const Matrix xs = scaler_.transform(x);
  std::vector<double> z(k);
  for (size_t i = 0; i < x.rows; ++i) {
    double m = -kInf;
    for (size_t c = 0; c < k; ++c) {
      double s = intercept_[c];
      const double* w = coef_.data() + c * d;
      const double* xi = xs.row(i);
      for (size_t j = 0; j < d; ++j) s += w[j] * xi[j];
      z[c] = s;
      m = std::max(m, s);
    }
    double sum = 0;
    for (size_t c = 0; c < k; ++c) sum += std::exp(z[c] - m);
    for (size_t c = 0; c < k; ++c) proba(i, c) = std::exp(z[c] - m) / sum;
  }
  return proba;
}

Labels LogisticRegression::predict(const Matrix& x) const {
  return argmax_labels(predict_proba(x), classes_);
}

void LogisticRegression::save(std::ostream& out) const {
  DYNFAULT_CHECK(fitted_, "LogisticRegression::save(): not fitted");
  model_io::write_header(out, name(), kFormatVersion);
  model_io::write_vector(out, "options",
                         {options_.c(), static_cast<double>(options_.max_iter()), options_.tol(),
                          static_cast<double>(options_.memory()), options_.clip_quantile()});
  model_io::write_strings(out, "classes", classes_);
  model_io::write_int(out, "dims", static_cast<int64_t>(dims_));
  scaler_.save(out);
  model_io::write_vector(out, "coef", coef_);
  model_io::write_vector(out, "intercept", intercept_);
  out << "end\n";
  DYNFAULT_CHECK(static_cast<bool>(out), "LogisticRegression::save(): write failed");
}

void LogisticRegression::load(std::istream& in) {
  const std::string who = "LogisticRegression";
  model_io::read_header(in, name(), kFormatVersion);
  const auto opt = model_io::read_vector(in, "options", 5, who);
  LogisticRegressionOptions o;
  o.c(opt[0])
      .max_iter(static_cast<int>(opt[1]))
      .tol(opt[2])
      .memory(static_cast<int>(opt[3]))
      .clip_quantile(opt[4]);
  auto classes = model_io::read_strings(in, "classes", who);
  DYNFAULT_CHECK(!classes.empty(), "LogisticRegression::load(): no classes");
  const int64_t dims = model_io::read_int(in, "dims", who);
  DYNFAULT_CHECK(dims >= 0, "LogisticRegression::load(): bad dims");
  const size_t d = static_cast<size_t>(dims), k = classes.size();
  Scaler scaler;
  scaler.load(in, d, who);
  auto coef = model_io::read_vector(in, "coef", k * d, who);
  auto intercept = model_io::read_vector(in, "intercept", k, who);
  model_io::read_end(in, who);
  // Commit only after everything parsed: a failed load leaves the object unchanged.
  *this = LogisticRegression(o);
  classes_ = std::move(classes);
  dims_ = d;
  scaler_ = std::move(scaler);
  coef_ = std::move(coef);
  intercept_ = std::move(intercept);
  fitted_ = true;
}

OptionSchema<LogisticRegressionOptions> logistic_regression_options() {
  return OptionSchema<LogisticRegressionOptions>()
      .real("c", 1e-12, 1e12, "inverse L2 strength (scikit-learn's C)", DYNFAULT_OPTION_FIELD(c))
      .integer("max_iter", 1, 1e7, "L-BFGS iterations", DYNFAULT_OPTION_FIELD(max_iter))
      .real("tol", 1e-15, 1, "stop when max |gradient| <= tol", DYNFAULT_OPTION_FIELD(tol))
      .integer("memory", 1, 1000, "L-BFGS correction pairs", DYNFAULT_OPTION_FIELD(memory))
      .real("clip_quantile", 0, 0.49,
            "winsorise each column to [q, 1 - q] before scaling (0 = off)",
            DYNFAULT_OPTION_FIELD(clip_quantile))
      .integer(
          "warm_start", 0, 1e6,
          "start from the fit on every n-th training row (0 or 1 = from zeros; same minimiser)",
          DYNFAULT_OPTION_FIELD(warm_start));
}

DYNFAULT_REGISTER(diagnoser_registry(), "logistic_regression",
                  diagnoser_entry<LogisticRegression>(logistic_regression_options()));

}  // namespace dynfault::diagnosis
