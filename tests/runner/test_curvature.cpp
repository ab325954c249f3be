// The curvature probe (runner/curvature.h) against exact answers: quadratics with a known
// spectrum, the stability limits against a simulated iteration and against each optimizer's own
// update, and the exact Hessian of small models (tiny MLP, CNN, LSTM, batch-norm model, each
// under Adam and SGD) built from products with the unit vectors and solved by linalg_eigh.
#include <ATen/CPUGeneratorImpl.h>
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/check.h"
#include "runner/check.h"
#include "runner/curvature.h"
#include "runner/losses.h"
#include "runner/model_builder.h"
#include "runner/optimizers.h"
#include "runner/trainer.h"

namespace runner_test {
dynfault::programs::Recipe blobs_recipe();  // test_trainer.cpp
}  // namespace runner_test

namespace {

using dynfault::programs::Recipe;
using runner_test::blobs_recipe;
namespace P = dynfault::programs;
namespace R = dynfault::runner;
namespace probes = dynfault::runner::probes;

torch::Tensor global_rng_state() { return at::detail::getDefaultCPUGenerator().get_state(); }

double rel(double probe, double exact) { return std::abs(probe - exact) / std::abs(exact); }

/// Lanczos with exactly k steps (no early stop) unless `tol` is given.
probes::CurvatureSettings lanczos(int64_t k, int64_t samples = 1, uint64_t seed = 3,
                                  double tol = 0) {
  probes::CurvatureSettings s;
  s.k = k;
  s.tol = tol;
  s.hutchinson_samples = samples;
  s.seed = seed;
  return s;
}

/// f = 1/2 a^T A a + 1/2 sum(c * B^2) + shift * |a|^2: Hessian blockdiag(A + 2 shift I, diag(c))
/// with A = [[2, 1], [1, 2]] (eigenvalues 3 and 1) and c = {5, 0.25, -1, 4}.
struct Quadratic {
  torch::Tensor a = torch::tensor({0.3, -0.7}, torch::kDouble).requires_grad_(true);
  torch::Tensor b = torch::tensor({{1.0, 2.0}, {-1.0, 0.5}}, torch::kDouble).requires_grad_(true);
  torch::Tensor A = torch::tensor({{2.0, 1.0}, {1.0, 2.0}}, torch::kDouble);
  torch::Tensor c = torch::tensor({{5.0, 0.25}, {-1.0, 4.0}}, torch::kDouble);
  torch::Tensor f(double shift) const {
    return 0.5 * a.dot(A.mv(a)) + 0.5 * (c * b * b).sum() + shift * a.pow(2).sum();
  }
};

/// A small model in double precision, trained a few steps, for the exact oracle.
struct Oracle {
  std::string name;
  std::vector<P::Layer> layers;
  R::Shape shape;  ///< per-sample input shape
  std::string loss = "cross_entropy";
  int64_t classes = 3;
  bool flip = false;  ///< minimise -loss (the loss_sign_flip fault)
};

/// The probe (Lanczos with `k` steps, or the settings given) and the exact Hessian of one
/// model after `steps` updates of `optimizer`, on one fixed batch; the exact one is measured
/// in a ProbeScope of its own, from the generator state the probe left (so the same dropout
/// mask in training mode).
struct OracleResult {
  probes::Curvature probe;
  probes::ExactCurvature exact;
  probes::StabilityRule rule;
};

OracleResult run_oracle(const Oracle& o, const std::string& optimizer, double lr,
                        const probes::CurvatureSettings& settings, bool train_mode,
                        int64_t steps = 3, uint64_t seed = 5) {
  torch::manual_seed(seed);
  Recipe r = blobs_recipe();
  r.layers = o.layers;
  r.loss = o.loss;
  R::BuiltModel m = R::build_model(r, o.shape);
  m.net->to(torch::kDouble);
  std::vector<int64_t> xs{16};
  xs.insert(xs.end(), o.shape.begin(), o.shape.end());
  const torch::Tensor x = torch::randn(xs, torch::kDouble);
  const torch::Tensor y = o.classes > 0 ? torch::randint(0, o.classes, {16}, torch::kLong)
                                        : torch::randn({16, 1}, torch::kDouble) + 3.0;
  P::OptimizerSpec spec;
  spec.name = optimizer;
  spec.lr = lr;
  if (optimizer == "sgd") spec.momentum = 0.9;
  auto opt = R::make_optimizer(spec, m.net->parameters());
  const auto objective = [&] {
    const torch::Tensor loss = R::compute_loss(o.loss, m.net->forward(x), y, o.classes);
    return o.flip ? -loss : loss;
  };
  m.net->train();
  for (int64_t s = 0; s < steps; ++s) {
    opt->zero_grad();
    objective().backward();
    opt->step();
  }
  OracleResult out;
  const std::vector<torch::Tensor> params = m.net->parameters();
  out.rule = probes::stability_rule(*opt, params);
  probes::CurvatureProbe probe(settings);
  out.probe = probe.measure(*m.net, train_mode, objective, params, &out.rule);
  probes::ProbeScope scope(*m.net, train_mode);
  torch::AutoGradMode grad_on(true);
  out.exact = probes::exact_curvature(objective(), params, &out.rule, 5000);
  return out;
}

std::vector<Oracle> oracle_models() {
  return {{"tiny MLP", {P::Linear(12), P::Act("tanh"), P::Linear(3)}, {4}},
          {"tiny CNN", {P::Conv2d(2, 3), P::Act("relu"), P::Flatten(), P::Linear(3)}, {1, 5, 5}},
          {"tiny LSTM", {P::Rnn("lstm", 5), P::Linear(1)}, {4, 2}, "mse", 0},
          {"batch-norm MLP",
           {P::Linear(8), P::BatchNorm(), P::Act("relu"), P::Dropout(0.3), P::Linear(3)},
           {4}}};
}

}  // namespace

