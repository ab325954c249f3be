// Contract tests of the hyperparameter and weights operators.
#include "tests/mutators/fixtures.h"

using namespace dynfault;
using namespace dynfault::test;

TEST_SUITE("mutators") {
  TEST_CASE("batch_size_set and batching_disable change the batch size") {
    check_set(
        "batch_size_set", classifier(), Json::object(), [](Recipe& r) { r.batch_size = 512; },
        "batch_size: 32 -> 512", "the batch size is already 512");
    CHECK_THROWS_AS(params_for("batch_size_set", {{"size", 0}}), ConfigError);
    // batch_size 0 is the whole training set in one batch (DeepCrime HDB).
    check_set(
        "batching_disable", classifier(), Json::object(), [](Recipe& r) { r.batch_size = 0; },
        "batch_size: 32 -> 0", "batching is already disabled");
  }

  TEST_CASE("epochs_reduce divides the epochs, never below one") {
    Recipe before = classifier();
    before.epochs = 201;
    check_set(
        "epochs_reduce", before, {{"divisor", 20}}, [](Recipe& r) { r.epochs = 10; },
        "epochs: 201 -> 10", "");
    check_set(
        "epochs_reduce", before, {{"divisor", 500}}, [](Recipe& r) { r.epochs = 1; },
        "epochs: 201 -> 1", "already trains for one epoch");
    CHECK_THROWS_AS(params_for("epochs_reduce", {{"divisor", 1}}), ConfigError);
  }

  TEST_CASE("patience_set adds, changes or removes early stopping") {
    const Recipe tiny = check_set(
        "patience_set", classifier(), Json::object(), [](Recipe& r) { r.patience = 1; },
        "patience: 0 -> 1", "the early-stopping patience is already 1");
    check_set(
        "patience_set", tiny, {{"patience", 0}}, [](Recipe& r) { r.patience = 0; },
        "patience: 1 -> 0", "the early-stopping patience is already 0");
  }

  TEST_CASE("weights_init sets the initialiser and its scale") {
    const Recipe normal = check_set(
        "weights_init", classifier(), {{"scale", 5.0}},
        [](Recipe& r) {
          r.init = "normal";
          r.init_scale = 5.0;
        },
        "init: default -> normal; init_scale: 1.0 -> 5.0",
        "already initialises with normal at scale 5.0");
    // zeros ignores the scale, so only the initialiser changes and is recorded.
    const Recipe zeros = check_set(
        "weights_init", normal, {{"init", "zeros"}, {"scale", 2.0}},
        [](Recipe& r) { r.init = "zeros"; }, "init: normal -> zeros", "already initialises");
    CHECK(zeros.faults.back().change.find("init_scale") == std::string::npos);
    check_refused("weights_init", zeros, {{"init", "zeros"}, {"scale", 3.0}}, "already");
    CHECK_THROWS_AS(params_for("weights_init", {{"init", "he_normal"}}), ConfigError);
  }

  TEST_CASE("bias_remove removes the bias of one or all linear/conv layers") {
    const Recipe one = check_set(
        "bias_remove", classifier(), {{"index", 1}}, [](Recipe& r) { r.layers[2].bias = false; },
        "layers[2].bias: true -> false", "the selected linear/conv layers have no bias");
    check_set(
        "bias_remove", one, Json::object(),
        [](Recipe& r) {
          r.layers[0].bias = false;
          r.layers[4].bias = false;
        },
        "layers[0].bias: true -> false; layers[4].bias: true -> false", "have no bias");
    check_refused("bias_remove", classifier(), {{"index", 3}},
                  "index 3 is out of range: the program has 3 linear/conv layer(s)");
  }

  TEST_CASE("bias_add gives a bias back, including inside residual bodies") {
    Recipe before = resnet();
    before.layers[2].body[0].bias = false;
    check_set(
        "bias_add", before, Json::object(), [](Recipe& r) { r.layers[2].body[0].bias = true; },
        "layers[2].body[0].bias: false -> true", "already have a bias");
    check_refused("bias_add", programs::Recipe(), Json::object(), "no linear/conv layer");
  }
}
