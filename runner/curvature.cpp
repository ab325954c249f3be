#include "runner/curvature.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <utility>

#include "common/check.h"
#include "common/clock.h"
#include "runner/optimizers.h"

namespace dynfault::runner::probes {
namespace {

using Clock = std::chrono::steady_clock;

double dot64(const torch::Tensor& a, const torch::Tensor& b) { return a.dot(b).item<double>(); }
double norm64(const torch::Tensor& a) { return std::sqrt(dot64(a, a)); }

torch::Tensor random_unit(int64_t n, at::Generator& gen, torch::ScalarType dtype) {
  torch::Tensor v = torch::randn({n}, gen, torch::dtype(dtype));
  return v / norm64(v);
}

/// A Rademacher vector (entries +-1) of length n.
torch::Tensor rademacher(int64_t n, at::Generator& gen, torch::ScalarType dtype) {
  return torch::randint(0, 2, {n}, gen, torch::dtype(dtype)).mul_(2).sub_(1);
}

/// Removes from w its components along the rows of `basis` by classical Gram-Schmidt, and once
/// more when that cancelled most of w (Kahan and Parlett's "twice is enough": Parlett, The
/// Symmetric Eigenvalue Problem, ch. 6.9), so the Lanczos basis stays orthogonal to working
/// precision.
void orthogonalise(torch::Tensor& w, const torch::Tensor& basis) {
  const double before = norm64(w);
  w -= basis.t().mv(basis.mv(w));
  if (norm64(w) < 0.7 * before) w -= basis.t().mv(basis.mv(w));
}

/// Power iteration on `op` from `v` (unit): the eigenvalue of largest magnitude, its residual
/// ||A v - lambda v|| and the last vector. Stops as CurvatureSettings::tol says.
struct Power {
  double lambda = kCurvNaN, residual = kCurvNaN;
  int64_t products = 0;
  torch::Tensor v;
};

Power power_iteration(const SymmetricOperator& op, torch::Tensor v, int64_t k, double tol) {
  Power p;
  double prev = kCurvNaN;
  for (int64_t it = 1; it <= k; ++it) {
    const torch::Tensor av = op(v);
    ++p.products;
    p.lambda = dot64(v, av);
    const double n = norm64(av);
    p.residual = norm64(av - p.lambda * v);
    if (!(n > 0) || !std::isfinite(n)) break;  // v in the null space, or non-finite
    // ||Av - lambda v|| <= sqrt(tol) |lambda| bounds lambda's distance to the spectrum by
    // sqrt(tol) |lambda| and, with a gap comparable to lambda, its error by about tol |lambda|.
    const bool eigenvector = p.residual <= std::sqrt(tol) * std::abs(p.lambda);
    v = av / n;
    if (eigenvector || (it > 1 && std::abs(p.lambda - prev) <= tol * std::abs(p.lambda))) break;
    prev = p.lambda;
  }
  p.v = v;
  return p;
}

double relative_residual(double r_max, double r_min, double max, double min) {
  const double scale = std::max(std::abs(max), std::abs(min));
  if (!std::isfinite(scale)) return kCurvNaN;
  return scale > 0 ? std::max(r_max, r_min) / scale : 0.0;
}

}  // namespace

// --- eigen-solvers ------------------------------------------------------------------------------

namespace {

/// The edges of T_m (alpha on the diagonal, beta beside it) and their Ritz residuals
/// ||A y - theta y|| = |beta_m s_m| (Parlett, ch. 13), beta_m being the last entry of `beta`.
void ritz_edges(const std::vector<double>& alpha, const std::vector<double>& beta, bool spans,
                Edges& e, double& r_max, double& r_min) {
  const auto m = static_cast<int64_t>(alpha.size());
  torch::Tensor T = torch::diag(torch::tensor(alpha, torch::dtype(torch::kDouble)));
  for (int64_t i = 0; i + 1 < m; ++i) T[i][i + 1] = T[i + 1][i] = beta[static_cast<size_t>(i)];
  auto [theta, S] = torch::linalg::eigh(T, "L");
  e.max = theta[m - 1].item<double>();
  e.min = theta[0].item<double>();
  e.trace = theta.sum().item<double>();
  const double last = spans ? 0.0 : beta.back();  // exactly 0 once the basis spans
  r_max = last * std::abs(S[m - 1][m - 1].item<double>());
  r_min = last * std::abs(S[m - 1][0].item<double>());
}

}  // namespace

Edges lanczos_edges(const SymmetricOperator& op, int64_t n, int64_t k, at::Generator& gen,
                    torch::ScalarType dtype, double tol, bool need_min) {
  DYNFAULT_CHECK(k >= 1 && n >= 1, "lanczos_edges(): k and n must be >= 1, got ", k, ", ", n);
  const int64_t steps = std::min(k, n);
  // Below this beta (relative to the operator's size so far) the Krylov space is invariant to
  // the products' precision.
  const double breakdown = 10 * (dtype == torch::kDouble ? 2.2e-16 : 1.2e-7);
  Edges e;
  torch::Tensor V = torch::zeros({steps, n}, torch::dtype(dtype));
  std::vector<double> alpha, beta;  // beta[j] couples q_j and q_{j+1}
  // A Rademacher start z / sqrt(n): alpha_0 n = z^T A z is then a Hutchinson sample for free.
  V[0] = rademacher(n, gen, dtype) / std::sqrt(static_cast<double>(n));
  double scale = 0;  // largest |alpha| or beta so far: the operator's size
  double r_max = 0, r_min = 0;
  for (int64_t j = 0; j < steps; ++j) {
    const torch::Tensor q = V[j];
    torch::Tensor w = op(q);
    ++e.products;
    const double a = dot64(q, w);
    if (!std::isfinite(a)) return Edges{};
    if (j == 0) e.start_rayleigh = a;
    alpha.push_back(a);
    // The three-term recurrence, then full reorthogonalisation against the whole basis.
    w -= a * q;
    if (j > 0) w -= beta.back() * V[j - 1];
    orthogonalise(w, V.narrow(0, 0, j + 1));
    const double b = norm64(w);
    if (!std::isfinite(b)) return Edges{};
    scale = std::max({scale, std::abs(a), b});
    beta.push_back(b);
    e.spans = j + 1 == n;
    if (j + 1 == steps) break;
    if (b > breakdown * scale) {
      if (tol > 0 && j >= 1) {  // converged: the wanted Ritz residuals are small enough
        ritz_edges(alpha, beta, e.spans, e, r_max, r_min);
        const double rho = std::max(std::abs(e.max), std::abs(e.min));
        if (r_max <= tol * rho && (!need_min || r_min <= tol * rho)) break;
      }
      V[j + 1] = w / b;
      continue;
    }
    // An invariant subspace: T_m's eigenvalues are exact ones. Go on in the complement, from a
    // random vector orthogonal to the basis; T becomes block diagonal (beta_j = 0).
    beta.back() = 0;
    torch::Tensor r = torch::randn({n}, gen, torch::dtype(dtype));
    orthogonalise(r, V.narrow(0, 0, j + 1));
    V[j + 1] = r / norm64(r);
  }
  ritz_edges(alpha, beta, e.spans, e, r_max, r_min);
  e.residual = relative_residual(r_max, need_min ? r_min : 0.0, e.max, e.min);
  return e;
}

Edges power_edges(const SymmetricOperator& op, int64_t n, int64_t k, double tol, at::Generator& gen,
                  torch::Tensor warm[2], torch::ScalarType dtype) {
  const auto start = [&](const torch::Tensor& w) {
    return w.defined() && w.numel() == n && w.scalar_type() == dtype ? w
                                                                     : random_unit(n, gen, dtype);
  };
  Edges e;
  const Power dominant = power_iteration(op, start(warm[0]), k, tol);
  e.products = dominant.products;
  if (!std::isfinite(dominant.lambda)) return e;
  const double mu = dominant.lambda;
  // The other end of the spectrum is the eigenvalue of A - mu I of largest magnitude, shifted
  // back (A - mu I is negative semi-definite when mu is the top, positive when the bottom).
  const Power other = power_iteration([&](const torch::Tensor& v) { return op(v) - mu * v; },
                                      start(warm[1]), k, tol);
  e.products += other.products;
  if (!std::isfinite(other.lambda)) return e;
  const double nu = mu + other.lambda;
  e.max = std::max(mu, nu);
  e.min = std::min(mu, nu);
  const double r_mu = dominant.residual, r_nu = other.residual;
  e.residual = relative_residual(mu >= nu ? r_mu : r_nu, mu >= nu ? r_nu : r_mu, e.max, e.min);
  warm[0] = torch::isfinite(dominant.v).all().item<bool>() ? dominant.v : torch::Tensor();
  warm[1] = torch::isfinite(other.v).all().item<bool>() ? other.v : torch::Tensor();
  return e;
}

// --- stability rules ----------------------------------------------------------------------------

namespace {

/// The rule of one parameter group's optimizer, and D for one parameter from its state (false
/// when the state holds nothing yet). a, b and beta are those of the last update (db/trace.h).
bool adaptive_step(const torch::optim::OptimizerParamState& st,
                   const torch::optim::OptimizerOptions& opts, StabilityRule& r, torch::Tensor& d) {
  namespace optim = torch::optim;
  const double lr = opts.get_lr();
  const auto adam_d = [&](const torch::Tensor& v, int64_t t, double beta2, double eps) {
    const double bc2 = 1 - std::pow(beta2, static_cast<double>(t));
    return lr / ((v.to(torch::kDouble) / bc2).sqrt() + eps);
  };
  const auto momentum_ema = [&](double beta1, int64_t t) {
    r.a = 0;
    r.b = 1 / (1 - std::pow(beta1, static_cast<double>(t)));  // bias correction of m
    r.beta = beta1;
  };
  if (const auto* s = dynamic_cast<const optim::AdamParamState*>(&st)) {
    const auto& o = dynamic_cast<const optim::AdamOptions&>(opts);
    if (s->step() == 0) return false;
    d = adam_d(o.amsgrad() ? s->max_exp_avg_sq() : s->exp_avg_sq(), s->step(),
               std::get<1>(o.betas()), o.eps());
    momentum_ema(std::get<0>(o.betas()), s->step());
    r.weight_decay = o.weight_decay();
    return true;
  }
  if (const auto* s = dynamic_cast<const optim::AdamWParamState*>(&st)) {
    const auto& o = dynamic_cast<const optim::AdamWOptions&>(opts);
    if (s->step() == 0) return false;
    d = adam_d(o.amsgrad() ? s->max_exp_avg_sq() : s->exp_avg_sq(), s->step(),
               std::get<1>(o.betas()), o.eps());
    momentum_ema(std::get<0>(o.betas()), s->step());
    r.weight_decay = 0;  // decoupled: shrinks the weights, adds nothing to the gradient
    return true;
  }
  if (const auto* s = dynamic_cast<const NAdamParamState*>(&st)) {
    const auto& o = dynamic_cast<const NAdamOptions&>(opts);
    if (s->step() == 0) return false;
    const auto t = static_cast<double>(s->step());
    const double beta1 = std::get<0>(o.betas()), psi = o.momentum_decay();
    const double mu = beta1 * (1 - 0.5 * std::pow(0.96, t * psi));
    const double mu_next = beta1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
    d = adam_d(s->exp_avg_sq(), s->step(), std::get<1>(o.betas()), o.eps());
    r.a = (1 - mu) / (1 - s->mu_product());
    r.b = mu_next / (1 - s->mu_product() * mu_next);
    r.beta = beta1;
    r.weight_decay = o.weight_decay();
    return true;
  }
  if (const auto* s = dynamic_cast<const AdamaxParamState*>(&st)) {
    const auto& o = dynamic_cast<const AdamaxOptions&>(opts);
    if (s->step() == 0) return false;
    d = lr / s->exp_inf().to(torch::kDouble);
    momentum_ema(std::get<0>(o.betas()), s->step());
    r.weight_decay = o.weight_decay();
    return true;
  }
  if (const auto* s = dynamic_cast<const optim::RMSpropParamState*>(&st)) {
    const auto& o = dynamic_cast<const optim::RMSpropOptions&>(opts);
    if (s->step() == 0) return false;
    torch::Tensor avg = s->square_avg().to(torch::kDouble);
    if (o.centered()) avg = avg - s->grad_avg().to(torch::kDouble).pow(2);
    d = lr / (avg.sqrt() + o.eps());
    // Momentum buf <- mu buf + g / avg, theta -= lr buf: heavy ball on the preconditioned step.
    const double mu = o.momentum();
    r.a = mu > 0 ? 0 : 1;
    r.b = mu > 0 ? 1 / (1 - mu) : 0;
    r.beta = mu;
    r.weight_decay = o.weight_decay();
    return true;
  }
  if (const auto* s = dynamic_cast<const optim::AdagradParamState*>(&st)) {
    const auto& o = dynamic_cast<const optim::AdagradOptions&>(opts);
    if (s->step() == 0) return false;
    const double clr =
        lr / (1 + static_cast<double>(std::max<int64_t>(s->step() - 1, 0)) * o.lr_decay());
    d = clr / (s->sum().to(torch::kDouble).sqrt() + o.eps());
    r.weight_decay = o.weight_decay();
    return true;
  }
  if (const auto* s = dynamic_cast<const AdadeltaParamState*>(&st)) {
    const auto& o = dynamic_cast<const AdadeltaOptions&>(opts);
    if (s->step() == 0) return false;
    d = lr * (s->acc_delta().to(torch::kDouble) + o.eps()).sqrt() /
        (s->square_avg().to(torch::kDouble) + o.eps()).sqrt();
    r.weight_decay = o.weight_decay();
    return true;
  }
  return false;
}

}  // namespace

StabilityRule stability_rule(const torch::optim::Optimizer& optimizer,
                             const std::vector<torch::Tensor>& params) {
  namespace optim = torch::optim;
  StabilityRule r;
  DYNFAULT_CHECK(!optimizer.param_groups().empty(), "stability_rule(): no parameter group");
  const auto& opts = optimizer.param_groups()[0].options();
  r.lr = opts.get_lr();
  if (const auto* o = dynamic_cast<const optim::SGDOptions*>(&opts)) {
    r.optimizer = "sgd";
    r.weight_decay = o->weight_decay();
    const double mu = o->momentum(), damp = o->dampening();
    if (mu > 0 && o->nesterov()) {  // g + mu buf, buf <- mu buf + g: Nesterov
      r.a = 1;
      r.b = mu / (1 - mu);
    } else if (mu > 0) {  // buf <- mu buf + (1 - dampening) g: heavy ball
      r.a = 0;
      r.b = (1 - damp) / (1 - mu);
    }
    r.beta = mu;
    r.ready = true;
    return r;
  }
  r.adaptive = true;
  r.optimizer = dynamic_cast<const optim::AdamWOptions*>(&opts)     ? "adamw"
                : dynamic_cast<const optim::AdamOptions*>(&opts)    ? "adam"
                : dynamic_cast<const NAdamOptions*>(&opts)          ? "nadam"
                : dynamic_cast<const AdamaxOptions*>(&opts)         ? "adamax"
                : dynamic_cast<const optim::RMSpropOptions*>(&opts) ? "rmsprop"
                : dynamic_cast<const optim::AdagradOptions*>(&opts) ? "adagrad"
                : dynamic_cast<const AdadeltaOptions*>(&opts)       ? "adadelta"
                                                                    : "unknown";
  std::map<const c10::TensorImpl*, const optim::OptimizerOptions*> group_of;
  for (const auto& g : optimizer.param_groups())
    for (const auto& p : g.params()) group_of[p.unsafeGetTensorImpl()] = &g.options();
  const auto& state = optimizer.state();
  r.ready = !params.empty();
  for (const auto& p : params) {
    torch::Tensor d;
    auto it = state.find(c10::guts::to_string(p.unsafeGetTensorImpl()));
    auto g = group_of.find(p.unsafeGetTensorImpl());
    if (it == state.end() || g == group_of.end() || !adaptive_step(*it->second, *g->second, r, d))
      r.ready = false;
    r.step.push_back(d.defined() ? d.reshape({-1}) : d);
  }
  return r;
}

// --- products and the probe ---------------------------------------------------------------------

ProbeScope::ProbeScope(torch::nn::Module& net, bool train_mode)
    : net_(net), was_training_(net.is_training()) {
  if (train_mode) {
    // A training-mode forward pass updates batch-norm running statistics and draws dropout
    // masks from the global generator: keep both to put back.
    for (const auto& b : net.buffers()) {
      buffers_.push_back(b);
      saved_.push_back(b.clone());
    }
    rng_ = at::detail::getDefaultCPUGenerator().get_state();
  }
  net.train(train_mode);
}

ProbeScope::~ProbeScope() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < buffers_.size(); ++i) buffers_[i].copy_(saved_[i]);
  if (rng_.defined()) {
    at::Generator global = at::detail::getDefaultCPUGenerator();  // shares the global state
    global.set_state(rng_);
  }
  net_.train(was_training_);
}

