// Tests of the runtime probes (runner/probes.h) against hand computation and known answers, and
// of their configuration (ProbeOptions, the campaign `probes:` key).
#include <ATen/CPUGeneratorImpl.h>
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/check.h"
#include "db/store.h"
#include "programs/registry.h"
#include "runner/campaign.h"
#include "runner/data_pipeline.h"
#include "runner/model_builder.h"
#include "runner/optimizers.h"
#include "runner/probes.h"
#include "runner/trainer.h"

namespace runner_test {
dynfault::programs::Recipe blobs_recipe();  // test_trainer.cpp
}  // namespace runner_test

namespace {

using dynfault::db::MetricPoint;
using dynfault::programs::Recipe;
using runner_test::blobs_recipe;
namespace P = dynfault::programs;
namespace R = dynfault::runner;
namespace probes = dynfault::runner::probes;

/// The recorded metrics of one probe call, by key (each key once per call).
struct Recorded {
  std::vector<MetricPoint> points;
  probes::Recorder rec{points};
  std::map<std::string, double> by_key() const {
    std::map<std::string, double> m;
    for (const auto& p : points) m[p.key] = p.value;
    return m;
  }
};

std::vector<double> series(const dynfault::db::RunResult& r, const std::string& key,
                           std::vector<int64_t>* steps = nullptr) {
  std::vector<double> v;
  for (const auto& m : r.metrics) {
    if (m.key != key) continue;
    v.push_back(m.value);
    if (steps) steps->push_back(m.step);
  }
  return v;
}

std::vector<int64_t> steps_of(const dynfault::db::RunResult& r, const std::string& key) {
  std::vector<int64_t> s;
  series(r, key, &s);
  return s;
}

/// State of the global CPU generator (initialisation, dropout): probes must never advance it.
torch::Tensor global_rng_state() { return at::detail::getDefaultCPUGenerator().get_state(); }

void set_(torch::Tensor t, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  t.copy_(value);
}

}  // namespace