TEST_SUITE("runner") {
  TEST_CASE("Curvature: Lanczos and power iteration find both edges of a known spectrum") {
    Quadratic q;
    const torch::Tensor rng_before = global_rng_state();
    // Spectrum {3, 1, 5, 0.25, -1, 4}: n = 6, so Lanczos with k = 6 spans the space and is exact,
    // trace included (the trace of T equals H's).
    probes::CurvatureProbe full(lanczos(6));
    const probes::Curvature e = full.estimate(q.f(0), {q.a, q.b});
    CHECK(e.lambda_max == doctest::Approx(5.0).epsilon(1e-12));
    CHECK(e.lambda_min == doctest::Approx(-1.0).epsilon(1e-12));
    CHECK(e.trace == doctest::Approx(12.25).epsilon(1e-12));
    CHECK(e.exact_trace);
    CHECK(e.residual < 1e-12);
    CHECK(e.iterations == 6);
    CHECK(e.hvps == 6);  // no Hutchinson products when the trace is exact
    CHECK(e.size == 6);
    // Fewer steps: Ritz values lie inside the spectrum (Cauchy interlacing), the residual bounds
    // their distance to it, and Hutchinson estimates the trace.
    // (A Rademacher z has z_i^2 = 1, so the one-sample error is 2 z_1 z_2 A_12 from the one
    // off-diagonal pair: +-2.)
    probes::CurvatureProbe three(lanczos(3, 1));
    const probes::Curvature t = three.estimate(q.f(0), {q.a, q.b});
    CHECK(t.lambda_max <= 5.0 + 1e-12);
    CHECK(t.lambda_min >= -1.0 - 1e-12);
    CHECK(t.residual > 0);
    CHECK_FALSE(t.exact_trace);
    CHECK(std::abs(t.trace - 12.25) == doctest::Approx(2.0));
    CHECK(t.hvps == 3);  // the one sample is the Lanczos start's: no product of its own

    // The top eigenvalue positive and smaller in magnitude than the most negative one: a
    // shift of -3.5 on the A block gives {-4, -6, 5, 0.25, -1, 4}. The old probe reported -6 as
    // "lambda_max" (largest magnitude); both methods now give the two edges.
    const probes::Curvature s = probes::CurvatureProbe(lanczos(6)).estimate(q.f(-3.5), {q.a, q.b});
    CHECK(s.lambda_max == doctest::Approx(5.0).epsilon(1e-12));
    CHECK(s.lambda_min == doctest::Approx(-6.0).epsilon(1e-12));
    probes::CurvatureSettings power = lanczos(200);
    power.method = R::ProbeOptions::CurvatureMethod::kPower;
    power.tol = 1e-12;
    probes::CurvatureProbe pw(power);
    const probes::Curvature p = pw.estimate(q.f(-3.5), {q.a, q.b});
    CHECK(p.lambda_max == doctest::Approx(5.0).epsilon(1e-6));
    CHECK(p.lambda_min == doctest::Approx(-6.0).epsilon(1e-6));
    CHECK(p.iterations > 4);
    // Warm start: the next estimate starts from the converged eigenvectors.
    const probes::Curvature again = pw.estimate(q.f(-3.5), {q.a, q.b});
    CHECK(again.lambda_max == doctest::Approx(5.0).epsilon(1e-6));
    CHECK(again.iterations < p.iterations);

    CHECK_FALSE(q.a.grad().defined());  // autograd::grad never accumulates into .grad
    CHECK(torch::equal(rng_before, global_rng_state()));

    // Edge cases: a non-finite loss, and a loss linear in the parameters (zero Hessian).
    probes::CurvatureProbe edge(lanczos(4));
    const auto nan = edge.estimate((q.a * std::numeric_limits<double>::quiet_NaN()).sum(), {q.a});
    CHECK(std::isnan(nan.lambda_max));
    CHECK(std::isnan(nan.lambda_min));
    CHECK(std::isnan(nan.trace));
    CHECK(nan.hvps == 0);
    const auto lin = edge.estimate((3.0 * q.a).sum(), {q.a, q.b});
    CHECK(lin.lambda_max == 0.0);
    CHECK(lin.lambda_min == 0.0);
    CHECK(lin.trace == 0.0);
  }

  TEST_CASE("Curvature: an invariant subspace restarts Lanczos, so k >= n is still exact") {
    // Hessian diag(2, 2, 2, 7): two distinct eigenvalues, so every Krylov space has dimension 2
    // and Lanczos breaks down after two steps; it restarts in the orthogonal complement to
    // reach the rest of the space, and with it the exact trace.
    torch::Tensor w = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kDouble).requires_grad_(true);
    const torch::Tensor d = torch::tensor({2.0, 2.0, 2.0, 7.0}, torch::kDouble);
    probes::CurvatureProbe probe(lanczos(4));
    const probes::Curvature c = probe.estimate(0.5 * (d * w * w).sum(), {w});
    CHECK(c.lambda_max == doctest::Approx(7.0).epsilon(1e-12));
    CHECK(c.lambda_min == doctest::Approx(2.0).epsilon(1e-12));
    CHECK(c.trace == doctest::Approx(13.0).epsilon(1e-12));
    CHECK(c.exact_trace);
  }

  // --- stability ---------------------------------------------------------------------------------

  TEST_CASE("Curvature: the stability limit is where a frozen-preconditioner iteration diverges") {
    // theta -= s (a g + b m), m <- beta m + (1 - beta) g on g = theta (unit curvature, D folded
    // into s): bounded for s just below limit(), growing just above it.
    struct Rule {
      double a, b, beta;
    };
    const double mu = 0.9;
    for (const Rule& r : std::vector<Rule>{{1, 0, 0},               // gradient descent
                                           {0, 1 / (1 - mu), mu},   // heavy ball
                                           {1, mu / (1 - mu), mu},  // Nesterov
                                           {0, 1, 0.9},             // Adam's EMA
                                           {0, 1 / (1 - std::pow(0.9, 3)), 0.9},  // bias-corrected
                                           {0.04, 0.9, 0.9},                      // NAdam-like mix
                                           {0, 1 / (1 - 0.5), 0.5}}) {  // RMSprop momentum
      probes::StabilityRule rule;
      rule.a = r.a;
      rule.b = r.b;
      rule.beta = r.beta;
      const double limit = rule.limit();
      CAPTURE(r.a);
      CAPTURE(r.b);
      CAPTURE(r.beta);
      for (const double factor : {0.98, 1.02}) {
        const double s = factor * limit;
        double theta = 1, m = 0;
        for (int it = 0; it < 4000 && std::abs(theta) < 1e6; ++it) {
          const double g = theta;
          m = r.beta * m + (1 - r.beta) * g;
          theta -= s * (r.a * g + r.b * m);
        }
        if (factor < 1)
          CHECK(std::abs(theta) < 1e-3);
        else
          CHECK(std::abs(theta) > 1e3);
      }
    }
  }

  TEST_CASE("Curvature: each optimizer's rule describes the update it just applied") {
    // Theta' = theta - D (a g + b m): D, a and b read from the optimizer after its 4th step
    // reproduce that step, g being the gradient with coupled weight decay and m the
    // exponential moving average of g (SGD's buffer is m / (1 - momentum)).
    struct Case {
      std::string name;
      P::OptimizerSpec spec;
    };
    const auto spec = [](const std::string& name, double lr) {
      P::OptimizerSpec s;
      s.name = name;
      s.lr = lr;
      return s;
    };
    std::vector<Case> cases = {
        {"sgd", spec("sgd", 0.1)},         {"adam", spec("adam", 0.01)},
        {"adamw", spec("adamw", 0.01)},    {"nadam", spec("nadam", 0.01)},
        {"adamax", spec("adamax", 0.01)},  {"rmsprop", spec("rmsprop", 0.01)},
        {"adagrad", spec("adagrad", 0.1)}, {"adadelta", spec("adadelta", 1.0)}};
    Case heavy{"sgd momentum", spec("sgd", 0.1)};
    heavy.spec.momentum = 0.9;
    heavy.spec.weight_decay = 0.05;
    Case nesterov{"sgd nesterov", spec("sgd", 0.1)};
    nesterov.spec.momentum = 0.8;
    nesterov.spec.nesterov = true;
    Case adam_wd{"adam weight decay", spec("adam", 0.01)};
    adam_wd.spec.weight_decay = 0.1;
    Case adamw_wd{"adamw weight decay", spec("adamw", 0.01)};
    adamw_wd.spec.weight_decay = 0.05;
    cases.push_back(heavy);
    cases.push_back(nesterov);
    cases.push_back(adam_wd);
    cases.push_back(adamw_wd);
    for (const Case& c : cases) {
      CAPTURE(c.name);
      torch::Tensor w =
          torch::tensor({0.5, -1.0, 2.0, 0.1, -0.3}, torch::kDouble).requires_grad_(true);
      const torch::Tensor h = torch::tensor({1.0, 3.0, 0.5, 10.0, 2.0}, torch::kDouble);
      auto opt = R::make_optimizer(c.spec, {w});
      const auto rule0 = probes::stability_rule(*opt, {w});
      CHECK(rule0.ready == (c.spec.name == "sgd"));  // no preconditioner before the first step
      torch::Tensor before, g, acc_before;
      const auto adadelta = [&]() -> const R::AdadeltaParamState* {
        const auto it = opt->state().find(c10::guts::to_string(w.unsafeGetTensorImpl()));
        return it == opt->state().end()
                   ? nullptr
                   : dynamic_cast<const R::AdadeltaParamState*>(it->second.get());
      };
      for (int step = 0; step < 4; ++step) {
        opt->zero_grad();
        (0.5 * (h * w * w).sum()).backward();
        before = w.detach().clone();
        g = w.grad().detach().clone();
        if (c.spec.name != "adamw") g = g + c.spec.weight_decay * before;
        if (adadelta()) acc_before = adadelta()->acc_delta().clone();
        opt->step();
      }
      const auto rule = probes::stability_rule(*opt, {w});
      REQUIRE(rule.ready);
      CHECK(rule.optimizer == c.spec.name);
      CHECK(rule.adaptive == (c.spec.name != "sgd"));
      const torch::Tensor d =
          rule.adaptive ? rule.step[0] : torch::full({5}, rule.lr, torch::kDouble);
      torch::Tensor m = torch::zeros({5}, torch::kDouble);
      const auto found = opt->state().find(c10::guts::to_string(w.unsafeGetTensorImpl()));
      const torch::optim::OptimizerParamState* state =
          found == opt->state().end() ? nullptr : found->second.get();
      if (const auto* s = dynamic_cast<const torch::optim::SGDParamState*>(state))
        if (s->momentum_buffer().defined()) m = (1 - c.spec.momentum) * s->momentum_buffer();
      if (const auto* s = dynamic_cast<const torch::optim::AdamParamState*>(state))
        m = s->exp_avg();
      if (const auto* s = dynamic_cast<const torch::optim::AdamWParamState*>(state))
        m = s->exp_avg();
      if (const auto* s = dynamic_cast<const R::NAdamParamState*>(state)) m = s->exp_avg();
      if (const auto* s = dynamic_cast<const R::AdamaxParamState*>(state)) m = s->exp_avg();
      torch::Tensor expected = before - d * (rule.a * g + rule.b * m);
      // Adadelta's rule holds its accumulators after the step: the numerator sqrt(acc_delta +
      // eps) of the next update (the last one used the accumulator before it).
      if (adadelta()) {
        const double eps = c.spec.eps;
        expected =
            before - d * g * (acc_before + eps).sqrt() / (adadelta()->acc_delta() + eps).sqrt();
      }
      // AdamW decays the weights apart from the gradient: theta (1 - lr wd) first.
      if (c.spec.name == "adamw") expected = expected - c.spec.lr * c.spec.weight_decay * before;
      CHECK(torch::allclose(w.detach(), expected, 1e-10, 1e-12));
      CHECK(rule.weight_decay ==
            doctest::Approx(c.spec.name == "adamw" ? 0.0 : c.spec.weight_decay));
    }
  }

  // --- the exact oracle --------------------------------------------------------------------------

  TEST_CASE("Curvature: Lanczos with k >= n matches the exact Hessian of small models") {
    for (const Oracle& o : oracle_models()) {
      for (const std::string optimizer : {"adam", "sgd"}) {
        for (const bool train_mode : {false, true}) {
          CAPTURE(o.name);
          CAPTURE(optimizer);
          CAPTURE(train_mode);
          const OracleResult r = run_oracle(o, optimizer, optimizer == "adam" ? 1e-2 : 5e-2,
                                            lanczos(1000), train_mode);
          const auto& x = r.exact;
          REQUIRE(r.probe.size == x.n);
          CHECK(rel(r.probe.lambda_max, x.lambda_max) <= 1e-4);
          CHECK(rel(r.probe.lambda_min, x.lambda_min) <= 1e-4);
          CHECK(rel(r.probe.trace, x.trace) <= 1e-4);
          CHECK(rel(r.probe.stability_ratio, x.stability_ratio) <= 1e-4);
          if (optimizer == "adam")
            CHECK(rel(r.probe.precond_sharpness, x.precond_sharpness) <= 1e-4);
        }
      }
    }
  }

  TEST_CASE("Curvature: the default k = 20 against the exact Hessian of small models") {
    // The error the default k leaves on these models (measured 2026-12-05 with these seeds),
    // with all 20 steps (tol 0) and with the default early stop (tol 1e-3, 13-31 products
    // instead of 20-40): lambda_max within 6e-14 (tol 0) and 7e-9 (tol 1e-3) relative, the
    // preconditioned sharpness within 6e-13 and 2.4e-6, lambda_min within 0.17% of the spectral
    // radius (the tiny MLP; <= 2e-6 on the others), the one-sample Hutchinson trace within 1.9
    // of its standard deviations.
    // Larger models converge more slowly: `dynfault check curvature` measures them (README,
    // runtime probes).
    for (const double tol : {0.0, 1e-3}) {
      for (const Oracle& o : oracle_models()) {
        for (const std::string optimizer : {"adam", "sgd"}) {
          CAPTURE(tol);
          CAPTURE(o.name);
          CAPTURE(optimizer);
          const OracleResult r = run_oracle(o, optimizer, optimizer == "adam" ? 1e-2 : 5e-2,
                                            lanczos(20, 1, 3, tol), false);
          const auto& x = r.exact;
          REQUIRE(x.n > 20);
          const double rho = std::max(std::abs(x.lambda_max), std::abs(x.lambda_min));
          CHECK(rel(r.probe.lambda_max, x.lambda_max) <= 1e-6);
          CHECK(std::abs(r.probe.lambda_min - x.lambda_min) / rho <= 5e-3);
          // Ritz values never leave the spectrum.
          CHECK(r.probe.lambda_max <= x.lambda_max * (1 + 1e-12));
          CHECK(r.probe.lambda_min >= x.lambda_min - 1e-12 * rho);
          CHECK(std::abs(r.probe.trace - x.trace) <= 3 * x.hutchinson_sd);
          if (optimizer == "adam")
            CHECK(rel(r.probe.precond_sharpness, x.precond_sharpness) <= (tol == 0 ? 1e-6 : 1e-5));
          // Hutchinson's one sample is the Lanczos start: no product of its own.
          if (tol == 0) CHECK(r.probe.hvps == (optimizer == "adam" ? 20 + 20 : 20));
          if (tol > 0) CHECK((r.probe.residual <= tol || r.probe.iterations == 20));
        }
      }
    }
  }

  TEST_CASE("Curvature: a flipped loss, whose most negative curvature outweighs the top one") {
    // Minimising -MSE of a tanh MLP: the Hessian is minus the MSE's, so its top eigenvalue is
    // positive but smaller in magnitude than its bottom one. The earlier probe reported the
    // eigenvalue of largest magnitude, here the negative one, as lambda_max.
    const Oracle o{"flipped mse", {P::Linear(6), P::Act("tanh"), P::Linear(1)}, {3}, "mse", 0,
                   true};
    for (const bool power : {false, true}) {
      CAPTURE(power);
      probes::CurvatureSettings s = lanczos(1000);
      if (power) {
        s.method = R::ProbeOptions::CurvatureMethod::kPower;
        s.tol = 1e-14;
      }
      const OracleResult r = run_oracle(o, "sgd", 1e-2, s, false, 0, 1);
      const auto& x = r.exact;
      REQUIRE(x.lambda_max > 0);
      REQUIRE(-x.lambda_min > 1.05 * x.lambda_max);
      CHECK(rel(r.probe.lambda_max, x.lambda_max) <= (power ? 1e-3 : 1e-4));
      CHECK(rel(r.probe.lambda_min, x.lambda_min) <= (power ? 1e-3 : 1e-4));
      // SGD with momentum 0.9: ratio = lr lambda_max / (2 + 2 x 0.9).
      CHECK(r.probe.stability_ratio == doctest::Approx(1e-2 * x.lambda_max / 3.8).epsilon(1e-3));
    }
  }

  TEST_CASE("Curvature: Adam's preconditioned sharpness is not lr x lambda_max") {
    // Adam at lr 1e-4 after 10 steps: P^-1 = lr / (sqrt(v_hat) + eps) is far from lr, so the
    // sharpness Adam's update responds to differs from lambda_max by more than 10x, and from
    // the lr x lambda_max an SGD rule would use by more still.
    const OracleResult r = run_oracle(oracle_models()[0], "adam", 1e-4, lanczos(1000), false, 10);
    const auto& x = r.exact;
    REQUIRE(r.rule.adaptive);
    REQUIRE(r.rule.ready);
    CHECK(x.lambda_max / x.precond_sharpness > 10);
    CHECK(x.precond_sharpness / (1e-4 * x.lambda_max) > 10);
    CHECK(rel(r.probe.precond_sharpness, x.precond_sharpness) <= 1e-4);
    // Adam's limit after 10 steps: (2 + 2 beta1) (1 - beta1^10) / (1 - beta1).
    const double limit = 3.8 * (1 - std::pow(0.9, 10)) / 0.1;
    CHECK(r.probe.stability_ratio == doctest::Approx(x.precond_sharpness / limit).epsilon(1e-4));
    // Before its first step Adam has no preconditioner: no sharpness, no ratio (NaN).
    const OracleResult first = run_oracle(oracle_models()[0], "adam", 1e-4, lanczos(20), false, 0);
    CHECK_FALSE(first.rule.ready);
    CHECK(std::isnan(first.probe.precond_sharpness));
    CHECK(std::isnan(first.probe.stability_ratio));
    CHECK(std::isfinite(first.probe.lambda_max));
  }

  TEST_CASE("Curvature: check_curvature compares the trainer's reading with the exact Hessian") {
    // Through the trainer (float32), at a chosen step, in training mode, with k >= n: the probe
    // and the exact Hessian see the same objective (batch, mode, dropout mask), so they agree
    // to the products' rounding. iris_mlp trains with SGD, moons_mlp with Adam.
    R::CurvatureCheckOptions o;
    o.step = 5;
    o.probe.curvature_iterations = 1000;
    o.probe.curvature_tol = 0;  // no early stop: n steps
    o.probe.curvature_mode = R::ProbeOptions::CurvatureMode::kTrain;
    const auto checks = R::check_curvature({"iris_mlp", "moons_mlp"}, o);
    REQUIRE(checks.size() == 2);
    for (const auto& c : checks) {
      CAPTURE(c.program);
      REQUIRE(c.error.empty());
      CHECK(c.reference == "exact");
      CHECK(c.train_mode);
      CHECK(c.params == c.hvps / (c.optimizer == "adam" ? 2 : 1));  // k >= n: n products each
      CHECK(c.exact_trace);
      CHECK(c.lambda_max.rel() <= 1e-5);
      CHECK(c.lambda_min.rel_rho(c.rho()) <= 1e-5);
      CHECK(c.trace.rel() <= 1e-4);
      CHECK(c.stability_ratio.rel() <= 1e-5);
      CHECK(c.asymmetry < 1e-5);  // float products, nearly symmetric
    }
    CHECK(checks[1].precond_sharpness.rel() <= 1e-5);
    const std::string table = R::curvature_check_table(checks);
    CHECK(table.find("iris_mlp (sgd, step 5, train mode, 193 parameters") != std::string::npos);
    CHECK(table.find("precond_sharpness") != std::string::npos);

    // Too many parameters for the exact Hessian: a long Lanczos run is the reference, and says
    // so; a step the run never reaches is an error row, not a throw.
    o.max_exact = 100;
    o.probe.curvature_iterations = 20;
    o.step = 0;
    const auto big = R::check_curvature({"iris_mlp"}, o);
    CHECK(big[0].reference.find("lanczos k=200") == 0);
    CHECK(big[0].lambda_max.rel() <= 1e-4);
    o.step = 1000000;
    const auto late = R::check_curvature({"xor_playground"}, o);
    CHECK(late[0].error.find("no reading after 1000000 updates") == 0);
    CHECK(R::curvature_check_table(late).find("no reading") != std::string::npos);
    CHECK_THROWS_AS(R::check_curvature({"no_such_program"}, o), dynfault::Error);
  }
}