HessianOperator::HessianOperator(const torch::Tensor& loss,
                                 const std::vector<torch::Tensor>& params) {
  const std::vector<torch::Tensor> grads =
      torch::autograd::grad({loss}, params, /*grad_outputs=*/{}, /*retain_graph=*/true,
                            /*create_graph=*/true, /*allow_unused=*/true);
  // One flat gradient: one dot product per product instead of a few operations per tensor.
  std::vector<torch::Tensor> flat;
  for (size_t i = 0; i < params.size(); ++i) {
    used_.push_back(grads[i].defined());
    if (!grads[i].defined()) continue;
    ps_.push_back(params[i]);
    flat.push_back(grads[i].reshape({-1}));
    curved_ = curved_ || grads[i].requires_grad();
  }
  if (flat.empty()) return;
  g_ = torch::cat(flat);
  n_ = g_.numel();
}

torch::Tensor HessianOperator::operator()(const torch::Tensor& v) {
  const Clock::time_point start = Clock::now();
  ++products_;
  const std::vector<torch::Tensor> hv =
      torch::autograd::grad({g_.dot(v)}, ps_, {}, /*retain_graph=*/true,
                            /*create_graph=*/false, /*allow_unused=*/true);
  std::vector<torch::Tensor> parts;
  for (size_t i = 0; i < hv.size(); ++i)
    parts.push_back(hv[i].defined() ? hv[i].reshape({-1})
                                    : torch::zeros({ps_[i].numel()}, g_.options()));
  torch::Tensor out = torch::cat(parts);
  ms_ += ms_between(start, Clock::now());
  return out;
}