TEST_SUITE("runner") {
  // --- gradients, weights, update ratios --------------------------------------------------------

  TEST_CASE("Probes: gradient and weight statistics match hand computation") {
    // w1 = [[1, -2], [0, 3]], b1 = [0, 1e-6], w2 = [[4, 0]] with hand-set gradients.
    torch::Tensor w1 = torch::tensor({{1.0f, -2.0f}, {0.0f, 3.0f}}).requires_grad_(true);
    torch::Tensor b1 = torch::tensor({0.0f, 1e-6f}).requires_grad_(true);
    torch::Tensor w2 = torch::tensor({{4.0f, 0.0f}}).requires_grad_(true);
    w1.mutable_grad() = torch::tensor({{0.0f, 0.5f}, {-1.0f, 0.0f}});
    b1.mutable_grad() = torch::tensor({2.0f, 0.0f});
    w2.mutable_grad() = torch::tensor({{0.1f, -0.2f}});
    const std::vector<probes::NamedParam> params = {{"w1", w1}, {"b1", b1}, {"w2", w2}};

    Recorded g;
    probes::record_gradients(params, g.rec, 4, 0);
    auto m = g.by_key();
    for (const auto& p : g.points) CHECK(p.step == 4);
    CHECK(m["grad/w1/norm"] == doctest::Approx(std::sqrt(1.25)));
    CHECK(m["grad/w1/mean_abs"] == doctest::Approx(0.375));
    CHECK(m["grad/w1/max_abs"] == doctest::Approx(1.0));
    CHECK(m["grad/w1/zero_frac"] == doctest::Approx(0.5));
    CHECK(m["grad/w1/nonfinite"] == 0.0);
    CHECK(m["grad/b1/norm"] == doctest::Approx(2.0));
    CHECK(m["grad/b1/zero_frac"] == doctest::Approx(0.5));
    CHECK(m["grad/w2/max_abs"] == doctest::Approx(0.2));
    CHECK(m["grad/w2/zero_frac"] == 0.0);
    // Globals: 3 exact zeros of 8 elements; first and last rank-2 tensors are w1 and w2.
    CHECK(m["grad/global_norm"] == doctest::Approx(std::sqrt(1.25 + 4 + 0.05)));
    CHECK(m["grad/zero_frac"] == doctest::Approx(3.0 / 8));
    CHECK(m["grad/nonfinite"] == 0.0);
    CHECK(m["grad/first_norm"] == doctest::Approx(std::sqrt(1.25)));
    CHECK(m["grad/last_norm"] == doctest::Approx(std::sqrt(0.05)));
    CHECK(m["grad/first_last_ratio"] == doctest::Approx(std::sqrt(1.25 / 0.05)));

    Recorded w;
    probes::record_weights(params, w.rec, 4, 0);
    m = w.by_key();
    CHECK(m["weight/w1/norm"] == doctest::Approx(std::sqrt(14.0)));
    CHECK(m["weight/w1/mean"] == doctest::Approx(0.5));
    CHECK(m["weight/w1/std"] == doctest::Approx(std::sqrt(14.0 / 4 - 0.25)));  // population std
    CHECK(m["weight/w1/max_abs"] == doctest::Approx(3.0));
    CHECK(m["weight/w1/near_zero_frac"] == doctest::Approx(0.25));
    CHECK(m["weight/b1/near_zero_frac"] == doctest::Approx(1.0));  // 0 and 1e-6 < 1e-5
    // All 8 values: 1, -2, 0, 3, 0, 1e-6, 4, 0.
    const double mean = (1 - 2 + 3 + 1e-6 + 4) / 8;
    const double sq = (1 + 4 + 9 + 1e-12 + 16) / 8.0;
    CHECK(m["weight/mean"] == doctest::Approx(mean));
    CHECK(m["weight/std"] == doctest::Approx(std::sqrt(sq - mean * mean)));
    CHECK(m["weight/max_abs"] == doctest::Approx(4.0));
    CHECK(m["weight/nonfinite"] == 0.0);

    // Non-finite gradients are counted, and the update ratio is ||W - W_before|| / ||W_before||.
    w1.mutable_grad() = torch::tensor({{NAN, 0.5f}, {INFINITY, 0.0f}});
    Recorded bad;
    probes::record_gradients(params, bad.rec, 0, 0);
    CHECK(bad.by_key()["grad/w1/nonfinite"] == 2.0);
    CHECK(bad.by_key()["grad/nonfinite"] == 2.0);

    const std::vector<torch::Tensor> before = probes::snapshot(params);
    set_(w1, torch::tensor({{1.0f, -2.0f}, {0.0f, 4.0f}}));  // moved by 1
    set_(w2, torch::tensor({{4.0f, 3.0f}}));                 // moved by 3
    Recorded u;
    probes::record_update_ratios(params, before, u.rec, 2, 0);
    m = u.by_key();
    CHECK(m["weight/w1/update_ratio"] == doctest::Approx(1 / std::sqrt(14.0)));
    CHECK(m["weight/w2/update_ratio"] == doctest::Approx(3.0 / 4));
    CHECK(m["weight/b1/update_ratio"] == 0.0);
    CHECK(m["weight/update_ratio"] == doctest::Approx(std::sqrt(10.0 / (14 + 1e-12 + 16))));
  }

  // --- optimizer state ---------------------------------------------------------------------------

  TEST_CASE("Probes: Adam moments and effective step match a manual update") {
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (const std::string name : {"adam", "adamw", "nadam"}) {
      CAPTURE(name);
      torch::Tensor p = torch::tensor({1.0, -2.0, 0.5}, torch::kDouble).requires_grad_(true);
      P::OptimizerSpec spec;
      spec.name = name;
      spec.lr = lr;
      spec.beta1 = b1;
      spec.beta2 = b2;
      spec.eps = eps;
      auto opt = R::make_optimizer(spec, {p});
      const std::vector<std::vector<double>> grads = {{0.5, -1.0, 2.0}, {0.1, 0.3, -4.0}};
      std::vector<double> m(3, 0.0), v(3, 0.0);
      for (const auto& g : grads) {
        p.mutable_grad() = torch::tensor(g, torch::kDouble);
        opt->step();
        for (size_t i = 0; i < 3; ++i) {
          m[i] = b1 * m[i] + (1 - b1) * g[i];
          v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        }
      }
      double m_norm = 0, v_norm = 0, eff = 0;
      for (size_t i = 0; i < 3; ++i) {
        m_norm += m[i] * m[i];
        v_norm += v[i] * v[i];
        eff += lr / (std::sqrt(v[i] / (1 - b2 * b2)) + eps) / 3;  // bias correction at t = 2
      }
      Recorded r;
      probes::record_optimizer(*opt, {{"p", p}}, r.rec, 1, 0);
      auto got = r.by_key();
      CHECK(got["opt/p/exp_avg_norm"] == doctest::Approx(std::sqrt(m_norm)).epsilon(1e-12));
      CHECK(got["opt/p/exp_avg_sq_norm"] == doctest::Approx(std::sqrt(v_norm)).epsilon(1e-12));
      CHECK(got["opt/p/eff_step_mean"] == doctest::Approx(eff).epsilon(1e-12));
      CHECK(got["opt/exp_avg_norm"] == got["opt/p/exp_avg_norm"]);
      CHECK(got["opt/eff_step_mean"] == got["opt/p/eff_step_mean"]);
      CHECK_FALSE(got.count("opt/momentum_norm"));
    }
  }

  TEST_CASE("Probes: momentum buffers and accumulators of the other optimizers") {
    const std::vector<double> g = {0.5, -1.0, 2.0};
    double g_norm = 0;
    for (double x : g) g_norm += x * x;
    g_norm = std::sqrt(g_norm);
    const double g_sq_norm = std::sqrt(0.5 * 0.5 * 0.5 * 0.5 + 1 + 16);  // ||g^2||
    struct Case {
      std::string name;
      double momentum;
      std::vector<std::string> keys;  // globals expected after one step
    };
    for (const Case& c : std::vector<Case>{
             {"sgd", 0.0, {}},
             {"sgd", 0.9, {"opt/momentum_norm"}},
             {"rmsprop", 0.0, {"opt/accum_norm", "opt/eff_step_mean"}},
             {"adagrad", 0.0, {"opt/accum_norm", "opt/eff_step_mean"}},
             {"adadelta", 0.0, {"opt/accum_norm", "opt/eff_step_mean"}},
             {"adamax", 0.0, {"opt/exp_avg_norm", "opt/accum_norm", "opt/eff_step_mean"}}}) {
      CAPTURE(c.name);
      CAPTURE(c.momentum);
      torch::Tensor p = torch::tensor({1.0, -2.0, 0.5}, torch::kDouble).requires_grad_(true);
      P::OptimizerSpec spec;
      spec.name = c.name;
      spec.lr = 0.01;
      spec.momentum = c.momentum;
      auto opt = R::make_optimizer(spec, {p});
      p.mutable_grad() = torch::tensor(g, torch::kDouble);
      opt->step();
      Recorded r;
      probes::record_optimizer(*opt, {{"p", p}}, r.rec, 0, 0);
      auto got = r.by_key();
      size_t globals = 0;
      for (const auto& [k, v] : got) {
        if (k.rfind("opt/p/", 0) != 0) ++globals;
        CHECK(std::isfinite(v));
      }
      CHECK(globals == c.keys.size());
      for (const auto& k : c.keys) CHECK(got.count(k));
      // After one step from zero state: SGD's buffer is g, Adagrad's sum is g^2, RMSprop's
      // square average is (1 - alpha) g^2 (alpha = Recipe rho, 0.9 by default).
      if (c.name == "sgd" && c.momentum > 0)
        CHECK(got["opt/momentum_norm"] == doctest::Approx(g_norm));
      if (c.name == "adagrad") CHECK(got["opt/accum_norm"] == doctest::Approx(g_sq_norm));
      if (c.name == "rmsprop")
        CHECK(got["opt/accum_norm"] == doctest::Approx((1 - spec.rho) * g_sq_norm));
    }
  }

  // --- activations -------------------------------------------------------------------------------

  TEST_CASE("Probes: activation statistics on a probe batch match hand computation") {
    Recipe r = blobs_recipe();
    r.layers = {P::Linear(2), P::Act("relu"), P::Linear(1), P::Act("sigmoid")};
    R::BuiltModel m = R::build_model(r, {2});
    auto ps = m.net->named_parameters();
    set_(ps["layers.0.weight"], torch::tensor({{1.0f, 0.0f}, {0.0f, -1.0f}}));
    set_(ps["layers.0.bias"], torch::zeros({2}));
    set_(ps["layers.2.weight"], torch::tensor({{1.0f, 1.0f}}));
    set_(ps["layers.2.bias"], torch::tensor({-1.0f}));
    // Pre-activations [[1, -2], [-3, -4], [6, 7]] -> relu [[1, 0], [0, 0], [6, 7]] -> linear
    // [0, -1, 12] -> sigmoid; |x| >= 5 for one of three.
    const torch::Tensor x = torch::tensor({{1.0f, 2.0f}, {-3.0f, 4.0f}, {6.0f, -7.0f}});
    m.net->train();
    probes::ActivationProbe probe(*m.net);
    CHECK_FALSE(probe.empty());
    Recorded rec;
    const torch::Tensor rng_before = global_rng_state();
    probe.record(*m.net, x, rec.rec, 3, 0);
    CHECK(torch::equal(rng_before, global_rng_state()));
    CHECK(m.net->is_training());  // mode restored
    auto got = rec.by_key();
    const std::vector<double> relu = {1, 0, 0, 0, 6, 7};
    const double relu_mean = 14.0 / 6;
    double relu_var = 0;
    for (double v : relu) relu_var += (v - relu_mean) * (v - relu_mean) / 6;
    CHECK(got["act/layers.1/mean"] == doctest::Approx(relu_mean));
    CHECK(got["act/layers.1/std"] == doctest::Approx(std::sqrt(relu_var)));
    CHECK(got["act/layers.1/dead_frac"] == doctest::Approx(0.5));
    CHECK_FALSE(got.count("act/layers.1/sat_frac"));
    const double s0 = 0.5, s1 = 1 / (1 + std::exp(1.0)), s2 = 1 / (1 + std::exp(-12.0));
    CHECK(got["act/layers.3/mean"] == doctest::Approx((s0 + s1 + s2) / 3));
    CHECK(got["act/layers.3/sat_frac"] == doctest::Approx(1.0 / 3));
    CHECK_FALSE(got.count("act/layers.3/dead_frac"));
    CHECK(got["act/dead_frac_max"] == doctest::Approx(0.5));
    CHECK(got["act/sat_frac_max"] == doctest::Approx(1.0 / 3));
    CHECK(got["act/mean_abs_max"] == doctest::Approx(relu_mean));
    CHECK(got["act/std_mean"] ==
          doctest::Approx((got["act/layers.1/std"] + got["act/layers.3/std"]) / 2));
    // Captures are cleared afterwards: a plain forward pass records nothing more.
    m.net->forward(x);
    CHECK(rec.points.size() == got.size());
  }

  TEST_CASE("Probes: a probe pass leaves batch-norm statistics, mode and the global RNG alone") {
    Recipe r = blobs_recipe();
    r.layers = {P::Conv2d(3, 3), P::BatchNorm(), P::Act("relu"), P::Dropout(0.5),
                P::Flatten(),    P::Linear(4),   P::Act("tanh"), P::Linear(2)};
    torch::manual_seed(0);
    R::BuiltModel m = R::build_model(r, {1, 6, 6});
    const torch::Tensor x = torch::randn({8, 1, 6, 6});
    const torch::Tensor y = torch::randint(0, 2, {8}, torch::kLong);
    // One training-mode pass so the running statistics are not at their initial values.
    m.net->train();
    m.net->forward(x);
    std::map<std::string, torch::Tensor> buffers;
    for (const auto& b : m.net->named_buffers()) buffers[b.key()] = b.value().clone();
    REQUIRE(buffers.count("layers.1.running_mean"));
    const torch::Tensor rng_before = global_rng_state();

    probes::ActivationProbe acts(*m.net);
    Recorded rec;
    acts.record(*m.net, x, rec.rec, 0, 0);
    probes::CurvatureSettings settings;
    settings.k = 5;
    settings.hutchinson_samples = 2;
    settings.seed = 7;
    probes::CurvatureProbe curv(settings);
    const auto objective = [&] { return torch::cross_entropy_loss(m.net->forward(x), y); };
    // Eval mode, then train mode: batch statistics and one dropout mask (drawn from the global
    // generator, which the probe puts back, as it puts back the running statistics).
    for (const bool train_mode : {false, true}) {
      const auto c = curv.measure(*m.net, train_mode, objective, m.net->parameters());
      CHECK(std::isfinite(c.lambda_max));
      CHECK(std::isfinite(c.lambda_min));
      CHECK(c.lambda_min <= c.lambda_max);
      CHECK(std::isfinite(c.trace));
      CHECK(c.iterations == 5);
    }
    CHECK(m.net->is_training());
    CHECK(torch::equal(rng_before, global_rng_state()));
    for (const auto& b : m.net->named_buffers()) {
      CAPTURE(b.key());
      CHECK(torch::equal(buffers[b.key()], b.value()));
    }
    for (const auto& p : m.net->parameters()) CHECK_FALSE(p.grad().defined());
    // The same holds in eval mode, which is restored as eval.
    m.net->eval();
    acts.record(*m.net, x, rec.rec, 1, 0);
    CHECK_FALSE(m.net->is_training());
  }

  // --- curvature ---------------------------------------------------------------------------------

  TEST_CASE("Probes: the trainer's curvature on linear regression equals 2/N [X 1]^T [X 1]") {
    // MSE of a linear model: the Hessian is 2/N A^T A with A = [X, 1], whatever the weights.
    Recipe r = blobs_recipe();
    r.family = "mlp";
    r.task = "regression";
    r.data = P::DataSpec{};
    r.data.name = "polynomial";
    r.data.params = {{"n_train", 64}, {"n_test", 16}};
    r.data.val_fraction = 0;
    r.layers = {P::Linear(1)};
    r.loss = "mse";
    r.optimizer.name = "sgd";
    r.optimizer.lr = 0.01;
    r.batch_size = 16;
    r.epochs = 2;
    R::TrainOptions o;
    o.probe = R::ProbeOptions::all();
    o.probe.probe_batch = o.probe.curvature_batch = 1000;  // the whole training set
    o.probe.curvature_iterations = 500;  // more than the parameters: Lanczos is exact
    o.probe.hutchinson_samples = 400;
    const auto result = R::train(r, 5, o);
    REQUIRE(result.outcome == "completed");
    // The power iteration, for comparison, with a tight tolerance (Hutchinson for the trace).
    o.probe.curvature_method = R::ProbeOptions::CurvatureMethod::kPower;
    o.probe.curvature_tol = 1e-9;
    const auto power = R::train(r, 5, o);
    REQUIRE(power.outcome == "completed");

    const R::PreparedData data = R::prepare_data(r.data, 5);
    const int64_t n = data.train.size(), d = data.train.sample_shape[0];
    const torch::Tensor X =
        torch::from_blob(const_cast<float*>(data.train.x.data()), {n, d}, torch::kFloat)
            .to(torch::kDouble);
    const torch::Tensor A = torch::cat({X, torch::ones({n, 1}, torch::kDouble)}, 1);
    const torch::Tensor H = A.t().mm(A) * (2.0 / static_cast<double>(n));
    const torch::Tensor eig = torch::linalg::eigvalsh(H, "L");
    const double lambda = eig.max().item<double>(), lambda_min = eig.min().item<double>();
    const double trace = H.trace().item<double>();
    // Hutchinson's variance with Rademacher vectors is 2 sum_{i != j} H_ij^2 per sample.
    const double off = (H.pow(2).sum() - H.diagonal().pow(2).sum()).item<double>();
    const double tol = 4 * std::sqrt(2 * off / 400);

    for (const auto* res : {&result, &power}) {
      const auto lambdas = series(*res, "curv/lambda_max");
      REQUIRE(lambdas.size() == 2);
      for (double l : lambdas) CHECK(l == doctest::Approx(lambda).epsilon(1e-4));
      for (double l : series(*res, "curv/lambda_min"))
        CHECK(l == doctest::Approx(lambda_min).epsilon(1e-3));
      const auto lr_lambda = series(*res, "curv/lr_lambda");
      CHECK(lr_lambda[0] == doctest::Approx(0.01 * lambdas[0]));
      // Plain SGD: the stability ratio is lr lambda_max / 2.
      const auto ratio = series(*res, "curv/stability_ratio");
      CHECK(ratio[0] == doctest::Approx(0.01 * lambdas[0] / 2));
      CHECK(series(*res, "curv/precond_sharpness").empty());  // not an adaptive optimizer
    }
    // Lanczos spans the d + 1 dimensions: its trace is exact, from d + 1 products and no
    // Hutchinson vector; the power iteration's trace is Hutchinson's.
    for (double t : series(result, "curv/trace")) CHECK(t == doctest::Approx(trace).epsilon(1e-4));
    for (double k : series(result, "curv/iterations")) CHECK(k == d + 1);
    for (double k : series(result, "curv/hvps")) CHECK(k == d + 1);
    for (double t : series(power, "curv/trace")) CHECK(std::abs(t - trace) <= tol);
    for (double k : series(power, "curv/hvps")) CHECK(k >= 400 + 2);
    // The probe's cost is recorded at the same points: the whole probe, and the part of it
    // spent in its products.
    CHECK(steps_of(power, "time/curvature_ms") == steps_of(power, "curv/lambda_max"));
    CHECK(steps_of(power, "time/curvature_hvp_ms") == steps_of(power, "curv/lambda_max"));
    const auto total = series(power, "time/curvature_ms");
    const auto hvp = series(power, "time/curvature_hvp_ms");
    REQUIRE(hvp.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
      CHECK(hvp[i] > 0);
      CHECK(total[i] >= hvp[i]);
    }
  }

  // --- cadences ---------------------------------------------------------------------------------

  TEST_CASE("Probes: cadences choose the recorded steps and epochs") {
    Recipe r = blobs_recipe();  // 192 training samples / 32 = 6 steps per epoch, 3 epochs
    R::TrainOptions o;
    o.probe = R::ProbeOptions::none();
    o.probe.gradients = R::Cadence::every_k_steps(4);
    o.probe.weights = R::Cadence::every_k_epochs(2);
    o.probe.activations = R::Cadence::every_epoch();
    o.probe.optimizer = R::Cadence::every_step();
    o.probe.curvature = R::Cadence::every_k_steps(7);
    o.probe.timing = R::Cadence::every_epoch();
    const auto res = R::train(r, 1, o);
    REQUIRE(res.outcome == "completed");
    CHECK(steps_of(res, "grad/global_norm") == std::vector<int64_t>{0, 4, 8, 12, 16});
    // Every 2 epochs, and the last epoch always.
    CHECK(steps_of(res, "weight/std") == std::vector<int64_t>{0, 2});
    CHECK(steps_of(res, "weight/update_ratio") == std::vector<int64_t>{0, 2});
    CHECK(steps_of(res, "act/layers.1/dead_frac") == std::vector<int64_t>{0, 1, 2});
    CHECK(steps_of(res, "opt/exp_avg_norm").size() == 18);
    CHECK(steps_of(res, "curv/lambda_max") == std::vector<int64_t>{0, 7, 14});
    CHECK(steps_of(res, "time/step_ms") == std::vector<int64_t>{0, 1, 2});

    R::TrainOptions off;
    off.probe = R::ProbeOptions::none();
    const auto none = R::train(r, 1, off);
    for (const auto& m : none.metrics) {
      CAPTURE(m.key);
      CHECK((m.key.rfind("epoch/", 0) == 0 || m.key.rfind("final/", 0) == 0 ||
             m.key == "train/loss"));
    }
    R::TrainOptions bad;
    bad.probe.curvature = R::Cadence::every_k_steps(0);
    CHECK_THROWS_AS(R::train(r, 1, bad), dynfault::Error);

    // max_points stretches the period of a long run: 12 epochs at most 4 points -> every 3rd
    // epoch and the last; 72 steps at most 4 points -> every 18th step.
    Recipe longer = blobs_recipe();
    longer.epochs = 12;
    R::TrainOptions capped;
    capped.probe = R::ProbeOptions::none();
    capped.probe.weights = R::Cadence::every_epoch();
    capped.probe.gradients = R::Cadence::every_step();
    capped.probe.max_points = 4;
    const auto few = R::train(longer, 1, capped);
    CHECK(steps_of(few, "weight/std") == std::vector<int64_t>{0, 3, 6, 9, 11});
    CHECK(steps_of(few, "grad/global_norm") == std::vector<int64_t>{0, 18, 36, 54});
    CHECK(R::Cadence::every_k_epochs(5).capped(12, 72, 4) == R::Cadence::every_k_epochs(5));
    CHECK(R::Cadence::every_epoch().capped(12, 72, 0) == R::Cadence::every_epoch());
  }

  TEST_CASE("Probes: early curvature readings before the updates 0, 1, 2, 4 of the first epoch") {
    Recipe r = blobs_recipe();  // 6 steps per epoch, 3 epochs
    R::TrainOptions o;
    o.probe = R::ProbeOptions::none();
    o.probe.curvature = R::Cadence::every_epoch();
    o.probe.curvature_early_steps = true;
    std::vector<int64_t> updates;
    o.on_curvature = [&](const probes::CurvatureContext& ctx) {
      CHECK(ctx.index == ctx.updates);
      updates.push_back(ctx.updates);
    };
    const auto res = R::train(r, 1, o);
    REQUIRE(res.outcome == "completed");
    // Indexed by the updates applied: before updates 0, 1, 2, 4, then after each epoch.
    const std::vector<int64_t> expected{0, 1, 2, 4, 6, 12, 18};
    CHECK(steps_of(res, "curv/lambda_max") == expected);
    CHECK(steps_of(res, "time/curvature_ms") == expected);
    CHECK(updates == expected);
    // The early readings count against the curvature cap (at most half of it, thinned evenly in
    // exponent), and the epoch cadence keeps the rest: 4 points = 0 and 2 (of 0, 1, 2, 4) +
    // every 2nd epoch and the last.
    o.probe.max_points = 4;
    CHECK(steps_of(R::train(r, 1, o), "curv/lambda_max") == std::vector<int64_t>{0, 2, 6, 18});
    CHECK(o.probe.early_curvature_steps(6, 18) == std::vector<int64_t>{0, 2});
    o.probe.max_points = 0;
    CHECK(o.probe.early_curvature_steps(100, 1000) ==
          std::vector<int64_t>{0, 1, 2, 4, 8, 16, 32, 64});
    CHECK(o.probe.early_curvature_steps(100, 3) == std::vector<int64_t>{0, 1, 2});
    // The curvature family's own cap: 8 points leave 4 early readings over 0, 1, ..., 256.
    o.probe.max_points = 50;
    o.probe.curvature_max_points = 8;
    CHECK(o.probe.early_curvature_steps(300, 1000) == std::vector<int64_t>{0, 1, 16, 256});
    // ... and 4 epoch readings, the last included: epochs 0, 33, 66 and 99.
    CHECK(o.probe.for_run(100, 30000, 300).curvature == R::Cadence::every_k_epochs(33));
    CHECK(R::Cadence::every_epoch().capped_strict(5, 50, 2) == R::Cadence::every_k_epochs(4));
    CHECK(R::Cadence::every_epoch().capped_strict(3, 30, 5) == R::Cadence::every_epoch());

    // A run that blows up in its first epoch keeps its readings from before the blow-up.
    Recipe wild = blobs_recipe();
    wild.optimizer.name = "sgd";
    wild.optimizer.lr = 1e6;
    R::TrainOptions w;
    w.probe = R::ProbeOptions::none();
    w.probe.curvature = R::Cadence::every_epoch();
    w.probe.curvature_early_steps = true;
    const auto blown = R::train(wild, 2, w);
    REQUIRE((blown.outcome == "nan_loss" || blown.outcome == "diverged"));
    const auto lambdas = series(blown, "curv/lambda_max");
    REQUIRE(!lambdas.empty());
    CHECK(steps_of(blown, "curv/lambda_max").front() == 0);
    CHECK(std::isfinite(lambdas.front()));
    CHECK(std::isfinite(series(blown, "curv/stability_ratio").front()));
    // Indices stay unique even when the run stops right after an early reading.
    auto idx = steps_of(blown, "curv/lambda_max");
    CHECK(std::adjacent_find(idx.begin(), idx.end()) == idx.end());

    // early_steps needs an epoch cadence.
    R::TrainOptions bad;
    bad.probe.curvature = R::Cadence::every_k_steps(3);
    bad.probe.curvature_early_steps = true;
    CHECK_THROWS_AS(R::train(r, 1, bad), dynfault::Error);
  }

  TEST_CASE("Probes: a nan_loss run keeps the failing step's gradients and stays FINISHED") {
    Recipe r = blobs_recipe();
    r.optimizer.name = "sgd";
    r.optimizer.lr = 1e6;
    R::TrainOptions o;
    o.probe = R::ProbeOptions::all();
    const auto res = R::train(r, 2, o);
    CHECK(res.status == "FINISHED");
    CHECK((res.outcome == "nan_loss" || res.outcome == "diverged"));
    CHECK(!series(res, "grad/global_norm").empty());
    CHECK(!series(res, "curv/lambda_max").empty());
  }
}
