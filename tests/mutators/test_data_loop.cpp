// Contract tests of the data and training_loop operators: each sets fields of the Recipe that
// the data pipeline or the trainer honours.
#include "tests/mutators/fixtures.h"

using namespace dynfault;
using namespace dynfault::test;

TEST_SUITE("mutators") {
  TEST_CASE("label_noise relabels a share of a classifier's training labels") {
    check_set(
        "label_noise", classifier(), Json::object(), [](Recipe& r) { r.data.label_noise = 0.3; },
        "data.label_noise: 0.0 -> 0.3", "the label-noise share is already 0.3");
    check_refused("label_noise", regressor(), Json::object(), "regression task");
    CHECK_THROWS_AS(params_for("label_noise", {{"share", 1.5}}), ConfigError);
  }

  TEST_CASE("class_imbalance removes samples of half of the classes") {
    check_set(
        "class_imbalance", cnn(), {{"share", 0.5}}, [](Recipe& r) { r.data.imbalance = 0.5; },
        "data.imbalance: 0.0 -> 0.5", "the imbalance share is already 0.5");
    check_refused("class_imbalance", regressor(), Json::object(), "regression task");
  }

  TEST_CASE("data_delete deletes a share of the training data, regression included") {
    check_set(
        "data_delete", regressor(), {{"share", 0.99}},
        [](Recipe& r) { r.data.delete_fraction = 0.99; }, "data.delete_fraction: 0.0 -> 0.99",
        "the deleted share is already 0.99");
    CHECK_THROWS_AS(params_for("data_delete", {{"share", 1.0}}), ConfigError);
  }

  TEST_CASE("inputs_unnormalised turns standardisation off and scales the inputs") {
    const auto unnormalise = [](Recipe& r) {
      r.data.normalize = false;
      r.data.input_scale = 100.0;
    };
    check_set("inputs_unnormalised", classifier(), Json::object(), unnormalise,
              "data.normalize: true -> false; data.input_scale: 1.0 -> 100.0",
              "already unnormalised at scale 100.0");
    // A program that already feeds raw inputs still gets the scale.
    Recipe raw = classifier();
    raw.data.normalize = false;
    check_set("inputs_unnormalised", raw, Json::object(), unnormalise,
              "data.input_scale: 1.0 -> 100.0", "already unnormalised");
  }

  TEST_CASE("input_noise adds Gaussian noise to the training inputs") {
    check_set(
        "input_noise", cnn(), {{"std", 2.5}}, [](Recipe& r) { r.data.input_noise = 2.5; },
        "data.input_noise: 0.0 -> 2.5", "the input-noise std is already 2.5");
  }

  TEST_CASE("The loop operators flip one trainer switch and refuse a second flip") {
    check_set(
        "zero_grad_missing", classifier(), Json::object(),
        [](Recipe& r) { r.loop.zero_grad = false; }, "loop.zero_grad: true -> false",
        "already never zeroes its gradients");
    check_set(
        "loss_sign_flip", regressor(), Json::object(),
        [](Recipe& r) { r.loop.loss_sign_flip = true; }, "loop.loss_sign_flip: false -> true",
        "already ascends its loss");
    check_set(
        "shuffle_disable", classifier(), Json::object(), [](Recipe& r) { r.loop.shuffle = false; },
        "loop.shuffle: true -> false", "already trains without shuffling");
  }

  TEST_CASE("train_mode_wrong applies only to models with dropout or batch norm") {
    check_set(
        "train_mode_wrong", cnn(), Json::object(), [](Recipe& r) { r.loop.train_mode = false; },
        "loop.train_mode: true -> false", "already trains in eval mode");
    check_refused("train_mode_wrong", classifier(), Json::object(),
                  "no dropout or batch-norm layer, so train and eval mode are the same");
    // Batch norm inside a residual body counts.
    CHECK(refusal("train_mode_wrong", resnet()).empty());
  }
}