CurvatureProbe::CurvatureProbe(const CurvatureSettings& settings)
    : settings_(settings), gen_(at::detail::createCPUGenerator(settings.seed)) {
  DYNFAULT_CHECK(settings.k >= 1, "CurvatureProbe: k must be >= 1, got ", settings.k);
  DYNFAULT_CHECK(settings.hutchinson_samples >= 1,
                 "CurvatureProbe: hutchinson_samples must be >= 1, got ",
                 settings.hutchinson_samples);
}

Edges CurvatureProbe::edges(const SymmetricOperator& op, int64_t n, torch::ScalarType dtype,
                            int slot, bool need_min) {
  if (settings_.method == CurvatureMethod::kPower)
    return power_edges(op, n, settings_.k, settings_.tol, gen_, &warm_[slot], dtype);
  return lanczos_edges(op, n, settings_.k, gen_, dtype, settings_.tol, need_min);
}

namespace {

/// The flat D over the parameters the objective uses, or undefined when a piece is missing.
torch::Tensor flat_step(const StabilityRule& rule, const std::vector<bool>& used) {
  std::vector<torch::Tensor> parts;
  for (size_t i = 0; i < used.size() && i < rule.step.size(); ++i) {
    if (!used[i]) continue;
    if (!rule.step[i].defined()) return {};
    parts.push_back(rule.step[i]);
  }
  if (parts.empty() || rule.step.size() != used.size()) return {};
  return torch::cat(parts);
}

}  // namespace

