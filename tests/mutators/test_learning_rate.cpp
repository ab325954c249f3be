// Contract tests of the learning_rate and optimizer operators: each shows its documented change
// (and nothing else) on a small recipe, and refuses clearly where it does not apply.
#include "tests/mutators/fixtures.h"

using namespace dynfault;
using namespace dynfault::test;

TEST_SUITE("mutators") {
  TEST_CASE("lr_scale multiplies the learning rate and refuses factor 1") {
    const Recipe after = check_set(
        "lr_scale", classifier(), {{"factor", 100.0}}, [](Recipe& r) { r.optimizer.lr *= 100.0; },
        "optimizer.lr: 0.001 -> 0.1", "");
    CHECK(after.faults[0].params["factor"] == 100.0);
    check_refused("lr_scale", classifier(), {{"factor", 1.0}}, "factor 1 changes nothing");
    Recipe zero = classifier();
    zero.optimizer.lr = 0.0;
    check_refused("lr_scale", zero, {{"factor", 10.0}}, "no positive learning rate");
  }

  TEST_CASE("lr_set sets DeepFD's extreme learning rates and refuses the current one") {
    check_set(
        "lr_set", classifier(), {{"lr", 1e-15}}, [](Recipe& r) { r.optimizer.lr = 1e-15; },
        "optimizer.lr: 0.001 -> 1e-15", "the learning rate is already 1e-15");
    check_set(
        "lr_set", classifier(), Json::object(), [](Recipe& r) { r.optimizer.lr = 10.0; },
        "optimizer.lr: 0.001 -> 10.0", "the learning rate is already 10.0");
    CHECK_THROWS_AS(params_for("lr_set", {{"lr", 11.0}}), ConfigError);
    CHECK_THROWS_AS(params_for("lr_set", {{"lr", 1e-16}}), ConfigError);
  }

  TEST_CASE("lr_decay_set adds a fast-decaying schedule") {
    check_set(
        "lr_decay_set", classifier(), Json::object(),
        [](Recipe& r) {
          r.schedule.name = "exponential";
          r.schedule.gamma = 0.1;
        },
        "schedule.name: none -> exponential; schedule.gamma: 1.0 -> 0.1",
        "the schedule is already exponential with gamma 0.1");
    check_set(
        "lr_decay_set", classifier(), {{"schedule", "step"}, {"step_size", 3}},
        [](Recipe& r) {
          r.schedule.name = "step";
          r.schedule.gamma = 0.1;
          r.schedule.step_size = 3;
        },
        "schedule.step_size: 1 -> 3", "already step");
  }

  TEST_CASE("optimizer_change swaps the optimizer, keeps lr and weight decay, resets the rest") {
    Recipe before = classifier();
    before.optimizer.beta1 = 0.5;
    check_set(
        "optimizer_change", before, {{"to", "sgd"}},
        [](Recipe& r) {
          r.optimizer.name = "sgd";
          r.optimizer.beta1 = 0.9;
        },
        "optimizer.name: adam -> sgd; optimizer.beta1: 0.5 -> 0.9", "already uses sgd");
    check_refused("optimizer_change", before, {{"to", "adam"}}, "already uses adam");
    // SGD with momentum -> plain SGD is a change (the momentum goes).
    Recipe momentum = cnn();
    momentum.optimizer.momentum = 0.9;
    check_set(
        "optimizer_change", momentum, {{"to", "sgd"}},
        [](Recipe& r) { r.optimizer.momentum = 0.0; }, "optimizer.momentum: 0.9 -> 0.0",
        "already uses sgd");
  }

  TEST_CASE("optimizer_momentum_set sets SGD momentum and refuses momentum-free optimizers") {
    check_set(
        "optimizer_momentum_set", cnn(), {{"momentum", 0.9}, {"nesterov", true}},
        [](Recipe& r) {
          r.optimizer.momentum = 0.9;
          r.optimizer.nesterov = true;
        },
        "optimizer.momentum: 0.0 -> 0.9; optimizer.nesterov: false -> true",
        "the momentum is already 0.9");
    check_refused("optimizer_momentum_set", classifier(), Json::object(),
                  "momentum applies to sgd and rmsprop, but the program uses adam");
    check_refused("optimizer_momentum_set", cnn(), {{"momentum", 0.0}, {"nesterov", true}},
                  "needs momentum > 0");
    Recipe rms = cnn();
    rms.optimizer.name = "rmsprop";
    check_refused("optimizer_momentum_set", rms, {{"nesterov", true}}, "sgd only");
    CHECK(refusal("optimizer_momentum_set", rms).empty());
  }

  TEST_CASE("adam_eps_set changes epsilon of Adam-family optimizers only") {
    check_set(
        "adam_eps_set", classifier(), Json::object(), [](Recipe& r) { r.optimizer.eps = 1e-12; },
        "optimizer.eps: 1e-08 -> 1e-12", "the optimizer's epsilon is already 1e-12");
    check_set(
        "adam_eps_set", classifier(), {{"eps", 1.0}}, [](Recipe& r) { r.optimizer.eps = 1.0; },
        "optimizer.eps: 1e-08 -> 1.0", "already 1.0");
    check_refused("adam_eps_set", cnn(), Json::object(), "sgd is not in the Adam family");
  }

  TEST_CASE("grad_clip_norm_set and grad_clip_value_set add or change clipping") {
    check_set(
        "grad_clip_norm_set", regressor(), Json::object(), [](Recipe& r) { r.clip_norm = 1e-3; },
        "clip_norm: 0.0 -> 0.001", "the gradient clip norm is already 0.001");
    check_set(
        "grad_clip_value_set", regressor(), {{"max_value", 0.5}},
        [](Recipe& r) { r.clip_value = 0.5; }, "clip_value: 0.0 -> 0.5",
        "the gradient clip value is already 0.5");
  }

  TEST_CASE("grad_clip_remove turns clipping off and applies only when clipping is on") {
    Recipe before = regressor();
    check_refused("grad_clip_remove", before, Json::object(), "clips no gradients");
    before.clip_norm = 1.0;
    before.clip_value = 5.0;
    check_set(
        "grad_clip_remove", before, Json::object(),
        [](Recipe& r) {
          r.clip_norm = 0.0;
          r.clip_value = 0.0;
        },
        "clip_norm: 1.0 -> 0.0; clip_value: 5.0 -> 0.0", "clips no gradients");
  }
}
