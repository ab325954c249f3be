// The trainer's loop flags and regularisers, each checked by its effect on the weights or the
// loss sequence (a trainer that ignored the flag fails): L1/L2 change the weights as the penalty's
// gradient says, gradient clipping bounds the applied update, shuffle off repeats the batch
// order every epoch, train_mode off trains with dropout and batch norm in eval mode.
//
// One SGD step (no momentum) from the initial weights w0 applies w1 = w0 - lr * g; two runs that
// differ in one flag differ only in g. w0 is the model the trainer builds: the global generator
// seeded with the run seed, then build_model (trainer.cpp: "Seed first").
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "programs/recipe.h"
#include "runner/data_pipeline.h"
#include "runner/model_builder.h"
#include "runner/trainer.h"

namespace runner_test {
dynfault::programs::Recipe blobs_recipe();  // test_trainer.cpp
}  // namespace runner_test

namespace {

using dynfault::programs::Recipe;
namespace P = dynfault::programs;
namespace R = dynfault::runner;
using Weights = std::map<std::string, std::vector<float>>;
// doctest's Approx(x).epsilon(e) allows e * (scale + |x|) with scale 1 by default, an absolute
// tolerance that would pass a penalty off by a factor 2 on values of 1e-3: every check here sets
// its scale.

constexpr int64_t kSeed = 5;
constexpr double kLr = 0.1;

// The blobs program with plain SGD (no momentum) and no dropout: one step is w0 - lr * g.
Recipe sgd_recipe() {
  Recipe r = runner_test::blobs_recipe();
  r.layers = {P::Linear(16), P::Act("relu"), P::Linear(3)};
  r.optimizer.name = "sgd";
  r.optimizer.lr = kLr;
  r.optimizer.momentum = 0.0;
  return r;
}

// Parameters and buffers after `steps` optimizer steps.
Weights weights_after(const Recipe& r, int64_t steps) {
  Weights out;
  R::TrainOptions o;
  o.max_steps = steps;
  o.probes = false;
  o.on_final_weights = [&](const Weights& w) { out = w; };
  const auto result = R::train(r, kSeed, o);
  REQUIRE(result.outcome == "completed");
  REQUIRE(!out.empty());
  return out;
}

// The initial parameters of the trainer's model for kSeed.
Weights initial_weights(const Recipe& r) {
  torch::manual_seed(static_cast<uint64_t>(kSeed));
  const R::PreparedData data = R::prepare_data(r.data, static_cast<uint64_t>(kSeed));
  const R::BuiltModel built = R::build_model(r, data.train.sample_shape, data.train.integer_inputs);
  Weights out;
  for (const auto& kv : built.net->named_parameters()) {
    const torch::Tensor t = kv.value().detach().to(torch::kFloat).contiguous().reshape({-1});
    out[kv.key()] = std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }
  return out;
}

// The update one step applied, divided by the learning rate: -(w1 - w0) / lr = the gradient the
// optimizer used, over every parameter of `w0`.
std::vector<double> applied_gradient(const Weights& w0, const Weights& w1) {
  std::vector<double> g;
  for (const auto& [name, before] : w0) {
    const auto& after = w1.at(name);
    REQUIRE(after.size() == before.size());
    for (size_t i = 0; i < before.size(); ++i)
      g.push_back((static_cast<double>(before[i]) - after[i]) / kLr);
  }
  return g;
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

std::vector<double> series(const dynfault::db::RunResult& r, const std::string& key) {
  std::vector<double> v;
  for (const auto& m : r.metrics)
    if (m.key == key) v.push_back(m.value);
  return v;
}

// True when every epoch's per-step losses equal the first epoch's (relative 1e-6).
bool epochs_repeat(const std::vector<double>& losses, size_t per_epoch) {
  REQUIRE(losses.size() % per_epoch == 0);
  for (size_t i = per_epoch; i < losses.size(); ++i)
    if (std::abs(losses[i] - losses[i % per_epoch]) > 1e-6 * std::abs(losses[i % per_epoch]))
      return false;
  return true;
}

}  // namespace

TEST_SUITE("runner") {
  TEST_CASE("Trainer: L1 and L2 move each weight by the penalty's gradient, biases not at all") {
    const Recipe plain = sgd_recipe();
    const Weights w0 = initial_weights(plain);
    const Weights w_plain = weights_after(plain, 1);
    // The reconstruction of w0 is the trainer's: the plain step is small and from it.
    const std::vector<double> g = applied_gradient(w0, w_plain);
    REQUIRE(norm(g) > 0);
    REQUIRE(max_abs(g) * kLr < 0.1);

    Recipe l1 = plain;
    l1.l1 = 1e-2;
    Recipe l2 = plain;
    l2.l2 = 1e-2;
    const Weights w_l1 = weights_after(l1, 1), w_l2 = weights_after(l2, 1);
    int64_t weights_checked = 0, biases_checked = 0;
    for (const auto& [name, before] : w0) {
      CAPTURE(name);
      const bool is_bias = name.find("bias") != std::string::npos;
      for (size_t i = 0; i < before.size(); ++i) {
        // The penalty's share of the step: w1(plain) - w1(penalised) = lr * d(penalty)/dw.
        const double by_l1 = static_cast<double>(w_plain.at(name)[i]) - w_l1.at(name)[i];
        const double by_l2 = static_cast<double>(w_plain.at(name)[i]) - w_l2.at(name)[i];
        if (is_bias) {  // the penalty applies to weight matrices only
          CHECK(std::abs(by_l1) < 1e-7);
          CHECK(std::abs(by_l2) < 1e-7);
          ++biases_checked;
          continue;
        }
        const double w = before[i];
        // d/dw l1 |w| = l1 sign(w); d/dw l2 w^2 = 2 l2 w (runner/trainer.cpp penalty()).
        CHECK(by_l1 == doctest::Approx(kLr * 1e-2 * (w > 0 ? 1.0 : -1.0)).epsilon(1e-3).scale(0));
        CHECK(by_l2 == doctest::Approx(kLr * 2e-2 * w).epsilon(1e-3).scale(1e-3));
        ++weights_checked;
      }
    }
    CHECK(weights_checked > 50);
    CHECK(biases_checked > 10);
  }

  TEST_CASE("Trainer: clip_norm and clip_value bound the applied gradient") {
    const Recipe plain = sgd_recipe();
    const Weights w0 = initial_weights(plain);
    const std::vector<double> g = applied_gradient(w0, weights_after(plain, 1));
    constexpr double kNorm = 0.05, kValue = 0.01;
    // Clipping has something to do: the unclipped gradient exceeds both bounds.
    REQUIRE(norm(g) > 2 * kNorm);
    REQUIRE(max_abs(g) > 2 * kValue);

    Recipe by_norm = plain;
    by_norm.clip_norm = kNorm;
    const std::vector<double> gn = applied_gradient(w0, weights_after(by_norm, 1));
    // clip_grad_norm_ rescales the whole gradient to norm kNorm: same direction, bounded norm.
    CHECK(norm(gn) == doctest::Approx(kNorm).epsilon(1e-3).scale(0));
    const double scale = kNorm / norm(g);
    for (size_t i = 0; i < g.size(); i += 7)
      CHECK(gn[i] == doctest::Approx(g[i] * scale).epsilon(1e-2).scale(1e-3));

    Recipe by_value = plain;
    by_value.clip_value = kValue;
    const std::vector<double> gv = applied_gradient(w0, weights_after(by_value, 1));
    // clip_grad_value_ clamps each component: none beyond kValue, the large ones at it.
    CHECK(max_abs(gv) == doctest::Approx(kValue).epsilon(1e-3).scale(0));
    for (size_t i = 0; i < g.size(); ++i)
      if (std::abs(g[i]) < 0.5 * kValue)
        CHECK(gv[i] == doctest::Approx(g[i]).epsilon(1e-2).scale(1e-3));
  }

  TEST_CASE("Trainer: shuffle off trains on the same batch order every epoch") {
    // With a learning rate far below float resolution the weights stay put, so a step's loss
    // depends on its batch alone: the per-epoch loss sequences repeat exactly when the order
    // does.
    Recipe r = sgd_recipe();
    r.optimizer.lr = 1e-20;
    r.epochs = 3;
    const size_t per_epoch = 192 / 32;  // 240 samples, 20% validation, batch 32
    r.loop.shuffle = false;
    const auto fixed = series(R::train(r, kSeed, {}), "train/loss");
    REQUIRE(fixed.size() == 3 * per_epoch);
    CHECK(epochs_repeat(fixed, per_epoch));
    r.loop.shuffle = true;
    const auto shuffled = series(R::train(r, kSeed, {}), "train/loss");
    REQUIRE(shuffled.size() == 3 * per_epoch);
    CHECK_FALSE(epochs_repeat(shuffled, per_epoch));
  }

  TEST_CASE("Trainer: train_mode off keeps dropout and batch norm in eval mode") {
    Recipe r = sgd_recipe();
    r.layers = {P::Linear(16), P::BatchNorm(), P::Act("relu"), P::Dropout(0.5), P::Linear(3)};
    r.optimizer.lr = 1e-20;
    r.loop.shuffle = false;
    r.epochs = 2;
    const size_t per_epoch = 192 / 32;
    Weights eval_buffers, train_buffers;
    R::TrainOptions o;
    o.on_final_weights = [&](const Weights& w) { eval_buffers = w; };
    r.loop.train_mode = false;
    const auto eval_run = R::train(r, kSeed, o);
    // Dropout off: with fixed weights and batch order, the losses repeat epoch after epoch.
    CHECK(epochs_repeat(series(eval_run, "train/loss"), per_epoch));
    r.loop.train_mode = true;
    o.on_final_weights = [&](const Weights& w) { train_buffers = w; };
    const auto train_run = R::train(r, kSeed, o);
    CHECK_FALSE(epochs_repeat(series(train_run, "train/loss"), per_epoch));
    // Batch norm in eval mode never updates its running statistics (initially mean 0, var 1).
    int64_t checked = 0;
    for (const auto& [name, values] : eval_buffers) {
      if (name.find("running_mean") == std::string::npos) continue;
      CAPTURE(name);
      for (float v : values) CHECK(v == 0.0f);
      double moved = 0;
      for (float v : train_buffers.at(name)) moved = std::max(moved, std::abs(double(v)));
      CHECK(moved > 1e-3);  // in train mode they move
      ++checked;
    }
    CHECK(checked == 1);
  }
}