Curvature CurvatureProbe::estimate(const torch::Tensor& loss,
                                   const std::vector<torch::Tensor>& params,
                                   const StabilityRule* rule) {
  Curvature c;
  if (!std::isfinite(loss.item<double>())) return c;
  HessianOperator hvp(loss, params);
  c.size = hvp.size();
  const auto finish = [&] {
    c.hvps = hvp.products();
    c.hvp_ms = hvp.ms();
    if (rule && rule->ready && !rule->adaptive) {
      c.stability_limit = rule->limit();
      c.stability_ratio = rule->lr * (c.lambda_max + rule->weight_decay) / c.stability_limit;
    }
    return c;
  };
  if (!hvp.curved()) {  // linear in the parameters: the Hessian is zero
    c.lambda_max = c.lambda_min = c.trace = c.residual = 0;
    c.exact_trace = true;
    if (rule && rule->adaptive && rule->ready) {
      c.precond_sharpness = rule->weight_decay * torch::cat(rule->step).max().item<double>();
      c.stability_limit = rule->limit();
      c.stability_ratio = c.precond_sharpness / c.stability_limit;
    }
    return finish();
  }
  const int64_t n = hvp.size();
  const SymmetricOperator h = [&](const torch::Tensor& v) { return hvp(v); };
  const torch::ScalarType dtype = hvp.dtype();
  const Edges e = edges(h, n, dtype, 0, true);
  c.lambda_max = e.max;
  c.lambda_min = e.min;
  c.residual = e.residual;
  c.iterations = e.products;

  if (rule && rule->adaptive && rule->ready) {
    const torch::Tensor d = flat_step(*rule, hvp.used());
    if (d.defined() && d.numel() == n) {
      // P^-1 (H + wd I) is similar to D^1/2 (H + wd I) D^1/2, which is symmetric.
      const torch::Tensor root = d.sqrt().to(dtype);
      const double wd = rule->weight_decay;
      const Edges p = edges(
          [&](const torch::Tensor& u) {
            const torch::Tensor x = root * u;
            return root * (hvp(x) + wd * x);
          },
          n, dtype, 2, false);
      c.precond_sharpness = p.max;
      c.precond_residual = p.residual;
      c.stability_limit = rule->limit();
      c.stability_ratio = p.max / c.stability_limit;
    }
  }

  if (e.spans) {  // T is similar to H: its trace is H's
    c.trace = e.trace;
    c.exact_trace = true;
  } else {
    // Hutchinson: E[z^T H z] = trace(H) for Rademacher z. Lanczos started from one, which gives
    // the first sample without a product.
    double trace = 0;
    int64_t s = 0;
    if (settings_.method == CurvatureMethod::kLanczos && std::isfinite(e.start_rayleigh)) {
      trace = e.start_rayleigh * static_cast<double>(n);
      s = 1;
    }
    for (; s < settings_.hutchinson_samples; ++s) {
      const torch::Tensor z = rademacher(n, gen_, dtype);
      trace += dot64(z, hvp(z));
    }
    c.trace = trace / static_cast<double>(settings_.hutchinson_samples);
  }
  return finish();
}

