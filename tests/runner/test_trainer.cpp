// Tests of the training side: model builder, losses, optimizers, data pipeline and trainer.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/check.h"
#include "programs/data.h"
#include "programs/registry.h"
#include "runner/data_pipeline.h"
#include "runner/losses.h"
#include "runner/model_builder.h"
#include "runner/optimizers.h"
#include "runner/trainer.h"

namespace runner_test {
/// A small synthetic classification program: trains in well under a second (shared with
/// test_probes.cpp, which declares it).
dynfault::programs::Recipe blobs_recipe() {
  namespace P = dynfault::programs;
  dynfault::programs::Recipe r;
  r.program = "test_blobs";
  r.family = "mlp";
  r.task = "multiclass";
  r.data.name = "blobs";
  r.data.params = {{"n_train", 240}, {"n_test", 60}};
  r.layers = {P::Linear(16), P::Act("relu"), P::Dropout(0.2), P::Linear(3)};
  r.loss = "cross_entropy";
  r.optimizer.name = "adam";
  r.optimizer.lr = 1e-2;
  r.batch_size = 32;
  r.epochs = 3;
  return r;
}
}  // namespace runner_test

namespace {

using dynfault::programs::Recipe;
using runner_test::blobs_recipe;
namespace P = dynfault::programs;
namespace R = dynfault::runner;

/// Seeds the global generator for a tensor test (PyTorch's SeedingFixture).
struct SeedGuard {
  explicit SeedGuard(uint64_t seed) { torch::manual_seed(seed); }
};

/// One tensor comparison for every test: same shape, |a - b| <= atol + rtol |b| elementwise,
/// NaN only where the other side is NaN too.
bool check_close(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol) {
  if (a.sizes() != b.sizes()) return false;
  const torch::Tensor x = a.to(torch::kDouble), y = b.to(torch::kDouble);
  const torch::Tensor nan_x = torch::isnan(x), nan_y = torch::isnan(y);
  if (!torch::equal(nan_x, nan_y)) return false;
  const torch::Tensor ok = (x - y).abs() <= atol + rtol * y.abs();
  return (ok | nan_x).all().item<bool>();
}

std::vector<double> series(const dynfault::db::RunResult& r, const std::string& key) {
  std::vector<double> v;
  for (const auto& m : r.metrics)
    if (m.key == key) v.push_back(m.value);
  return v;
}

bool has_key(const dynfault::db::RunResult& r, const std::string& key) {
  for (const auto& m : r.metrics)
    if (m.key == key) return true;
  return false;
}

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

bool fashion_mnist_available() {
  return std::ifstream(P::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz").good();
}

// One full clean run of program `id`: completed, at or above its satisfactory test metric,
// within 10 s of CPU; prints wall and CPU time (the data pipeline separately).
void check_satisfactory(const std::string& id, int64_t seed) {
  CAPTURE(id);
  CAPTURE(seed);
  const Recipe r = P::program(id);
  if (r.data.name == "fashion_mnist") REQUIRE(fashion_mnist_available());
  const std::clock_t c0 = std::clock();
  const auto t0 = std::chrono::steady_clock::now();
  R::prepare_data(r.data, static_cast<uint64_t>(seed));
  const double data_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto t1 = std::chrono::steady_clock::now();
  const std::clock_t c1 = std::clock();
  const auto result = R::train(r, seed, {});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  const double cpu_s = static_cast<double>(std::clock() - c1) / CLOCKS_PER_SEC;
  const double data_cpu_s = static_cast<double>(c1 - c0) / CLOCKS_PER_SEC;
  const auto metric = series(result, "final/test_metric");
  MESSAGE(id << " seed " << seed << ": " << result.outcome << ", " << s << " s wall, " << cpu_s
             << " s CPU (data pipeline " << data_s << " s wall, " << data_cpu_s << " s CPU), test "
             << r.provenance.metric << " " << (metric.empty() ? NAN : metric[0])
             << " (satisfactory " << r.provenance.satisfactory << ")");
  CHECK(result.outcome == "completed");
  REQUIRE(!metric.empty());
  CHECK(metric[0] >= r.provenance.satisfactory);
  CHECK(cpu_s <= 10.0);
}

torch::Tensor run(R::BuiltModel& m, const std::vector<int64_t>& shape, int64_t batch = 2) {
  std::vector<int64_t> s{batch};
  s.insert(s.end(), shape.begin(), shape.end());
  return m.net->forward(torch::randn(s));
}

}  // namespace

TEST_SUITE("runner") {
  // --- programs ---------------------------------------------------------------------------------

  TEST_CASE("Programs: every registered program builds and trains 3 clean steps") {
    REQUIRE(!P::program_ids().empty());
    for (const std::string& id : P::program_ids()) {
      CAPTURE(id);
      const Recipe r = P::program(id);
      // scripts/setup.sh installs the data set: its absence is a failure, not a skip.
      if (r.data.name == "fashion_mnist")
        REQUIRE_MESSAGE(fashion_mnist_available(), "Fashion-MNIST is not installed in ",
                        P::fashion_mnist_dir(), " (scripts/setup.sh: dataset-fashion-mnist)");
      // Every probe family, curvature included (cheap settings): no architecture may make a
      // probe throw (a missing double backward, say), which the trace would count.
      R::TrainOptions o;
      o.max_steps = 3;
      o.probe = R::ProbeOptions::all();
      o.probe.curvature_iterations = 2;
      o.probe.curvature_batch = 16;
      const auto result = R::train(r, /*seed=*/1, o);
      CHECK(result.status == "FINISHED");
      CHECK(result.outcome == "completed");
      CHECK(result.error.empty());
      const auto losses = series(result, "train/loss");
      REQUIRE(losses.size() == 3);
      for (double l : losses) CHECK(std::isfinite(l));
      CHECK(series(result, "final/test_metric").size() == 1);
      CHECK_FALSE(has_key(result, "probe/failures"));
      CHECK(!series(result, "curv/lambda_max").empty());
      CHECK(!series(result, "grad/global_norm").empty());
    }
  }

  // --- model builder ----------------------------------------------------------------------------

  TEST_CASE("Model builder: shapes are inferred by propagating the sample shape") {
    SeedGuard seed(0);
    Recipe r = blobs_recipe();
    r.layers = {P::Flatten(), P::Linear(7), P::Act("relu"), P::Linear(3)};
    R::BuiltModel m = R::build_model(r, {1, 4, 4});
    CHECK(m.output_shape == std::vector<int64_t>{3});
    auto params = m.net->named_parameters();
    REQUIRE(params.contains("layers.1.weight"));
    CHECK(params["layers.1.weight"].sizes() == torch::IntArrayRef({7, 16}));
    CHECK(params["layers.3.weight"].sizes() == torch::IntArrayRef({3, 7}));
    CHECK(run(m, {1, 4, 4}).sizes() == torch::IntArrayRef({2, 3}));

    // A mutator widening the first layer needs no other change: the next layer adapts.
    r.layers[1].out = 11;
    R::BuiltModel wide = R::build_model(r, {1, 4, 4});
    auto wide_params = wide.net->named_parameters();
    CHECK(wide_params["layers.1.weight"].sizes() == torch::IntArrayRef({11, 16}));
    CHECK(wide_params["layers.3.weight"].sizes() == torch::IntArrayRef({3, 11}));
    CHECK(run(wide, {1, 4, 4}).sizes() == torch::IntArrayRef({2, 3}));
  }

  TEST_CASE("Model builder: convolution, pooling, batchnorm, residual, recurrent, embedding") {
    SeedGuard seed(0);
    Recipe r = blobs_recipe();
    // LeNet on 28 x 28: 28 -conv5 pad2-> 28 -pool-> 14 -conv5-> 10 -pool-> 5, 16 * 5 * 5 = 400.
    r.layers = {P::Conv2d(6, 5, 1, 2), P::Act("sigmoid"), P::AvgPool2d(2, 2), P::Conv2d(16, 5),
                P::BatchNorm(),        P::MaxPool2d(2),   P::Flatten(),       P::Linear(10)};
    R::BuiltModel lenet = R::build_model(r, {1, 28, 28});
    CHECK(lenet.net->named_parameters()["layers.7.weight"].sizes() ==
          torch::IntArrayRef({10, 400}));
    CHECK(lenet.net->named_parameters().contains("layers.4.running_mean") == false);
    CHECK(lenet.net->named_buffers().contains("layers.4.running_mean"));
    CHECK(run(lenet, {1, 28, 28}).sizes() == torch::IntArrayRef({2, 10}));

    // Residual blocks: identity shortcut when shapes agree, 1x1 convolution when they do not.
    r.layers = {
        P::Conv2d(4, 3, 1, 1),
        P::Residual({P::Conv2d(4, 3, 1, 1), P::BatchNorm(), P::Act("relu"), P::Conv2d(4, 3, 1, 1)}),
        P::Residual({P::Conv2d(8, 3, 2, 1)}),
        P::AdaptiveAvgPool2d(1),
        P::Flatten(),
        P::Linear(5)};
    R::BuiltModel res = R::build_model(r, {3, 8, 8});
    CHECK(res.output_shape == std::vector<int64_t>{5});
    CHECK(res.net->named_parameters().contains("layers.2.shortcut.weight"));
    CHECK_FALSE(res.net->named_parameters().contains("layers.1.shortcut.weight"));
    CHECK(run(res, {3, 8, 8}).sizes() == torch::IntArrayRef({2, 5}));

    // Recurrent layers on {T, F}; last_step false keeps every step.
    r.layers = {P::Rnn("gru", 6, 2, /*last_step=*/false), P::Rnn("lstm", 5), P::Linear(1)};
    R::BuiltModel rnn = R::build_model(r, {7, 2});
    CHECK(rnn.output_shape == std::vector<int64_t>{1});
    CHECK(rnn.net->named_parameters().contains("layers.1.lstm.weight_ih_l0"));
    CHECK(run(rnn, {7, 2}).sizes() == torch::IntArrayRef({2, 1}));

    // Conv1d + pooling + batchnorm on {C, L}.
    r.layers = {P::Conv1d(4, 3), P::BatchNorm(), P::MaxPool1d(2), P::Flatten(), P::Linear(2)};
    R::BuiltModel c1 = R::build_model(r, {2, 10});
    CHECK(c1.net->named_parameters()["layers.4.weight"].sizes() == torch::IntArrayRef({2, 16}));

    // Embedding reads token ids.
    r.layers = {P::Embedding(20, 4), P::Rnn("rnn", 3), P::Linear(2)};
    R::BuiltModel emb = R::build_model(r, {5}, /*integer_inputs=*/true);
    CHECK(emb.net->forward(torch::randint(0, 20, {2, 5})).sizes() == torch::IntArrayRef({2, 2}));
  }

  TEST_CASE("Model builder: a layer that does not fit its input is an error naming the layer") {
    Recipe r = blobs_recipe();
    r.layers = {P::Conv2d(4, 9), P::Flatten(), P::Linear(2)};
    try {
      R::build_model(r, {1, 5, 5});
      FAIL("expected dynfault::Error");
    } catch (const dynfault::Error& e) {
      CHECK(std::string(e.what()).find("layer 0 (conv2d)") != std::string::npos);
    }
    r.layers = {P::Linear(3), P::Act("no_such_act")};
    CHECK_THROWS_AS(R::build_model(r, {4}), dynfault::Error);
    r.layers = {P::Embedding(10, 3), P::Linear(2)};
    CHECK_THROWS_AS(R::build_model(r, {4}, /*integer_inputs=*/false), dynfault::Error);
    r.layers = {P::Linear(3)};
    r.init = "no_such_init";
    CHECK_THROWS_AS(R::build_model(r, {4}), dynfault::Error);
  }

  TEST_CASE("Model builder: init and bias settings reach linear and conv weights") {
    SeedGuard seed(3);
    Recipe r = blobs_recipe();
    r.layers = {P::Conv2d(3, 3), P::Flatten(), P::Linear(4, /*bias=*/false), P::Linear(2)};
    r.init = "constant";
    r.init_scale = 0.25;
    auto p = R::build_model(r, {1, 5, 5}).net->named_parameters();
    CHECK(p.contains("layers.0.bias"));
    CHECK_FALSE(p.contains("layers.2.bias"));
    CHECK(torch::allclose(p["layers.0.weight"], torch::full({3, 1, 3, 3}, 0.25)));
    CHECK(p["layers.0.bias"].abs().sum().item<double>() == 0.0);

    r.layers = {P::Linear(400), P::Linear(300)};
    for (const std::string init :
         {"zeros", "ones", "normal", "uniform", "truncated_normal", "xavier_uniform",
          "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "lecun_normal",
          "lecun_uniform"}) {
      CAPTURE(init);
      r.init = init;
      r.init_scale = 1.0;
      const torch::Tensor w = R::build_model(r, {200}).net->named_parameters()["layers.1.weight"];
      const double std_dev = w.std().item<double>();
      const double max_abs = w.abs().max().item<double>();
      if (init == "zeros") CHECK(max_abs == 0.0);
      if (init == "ones") CHECK(w.min().item<double>() == 1.0);
      if (init == "normal") CHECK(std_dev == doctest::Approx(1.0).epsilon(0.02));
      if (init == "uniform") CHECK(max_abs <= 1.0);
      if (init == "truncated_normal") CHECK(max_abs <= 2.0);
      // fan_in 400: LeCun std 0.05, Glorot std sqrt(2 / 700), He std sqrt(2 / 400).
      if (init == "lecun_normal" || init == "lecun_uniform")
        CHECK(std_dev == doctest::Approx(0.05).epsilon(0.03));
      if (init == "xavier_uniform" || init == "xavier_normal")
        CHECK(std_dev == doctest::Approx(std::sqrt(2.0 / 700)).epsilon(0.03));
      if (init == "kaiming_uniform" || init == "kaiming_normal")
        CHECK(std_dev == doctest::Approx(std::sqrt(2.0 / 400)).epsilon(0.03));
      if (init == "orthogonal") {
        const torch::Tensor wwt = w.mm(w.t());
        CHECK(check_close(wwt, torch::eye(300), 1e-4, 1e-4));
      }
    }
  }

  TEST_CASE("Model builder: every activation builds, runs and names itself") {
    SeedGuard seed(0);
    const torch::Tensor x = torch::tensor({{-2.0f, 0.0f, 3.0f}});
    const std::map<std::string, torch::Tensor> expected = {
        {"relu", torch::relu(x)},
        {"linear", x},
        {"exponential", torch::exp(x)},
        {"hard_sigmoid", torch::hardsigmoid(x)},
        {"softsign", x / (1 + x.abs())},
        {"softmax", torch::softmax(x, 1)},
        {"log_softmax", torch::log_softmax(x, 1)},
        {"sigmoid", torch::sigmoid(x)},
        {"tanh", torch::tanh(x)},
        {"elu", torch::elu(x)},
        {"selu", torch::selu(x)},
        {"gelu", torch::gelu(x)},
        {"softplus", torch::softplus(x)},
        {"leaky_relu", torch::leaky_relu(x, 0.01)}};
    for (const auto& [name, want] : expected) {
      CAPTURE(name);
      R::Activation act(name);
      CHECK(act->kind() == name);
      CHECK(act->name() == "dynfault::Activation(" + name + ")");
      CHECK(check_close(act->forward(x), want, 1e-6, 1e-7));
    }
  }

  // --- losses -----------------------------------------------------------------------------------

  TEST_CASE("Losses: values on hand-made tensors") {
    const torch::Tensor logits = torch::tensor({{0.0f, 0.0f}, {2.0f, 0.0f}});
    const torch::Tensor cls = torch::tensor({0, 1}, torch::kLong);
    // cross_entropy: (log 2 + log(1 + e^2)) / 2.
    const double ce = (std::log(2.0) + std::log(1 + std::exp(2.0))) / 2;
    CHECK(R::compute_loss("cross_entropy", logits, cls, 2).item<double>() ==
          doctest::Approx(ce).epsilon(1e-6));
    // nll reads log-probabilities: -(x[0,0] + x[1,1]) / 2.
    CHECK(R::compute_loss("nll", logits, cls, 2).item<double>() == doctest::Approx(0.0));
    // mse on a classifier one-hots the targets: ((1 + 0) + (4 + 1)) / 4.
    CHECK(R::compute_loss("mse", logits, cls, 2).item<double>() == doctest::Approx(1.5));
    CHECK(R::compute_loss("mae", logits, cls, 2).item<double>() == doctest::Approx(1.0));
    // hinge with +-1 targets: rows (1-0, 1+0), (1+2, 1-0) -> mean of 1, 1, 3, 1.
    CHECK(R::compute_loss("hinge", logits, cls, 2).item<double>() == doctest::Approx(1.5));
    CHECK(R::compute_loss("squared_hinge", logits, cls, 2).item<double>() == doctest::Approx(3.0));
    // categorical hinge: max(0, neg - pos + 1): row 0: 0 - 0 + 1, row 1: 2 - 0 + 1.
    CHECK(R::compute_loss("categorical_hinge", logits, cls, 2).item<double>() ==
          doctest::Approx(2.0));
    // kld on probabilities [0.5, 0.5] with one-hot targets: log 2 per row (Keras clips zeros).
    const torch::Tensor probs = torch::tensor({{0.5f, 0.5f}, {0.5f, 0.5f}});
    CHECK(R::compute_loss("kld", probs, cls, 2).item<double>() ==
          doctest::Approx(std::log(2.0)).epsilon(1e-5));
    // bce on probabilities against one-hot targets: -log 0.5 everywhere.
    CHECK(R::compute_loss("bce", probs, cls, 2).item<double>() ==
          doctest::Approx(std::log(2.0)).epsilon(1e-6));
    // bce on values outside [0, 1] is clipped (Keras) instead of throwing.
    CHECK(std::isfinite(R::compute_loss("bce", logits, cls, 2).item<double>()));
    // Binary width-1 output: the class index is the target.
    const torch::Tensor one = torch::tensor({{0.0f}, {0.0f}});
    CHECK(R::compute_loss("bce_logits", one, cls, 2).item<double>() ==
          doctest::Approx(std::log(2.0)).epsilon(1e-6));

    const torch::Tensor out = torch::tensor({{2.0f}, {4.0f}});
    const torch::Tensor y = torch::tensor({{1.0f}, {5.0f}});
    CHECK(R::compute_loss("mse", out, y, 0).item<double>() == doctest::Approx(1.0));
    CHECK(R::compute_loss("huber", out, y, 0).item<double>() == doctest::Approx(0.5));
    CHECK(R::compute_loss("smooth_l1", out, y, 0).item<double>() == doctest::Approx(0.5));
    // mape: 100 * (1/1 + 1/5) / 2 = 60.
    CHECK(R::compute_loss("mape", out, y, 0).item<double>() == doctest::Approx(60.0));
    const double msle =
        (std::pow(std::log(3.0) - std::log(2.0), 2) + std::pow(std::log(5.0) - std::log(6.0), 2)) /
        2;
    CHECK(R::compute_loss("msle", out, y, 0).item<double>() == doctest::Approx(msle).epsilon(1e-5));
    CHECK(R::compute_loss("logcosh", out, y, 0).item<double>() ==
          doctest::Approx(std::log(std::cosh(1.0))).epsilon(1e-5));
    const double poisson = ((2 - std::log(2.0)) + (4 - 5 * std::log(4.0))) / 2;
    CHECK(R::compute_loss("poisson", out, y, 0).item<double>() ==
          doctest::Approx(poisson).epsilon(1e-5));
  }

  TEST_CASE("Losses: a loss that cannot apply is an error with a clear message") {
    const torch::Tensor out = torch::zeros({2, 1});
    const torch::Tensor y = torch::zeros({2, 1});
    try {
      R::compute_loss("cross_entropy", out, y, 0);
      FAIL("expected dynfault::Error");
    } catch (const dynfault::Error& e) {
      CHECK(std::string(e.what()).find("regression") != std::string::npos);
    }
    CHECK_THROWS_AS(R::compute_loss("cross_entropy", out, torch::zeros({2}, torch::kLong), 2),
                    dynfault::Error);
    CHECK_THROWS_AS(R::compute_loss("mse", torch::zeros({2, 3}), y, 0), dynfault::Error);
    CHECK_THROWS_AS(R::compute_loss("no_such_loss", out, y, 0), dynfault::Error);
  }

  TEST_CASE("Losses: metric accumulator gives accuracy and R^2") {
    R::MetricAccumulator acc("cross_entropy", true);
    acc.add(torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}}), torch::tensor({0, 0}, torch::kLong));
    acc.add(torch::tensor({{0.0f, 1.0f}}), torch::tensor({1}, torch::kLong));
    CHECK(acc.value() == doctest::Approx(2.0 / 3));
    R::MetricAccumulator r2("mse", false);
    // y = 1, 2, 3 (SS_tot 2), predictions off by 0.5, 0, 0.5 (SS_res 0.5): R^2 = 0.75.
    r2.add(torch::tensor({{1.5f}, {2.0f}}), torch::tensor({{1.0f}, {2.0f}}));
    r2.add(torch::tensor({{2.5f}}), torch::tensor({{3.0f}}));
    CHECK(r2.value() == doctest::Approx(0.75));
    CHECK(std::isnan(R::MetricAccumulator("mse", false).value()));
  }

  // --- optimizers -------------------------------------------------------------------------------

  // Each optimizer minimises f(p) = sum(c * p^2) / 2 (gradient c * p) for 3 steps on a double
  // tensor; the reference is the published update rule written out per scalar.
  struct Quadratic {
    std::vector<double> c{1.0, 2.0, 0.5}, p0{1.0, -2.0, 0.5};
  };

  std::vector<double> optimize(torch::optim::Optimizer & opt, torch::Tensor & p,
                               const std::vector<double>& c) {
    const torch::Tensor ct = torch::tensor(c, torch::kDouble);
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      (ct * p * p).sum().mul(0.5).backward();
      opt.step();
    }
    const torch::Tensor d = p.detach();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  }

  TEST_CASE("Optimizers: Adadelta follows the published update rule for 3 steps") {
    const Quadratic q;
    for (const double wd : {0.0, 0.1}) {
      CAPTURE(wd);
      const double lr = 1.0, rho = 0.9, eps = 1e-6;
      torch::Tensor p = torch::tensor(q.p0, torch::kDouble).requires_grad_(true);
      R::Adadelta opt({p}, R::AdadeltaOptions(lr).rho(rho).eps(eps).weight_decay(wd));
      const std::vector<double> got = optimize(opt, p, q.c);
      for (size_t i = 0; i < q.p0.size(); ++i) {
        // Zeiler (2012), Algorithm 1, with PyTorch's lr factor and L2 weight decay:
        // E[g^2] = rho E[g^2] + (1 - rho) g^2; dx = sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) g;
        // E[dx^2] = rho E[dx^2] + (1 - rho) dx^2; x -= lr dx.
        double x = q.p0[i], eg2 = 0, edx2 = 0;
        for (int t = 0; t < 3; ++t) {
          const double g = q.c[i] * x + wd * x;
          eg2 = rho * eg2 + (1 - rho) * g * g;
          const double dx = std::sqrt(edx2 + eps) / std::sqrt(eg2 + eps) * g;
          edx2 = rho * edx2 + (1 - rho) * dx * dx;
          x -= lr * dx;
        }
        CHECK(got[i] == doctest::Approx(x).epsilon(1e-12));
      }
      CHECK(opt.state().size() == 1);
    }
    // First step by hand for p = 1, c = 1, no decay: g = 1, E[g^2] = 0.1,
    // dx = sqrt(1e-6) / sqrt(0.1 + 1e-6) = 0.0031622619..., x = 1 - dx.
    torch::Tensor p = torch::tensor({1.0}, torch::kDouble).requires_grad_(true);
    R::Adadelta opt({p}, R::AdadeltaOptions(1.0));
    (p * p).sum().mul(0.5).backward();
    opt.step();
    CHECK(p.item<double>() == doctest::Approx(1.0 - std::sqrt(1e-6 / (0.1 + 1e-6))).epsilon(1e-12));
    CHECK(p.item<double>() == doctest::Approx(0.99683773).epsilon(1e-8));
  }

  TEST_CASE("Optimizers: Adamax follows the published update rule for 3 steps") {
    const Quadratic q;
    for (const double wd : {0.0, 0.1}) {
      CAPTURE(wd);
      const double lr = 2e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
      torch::Tensor p = torch::tensor(q.p0, torch::kDouble).requires_grad_(true);
      R::Adamax opt({p}, R::AdamaxOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd));
      const std::vector<double> got = optimize(opt, p, q.c);
      for (size_t i = 0; i < q.p0.size(); ++i) {
        // Kingma & Ba (2015), Algorithm 2 with PyTorch's eps inside the max:
        // m = b1 m + (1 - b1) g; u = max(b2 u, |g| + eps); x -= lr / (1 - b1^t) * m / u.
        double x = q.p0[i], m = 0, u = 0;
        for (int t = 1; t <= 3; ++t) {
          const double g = q.c[i] * x + wd * x;
          m = b1 * m + (1 - b1) * g;
          u = std::max(b2 * u, std::abs(g) + eps);
          x -= lr / (1 - std::pow(b1, t)) * m / u;
        }
        CHECK(got[i] == doctest::Approx(x).epsilon(1e-12));
      }
    }
    // First step by hand: m = 0.1 g, u = |g| + eps, step = lr * g / (|g| + eps) ~ lr sign(g).
    torch::Tensor p = torch::tensor({1.0, -2.0}, torch::kDouble).requires_grad_(true);
    R::Adamax opt({p}, R::AdamaxOptions(2e-3));
    (p * p).sum().mul(0.5).backward();
    opt.step();
    CHECK(p[0].item<double>() == doctest::Approx(0.998).epsilon(1e-9));
    CHECK(p[1].item<double>() == doctest::Approx(-1.998).epsilon(1e-9));
  }

  TEST_CASE("Optimizers: NAdam follows the published update rule for 3 steps") {
    const Quadratic q;
    for (const double wd : {0.0, 0.1}) {
      CAPTURE(wd);
      const double lr = 2e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, psi = 4e-3;
      torch::Tensor p = torch::tensor(q.p0, torch::kDouble).requires_grad_(true);
      R::NAdam opt({p}, R::NAdamOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd));
      const std::vector<double> got = optimize(opt, p, q.c);
      for (size_t i = 0; i < q.p0.size(); ++i) {
        // Dozat (2016) as documented for torch.optim.NAdam:
        // mu_t = b1 (1 - 0.5 * 0.96^(t psi)); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
        // m_hat = mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i);
        // v_hat = v / (1 - b2^t); x -= lr m_hat / (sqrt(v_hat) + eps).
        auto mu = [&](int t) { return b1 * (1 - 0.5 * std::pow(0.96, t * psi)); };
        double x = q.p0[i], m = 0, v = 0, prod = 1;
        for (int t = 1; t <= 3; ++t) {
          const double g = q.c[i] * x + wd * x;
          prod *= mu(t);
          const double prod_next = prod * mu(t + 1);
          m = b1 * m + (1 - b1) * g;
          v = b2 * v + (1 - b2) * g * g;
          const double m_hat = mu(t + 1) * m / (1 - prod_next) + (1 - mu(t)) * g / (1 - prod);
          const double v_hat = v / (1 - std::pow(b2, t));
          x -= lr * m_hat / (std::sqrt(v_hat) + eps);
        }
        CHECK(got[i] == doctest::Approx(x).epsilon(1e-12));
      }
    }
  }

  TEST_CASE("Optimizers: every name constructs and the learning rate can be set") {
    for (const std::string name :
         {"sgd", "adam", "adamw", "adagrad", "rmsprop", "adadelta", "adamax", "nadam"}) {
      CAPTURE(name);
      CHECK(R::is_known_optimizer(name));
      torch::Tensor p = torch::ones({2}).requires_grad_(true);
      P::OptimizerSpec spec;
      spec.name = name;
      spec.lr = 0.05;
      auto opt = R::make_optimizer(spec, {p});
      CHECK(opt->param_groups()[0].options().get_lr() == doctest::Approx(0.05));
      opt->param_groups()[0].options().set_lr(0.5);
      CHECK(opt->param_groups()[0].options().get_lr() == doctest::Approx(0.5));
      p.sum().backward();
      opt->step();
      CHECK((p < 1).all().item<bool>());
    }
    P::OptimizerSpec bad;
    bad.name = "lbfgs";
    CHECK_THROWS_AS(R::make_optimizer(bad, {torch::ones({1})}), dynfault::Error);
  }

  TEST_CASE("Optimizers: Adamax and NAdam refuse what PyTorch's constructors refuse") {
    const std::vector<torch::Tensor> ps = {torch::ones({2}).requires_grad_(true)};
    CHECK_NOTHROW(R::Adamax(ps, R::AdamaxOptions(0.0).betas({0.0, 0.999}).eps(0.0)));
    CHECK_NOTHROW(R::NAdam(ps, R::NAdamOptions(0.0).betas({0.9, 0.0}).momentum_decay(0.0)));
    const auto refused = [](auto make, const std::string& message) {
      CAPTURE(message);
      CHECK_THROWS_WITH(make(), doctest::Contains(message.c_str()));
    };
    refused([&] { R::Adamax(ps, R::AdamaxOptions(-1.0)); }, "Invalid learning rate: -1");
    refused([&] { R::Adamax(ps, R::AdamaxOptions().eps(-1e-8)); }, "Invalid epsilon value");
    refused(
        [&] {
          R::Adamax(ps, R::AdamaxOptions().betas({1.0, 0.999}));
        },
        "Invalid beta parameter at index 0: 1");
    refused(
        [&] {
          R::NAdam(ps, R::NAdamOptions().betas({0.9, -0.5}));
        },
        "Invalid beta parameter at index 1: -0.5");
    refused([&] { R::NAdam(ps, R::NAdamOptions().weight_decay(-0.1)); },
            "Invalid weight_decay value");
    refused([&] { R::NAdam(ps, R::NAdamOptions().momentum_decay(-1.0)); },
            "Invalid momentum_decay value");
  }

  // --- data pipeline ----------------------------------------------------------------------------

  TEST_CASE("Data pipeline: stratified validation, faults on the training part, normalisation") {
    P::DataSpec spec;
    spec.name = "blobs";
    spec.params = {{"n_train", 300}, {"n_test", 90}};
    spec.val_fraction = 0.2;
    const R::PreparedData clean = R::prepare_data(spec, 5);
    CHECK(clean.train.size() == 240);
    CHECK(clean.val.size() == 60);
    CHECK(clean.test.size() == 90);
    std::vector<int> val_counts(3);
    for (float y : clean.val.y) ++val_counts[static_cast<size_t>(y)];
    CHECK(val_counts == std::vector<int>{20, 20, 20});
    // Normalised with training statistics: training features have mean 0 and std 1.
    for (int f = 0; f < 2; ++f) {
      double s = 0, s2 = 0;
      for (int64_t i = 0; i < clean.train.size(); ++i) {
        const double v = clean.train.x[static_cast<size_t>(i * 2 + f)];
        s += v;
        s2 += v * v;
      }
      CHECK(s / 240 == doctest::Approx(0.0).epsilon(1e-5));
      CHECK(s2 / 240 == doctest::Approx(1.0).epsilon(1e-4));
    }

    P::DataSpec noisy = spec;
    noisy.label_noise = 0.25;
    const R::PreparedData ln = R::prepare_data(noisy, 5);
    REQUIRE(ln.train.size() == 240);
    int changed = 0;
    for (size_t i = 0; i < ln.train.y.size(); ++i) changed += ln.train.y[i] != clean.train.y[i];
    CHECK(changed == 60);
    CHECK(ln.val.y == clean.val.y);
    CHECK(ln.test.y == clean.test.y);

    P::DataSpec del = spec;
    del.delete_fraction = 0.5;
    CHECK(R::prepare_data(del, 5).train.size() == 120);

    P::DataSpec imb = spec;
    imb.imbalance = 0.9;
    const R::PreparedData im = R::prepare_data(imb, 5);
    std::vector<int> counts(3);
    for (float y : im.train.y) ++counts[static_cast<size_t>(y)];
    CHECK(counts == std::vector<int>{80, 80, 8});

    P::DataSpec scaled = spec;
    scaled.input_scale = 100;
    const R::PreparedData sc = R::prepare_data(scaled, 5);
    CHECK(sc.test.x[0] == doctest::Approx(100 * clean.test.x[0]));
    CHECK(sc.train.x[3] == doctest::Approx(100 * clean.train.x[3]));

    P::DataSpec in_noise = spec;
    in_noise.input_noise = 0.5;
    const R::PreparedData inn = R::prepare_data(in_noise, 5);
    CHECK(inn.train.x != clean.train.x);
    CHECK(inn.val.x == clean.val.x);

    P::DataSpec bad = spec;
    bad.val_fraction = 1.5;
    CHECK_THROWS_AS(R::prepare_data(bad, 5), dynfault::Error);
  }

  // --- trainer ----------------------------------------------------------------------------------

  TEST_CASE("Trainer: the same seed gives a bitwise-identical loss sequence") {
    const Recipe r = blobs_recipe();
    const auto a = R::train(r, 11, {});
    const auto b = R::train(r, 11, {});
    const auto c = R::train(r, 12, {});
    REQUIRE(a.outcome == "completed");
    CHECK(series(a, "train/loss").size() == 18);  // 192 training samples / 32 x 3 epochs
    CHECK(bitwise_equal(series(a, "train/loss"), series(b, "train/loss")));
    CHECK(bitwise_equal(series(a, "epoch/val_loss"), series(b, "epoch/val_loss")));
    CHECK(bitwise_equal(series(a, "grad/global_norm"), series(b, "grad/global_norm")));
    CHECK_FALSE(bitwise_equal(series(a, "train/loss"), series(c, "train/loss")));
  }

  TEST_CASE("Trainer: all probes on or off give bitwise-identical steps, losses and weights") {
    // An MLP with dropout, a CNN with batch norm and dropout, the LSTM program; every probe
    // family every epoch (curvature included), and once every family at step cadences.
    struct Case {
      std::string name;
      Recipe recipe;
      R::ProbeOptions probes;
    };
    std::vector<Case> cases;
    cases.push_back({"mlp", blobs_recipe(), R::ProbeOptions::all()});
    Recipe cnn = blobs_recipe();
    cnn.data.name = "digits";
    cnn.data.params = {{"as_image", 1}};
    cnn.data.train_limit = 300;
    cnn.layers = {P::Conv2d(4, 3), P::BatchNorm(), P::Act("relu"),
                  P::Dropout(0.3), P::Flatten(),   P::Linear(10)};
    cnn.epochs = 2;
    cases.push_back({"cnn", cnn, R::ProbeOptions::all()});
    Recipe lstm = P::program("lstm_sine");
    lstm.data.params["n_train"] = 160;
    lstm.data.params["n_test"] = 40;
    lstm.layers = {P::Rnn("lstm", 12, 2), P::Dropout(0.2), P::Linear(1)};
    lstm.epochs = 2;
    cases.push_back({"lstm", lstm, R::ProbeOptions::all()});
    R::ProbeOptions stepwise = R::ProbeOptions::all();
    stepwise.gradients = stepwise.weights = stepwise.activations = stepwise.optimizer =
        R::Cadence::every_step();
    stepwise.curvature = R::Cadence::every_k_steps(5);
    cases.push_back({"mlp stepwise", blobs_recipe(), stepwise});
    // Every curvature option: training mode (batch statistics, dropout masks drawn from the
    // global generator and put back), early readings in the first epoch, Lanczos and power
    // iteration, SGD with momentum and Adam.
    R::ProbeOptions train_mode = R::ProbeOptions::all();
    train_mode.curvature_mode = R::ProbeOptions::CurvatureMode::kTrain;
    train_mode.curvature_early_steps = true;
    cases.push_back({"mlp train mode", blobs_recipe(), train_mode});
    cases.push_back({"cnn train mode", cnn, train_mode});
    cases.push_back({"lstm train mode", lstm, train_mode});
    R::ProbeOptions power = train_mode;
    power.curvature_method = R::ProbeOptions::CurvatureMethod::kPower;
    Recipe sgd = cnn;
    sgd.optimizer.name = "sgd";
    sgd.optimizer.momentum = 0.9;
    cases.push_back({"cnn sgd power", sgd, power});

    for (const Case& c : cases) {
      CAPTURE(c.name);
      std::map<std::string, std::vector<float>> w_on, w_off;
      std::vector<std::string> h_on, h_off;
      R::TrainOptions on, off;
      on.probe = c.probes;
      on.on_final_weights = [&](const auto& w) { w_on = w; };
      off.on_final_weights = [&](const auto& w) { w_off = w; };
      on.on_step = [&](int64_t, const std::string& h) { h_on.push_back(h); };
      off.on_step = [&](int64_t, const std::string& h) { h_off.push_back(h); };
      off.probes = false;
      const auto a = R::train(c.recipe, 4, on);
      const auto b = R::train(c.recipe, 4, off);
      REQUIRE(a.outcome == "completed");
      REQUIRE(b.outcome == "completed");
      const bool adam = c.recipe.optimizer.name == "adam";
      for (const std::string key :
           {"grad/global_norm", "weight/std", "weight/update_ratio",
            adam ? "opt/exp_avg_norm" : "opt/momentum_norm", "curv/lambda_max", "curv/lambda_min",
            "curv/stability_ratio", "time/step_ms"}) {
        CAPTURE(key);
        CHECK(has_key(a, key));
        CHECK_FALSE(has_key(b, key));
      }
      CHECK(has_key(a, "act/std_mean") == (c.name.rfind("lstm", 0) != 0));  // none in the LSTM
      CHECK_FALSE(has_key(a, "probe/failures"));
      for (const auto& m : a.metrics)
        if (m.key == "curv/lambda_max" || m.key == "curv/lambda_min") CHECK(std::isfinite(m.value));
      if (c.probes.curvature_early_steps)  // readings before updates 0, 1, 2, 4, ...
        CHECK(series(a, "curv/lambda_max").size() > static_cast<size_t>(c.recipe.epochs) + 2);
      CHECK(bitwise_equal(series(a, "train/loss"), series(b, "train/loss")));
      CHECK(bitwise_equal(series(a, "epoch/val_loss"), series(b, "epoch/val_loss")));
      CHECK(bitwise_equal(series(a, "final/test_loss"), series(b, "final/test_loss")));
      REQUIRE(!h_on.empty());
      CHECK(h_on == h_off);  // parameters and buffers after every step
      REQUIRE(!w_on.empty());
      CHECK(w_on == w_off);
      if (c.name == "cnn") CHECK(w_on.count("layers.1.running_mean"));
    }
  }

  TEST_CASE("Trainer: the trace holds every documented metric key") {
    Recipe r = blobs_recipe();
    r.epochs = 2;
    R::TrainOptions all;
    all.probe = R::ProbeOptions::all();  // the defaults leave curvature off
    const auto result = R::train(r, 1, all);
    REQUIRE(result.outcome == "completed");
    for (const std::string key : {"train/loss",
                                  "time/step_ms",
                                  "epoch/train_loss",
                                  "epoch/train_metric",
                                  "epoch/val_loss",
                                  "epoch/val_metric",
                                  "epoch/lr",
                                  "grad/global_norm",
                                  "grad/nonfinite",
                                  "grad/first_last_ratio",
                                  "grad/first_norm",
                                  "grad/last_norm",
                                  "grad/zero_frac",
                                  "weight/nonfinite",
                                  "weight/max_abs",
                                  "weight/mean",
                                  "weight/std",
                                  "weight/update_ratio",
                                  "act/layers.1/mean",
                                  "act/layers.1/std",
                                  "act/layers.1/dead_frac",
                                  "act/dead_frac_max",
                                  "act/mean_abs_max",
                                  "act/std_mean",
                                  "opt/exp_avg_norm",
                                  "opt/exp_avg_sq_norm",
                                  "opt/eff_step_mean",
                                  "curv/lambda_max",
                                  "curv/lambda_min",
                                  "curv/trace",
                                  "curv/residual",
                                  "curv/lr_lambda",
                                  "curv/stability_ratio",
                                  "curv/precond_sharpness",
                                  "curv/iterations",
                                  "curv/hvps",
                                  "time/curvature_ms",
                                  "time/curvature_hvp_ms",
                                  "final/test_loss",
                                  "final/test_metric"}) {
      CAPTURE(key);
      CHECK(has_key(result, key));
    }
    for (const std::string param : {"layers.0.weight", "layers.0.bias", "layers.3.weight"}) {
      for (const std::string stat : {"norm", "mean_abs", "max_abs", "zero_frac", "nonfinite"})
        CHECK(has_key(result, "grad/" + param + "/" + stat));
      for (const std::string stat :
           {"norm", "mean", "std", "max_abs", "near_zero_frac", "update_ratio"})
        CHECK(has_key(result, "weight/" + param + "/" + stat));
      for (const std::string stat : {"exp_avg_norm", "exp_avg_sq_norm", "eff_step_mean"})
        CHECK(has_key(result, "opt/" + param + "/" + stat));
    }
    CHECK(series(result, "epoch/val_metric").size() == 2);
    CHECK(series(result, "final/test_metric")[0] > 0.8);  // separable blobs
    for (const auto& m : result.metrics) {
      CHECK(m.timestamp_ms >= result.start_time);
      CHECK(m.timestamp_ms <= result.end_time);
      // db::metric_key_patterns() is the contract's machine-readable copy: it knows every key.
      CAPTURE(m.key);
      CHECK(!dynfault::db::key_pattern_of(m.key).empty());
    }
  }

  TEST_CASE("Trainer: an enormous learning rate ends as nan_loss or diverged, not a throw") {
    for (const std::string opt : {"sgd", "adam"}) {
      CAPTURE(opt);
      Recipe r = blobs_recipe();
      r.optimizer.name = opt;
      r.optimizer.lr = 1e6;
      R::TrainOptions o;
      const auto result = R::train(r, 2, o);
      CHECK(result.status == "FINISHED");
      CHECK((result.outcome == "nan_loss" || result.outcome == "diverged"));
      CHECK(!series(result, "train/loss").empty());
    }
  }

  TEST_CASE("Trainer: a loss that cannot apply ends as outcome exception with the message") {
    Recipe r = P::program("lstm_sine");
    r.loss = "cross_entropy";
    const auto result = R::train(r, 1, {});
    CHECK(result.status == "FINISHED");
    CHECK(result.outcome == "exception");
    CHECK(result.error.find("regression") != std::string::npos);

    Recipe n = blobs_recipe();
    n.optimizer.name = "sgd";
    n.optimizer.nesterov = true;  // LibTorch: nesterov needs momentum
    const auto nesterov = R::train(n, 1, {});
    CHECK(nesterov.outcome == "exception");
    CHECK(!nesterov.error.empty());

    // A layer list that no longer fits its data (as kernel_change can leave it) fails to build.
    Recipe k = blobs_recipe();
    k.data.name = "digits";
    k.data.params = {{"as_image", 1}};
    k.layers = {P::Conv2d(4, 9), P::Flatten(), P::Linear(10)};
    const auto unbuildable = R::train(k, 1, {});
    CHECK(unbuildable.status == "FINISHED");
    CHECK(unbuildable.outcome == "exception");
    CHECK(unbuildable.error.find("layer 0 (conv2d)") != std::string::npos);
  }

  TEST_CASE("Trainer: an invalid recipe throws") {
    Recipe r = blobs_recipe();
    r.loss = "no_such_loss";
    CHECK_THROWS_AS(R::train(r, 1, {}), dynfault::Error);
    r = blobs_recipe();
    r.batch_size = -1;
    CHECK_THROWS_AS(R::train(r, 1, {}), dynfault::Error);
    r = blobs_recipe();
    r.data.name = "no_such_data";
    CHECK_THROWS_AS(R::train(r, 1, {}), dynfault::Error);
    r = blobs_recipe();
    r.layers.push_back(P::Residual({P::Act("no_such_act")}));
    CHECK_THROWS_AS(R::train(r, 1, {}), dynfault::Error);
    r = blobs_recipe();
    r.layers[0].type = "dense";
    CHECK_THROWS_AS(R::train(r, 1, {}), dynfault::Error);
  }

  TEST_CASE("Trainer: max_steps, timeout, early stopping and LR schedules") {
    Recipe r = blobs_recipe();
    R::TrainOptions o;
    o.max_steps = 5;
    CHECK(series(R::train(r, 1, o), "train/loss").size() == 5);

    Recipe full = blobs_recipe();
    full.batch_size = 0;  // one batch of the whole training set per epoch
    CHECK(series(R::train(full, 1, {}), "train/loss").size() == 3);

    R::TrainOptions t;
    t.timeout_s = 1e-9;
    const auto timed = R::train(r, 1, t);
    CHECK(timed.outcome == "timeout");
    CHECK(series(timed, "train/loss").size() == 1);

    // With lr 0 nothing improves: patience 2 stops after epoch 0 + 2 epochs without improvement.
    Recipe es = blobs_recipe();
    es.epochs = 10;
    es.optimizer.lr = 0;
    es.layers = {P::Linear(3)};
    es.patience = 2;
    const auto stopped = R::train(es, 1, {});
    CHECK(stopped.outcome == "completed");
    CHECK(series(stopped, "epoch/val_loss").size() == 3);

    Recipe st = blobs_recipe();
    st.epochs = 4;
    st.schedule.name = "step";
    st.schedule.step_size = 2;
    st.schedule.gamma = 0.5;
    const auto lrs = series(R::train(st, 1, {}), "epoch/lr");
    REQUIRE(lrs.size() == 4);
    CHECK(lrs[0] == doctest::Approx(1e-2));
    CHECK(lrs[1] == doctest::Approx(1e-2));
    CHECK(lrs[2] == doctest::Approx(5e-3));
    CHECK(lrs[3] == doctest::Approx(5e-3));
    st.schedule.name = "exponential";
    const auto exp_lrs = series(R::train(st, 1, {}), "epoch/lr");
    CHECK(exp_lrs[3] == doctest::Approx(1e-2 * 0.125));
  }

  TEST_CASE("Trainer: training-loop faults train and leave their mark") {
    const Recipe base = blobs_recipe();
    const auto clean = R::train(base, 3, {});

    Recipe flip = base;
    flip.loop.loss_sign_flip = true;
    const auto flipped = R::train(flip, 3, {});
    CHECK(flipped.status == "FINISHED");
    const auto fl = series(flipped, "epoch/train_loss");
    REQUIRE(!fl.empty());
    CHECK(fl.back() > series(clean, "epoch/train_loss").back());

    Recipe no_zero = base;
    no_zero.loop.zero_grad = false;
    const auto accumulated = R::train(no_zero, 3, {});
    CHECK(accumulated.status == "FINISHED");
    CHECK(series(accumulated, "grad/global_norm").back() >
          series(clean, "grad/global_norm").back());

    // train_mode, shuffle, L1/L2 and clipping: test_trainer_flags.cpp checks each one's effect.
    Recipe noisy = base;
    noisy.data.label_noise = 0.2;
    CHECK(R::train(noisy, 3, {}).outcome == "completed");

    // A regression loss on a classifier output is a fault that trains.
    Recipe mse = base;
    mse.loss = "mse";
    CHECK(R::train(mse, 3, {}).outcome == "completed");
  }

  TEST_CASE("Trainer: train_spec parses the recipe and sets the run id") {
    dynfault::db::RunSpec spec;
    spec.run_uuid = "0123456789abcdef0123456789abcdef";
    spec.seed = 2;
    spec.recipe_json = blobs_recipe().canonical();
    R::TrainOptions o;
    o.max_steps = 2;
    const auto result = R::train_spec(spec, o);
    CHECK(result.run_uuid == spec.run_uuid);
    CHECK(series(result, "train/loss").size() == 2);
    spec.recipe_json = "{not json";
    CHECK_THROWS_AS(R::train_spec(spec, o), dynfault::Error);
  }

  // Full clean runs reach their satisfactory metric. By default one seed of the fastest
  // programs (at most 0.4 CPU s each in docs/programs.md, 2026-11-27; Fashion-MNIST included);
  // every program with 3 seeds, timed, on demand:
  // `test_runner --no-skip -tc="*satisfactory metric (every program*"`.
  TEST_CASE("Programs: clean runs of the fastest programs reach their satisfactory metric") {
    for (const char* id :
         {"autotrainer_blob", "breast_cancer_mlp", "d2l_sine_mlp", "d2l_softmax_fashion",
          "digits_cnn", "digits_mlp", "digits_sgd_mlp", "fashion_mlp", "iris_mlp", "moons_mlp",
          "penguins_mlp", "pytorch_regression", "wine_logreg"})
      check_satisfactory(id, /*seed=*/1);
  }

  TEST_CASE("Programs: clean runs reach their satisfactory metric (every program, 3 seeds)" *
            doctest::skip()) {
    for (const std::string& id : P::program_ids())
      for (const int64_t seed : {1, 2, 3}) check_satisfactory(id, seed);
  }
}