Curvature CurvatureProbe::measure(torch::nn::Module& net, bool train_mode,
                                  const std::function<torch::Tensor()>& objective,
                                  const std::vector<torch::Tensor>& params,
                                  const StabilityRule* rule) {
  const Clock::time_point start = Clock::now();
  Curvature c;
  {
    ProbeScope scope(net, train_mode);
    torch::AutoGradMode grad_on(true);
    c = estimate(objective(), params, rule);
  }
  c.total_ms = ms_between(start, Clock::now());
  return c;
}

// --- the exact oracle ---------------------------------------------------------------------------

ExactCurvature exact_curvature(const torch::Tensor& loss, const std::vector<torch::Tensor>& params,
                               const StabilityRule* rule, int64_t max_params) {
  ExactCurvature x;
  HessianOperator hvp(loss, params);
  x.n = hvp.size();
  DYNFAULT_CHECK(x.n <= max_params, "exact_curvature(): ", x.n,
                 " parameters, more than the limit of ", max_params,
                 " for a full Hessian (n products, n^2 doubles)");
  if (x.n == 0) return x;
  torch::Tensor H = torch::zeros({x.n, x.n}, torch::dtype(torch::kDouble));
  if (hvp.curved()) {
    for (int64_t i = 0; i < x.n; ++i) {
      torch::Tensor e = torch::zeros({x.n}, torch::dtype(hvp.dtype()));
      e[i] = 1.0;
      H[i] = hvp(e).to(torch::kDouble);
    }
  }
  const double scale = H.abs().max().item<double>();
  x.asymmetry = scale > 0 ? (H - H.t()).abs().max().item<double>() / scale : 0.0;
  H = (H + H.t()) / 2;
  const torch::Tensor eig = torch::linalg::eigvalsh(H, "L");
  x.lambda_min = eig[0].item<double>();
  x.lambda_max = eig[x.n - 1].item<double>();
  x.trace = H.trace().item<double>();
  const double off = (H.pow(2).sum() - H.diagonal().pow(2).sum()).item<double>();
  x.hutchinson_sd = std::sqrt(2 * off);
  if (rule && rule->ready && !rule->adaptive)
    x.stability_ratio = rule->lr * (x.lambda_max + rule->weight_decay) / rule->limit();
  if (rule && rule->ready && rule->adaptive) {
    const torch::Tensor d = flat_step(*rule, hvp.used());
    if (d.defined() && d.numel() == x.n) {
      const torch::Tensor root = d.sqrt();
      const torch::Tensor P = root.unsqueeze(1) *
                              (H + rule->weight_decay * torch::eye(x.n, torch::kDouble)) *
                              root.unsqueeze(0);
      x.precond_sharpness = torch::linalg::eigvalsh(P, "L")[x.n - 1].item<double>();
      x.stability_ratio = x.precond_sharpness / rule->limit();
    }
  }
  return x;
}

void CurvatureContext::evaluate(const std::function<void(const torch::Tensor&)>& fn) const {
  DYNFAULT_CHECK(net != nullptr, "CurvatureContext::evaluate(): no module");
  ProbeScope scope(*net, train_mode);
  torch::AutoGradMode grad_on(true);
  fn(objective());
}

}  // namespace dynfault::runner::probes
