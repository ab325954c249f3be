// Contract tests of the regularisation operators.
#include "tests/mutators/fixtures.h"

using namespace dynfault;
using namespace dynfault::test;

TEST_SUITE("mutators") {
  TEST_CASE("reg_add adds an L1, L2 or L1+L2 penalty to a program without one") {
    check_set(
        "reg_add", classifier(), Json::object(), [](Recipe& r) { r.l2 = 0.01; }, "l2: 0.0 -> 0.01",
        "already has a weight penalty (l1 0.0, l2 0.01); reg_change");
    check_set(
        "reg_add", classifier(), {{"kind", "l1_l2"}, {"strength", 0.5}},
        [](Recipe& r) { r.l1 = r.l2 = 0.5; }, "l1: 0.0 -> 0.5; l2: 0.0 -> 0.5",
        "already has a weight penalty");
  }

  TEST_CASE("reg_change changes the kind or strength of an existing penalty") {
    Recipe before = classifier();
    check_refused("reg_change", before, Json::object(), "has no weight penalty; reg_add adds one");
    before.l2 = 0.01;
    check_set(
        "reg_change", before, {{"kind", "l1"}, {"strength", 0.1}},
        [](Recipe& r) {
          r.l1 = 0.1;
          r.l2 = 0.0;
        },
        "l1: 0.0 -> 0.1; l2: 0.01 -> 0.0", "the weight penalty is already l1 0.1, l2 0.0");
  }

  TEST_CASE("reg_remove removes the penalty and applies only when there is one") {
    Recipe before = classifier();
    check_refused("reg_remove", before, Json::object(), "has no weight penalty");
    before.l1 = 0.001;
    check_set(
        "reg_remove", before, Json::object(), [](Recipe& r) { r.l1 = 0.0; }, "l1: 0.001 -> 0.0",
        "the program has no weight penalty");
  }

  TEST_CASE("weight_decay_set sets or removes the optimizer's weight decay") {
    check_set(
        "weight_decay_set", classifier(), Json::object(),
        [](Recipe& r) { r.optimizer.weight_decay = 0.1; }, "optimizer.weight_decay: 0.0001 -> 0.1",
        "the weight decay is already 0.1");
    check_set(
        "weight_decay_set", classifier(), {{"decay", 0.0}},
        [](Recipe& r) { r.optimizer.weight_decay = 0.0; }, "-> 0.0",
        "the weight decay is already 0.0");
  }

  TEST_CASE("dropout_rate_set changes DeepCrime's dropout rates, 1.0 included") {
    check_set(
        "dropout_rate_set", cnn(), {{"rate", 1.0}}, [](Recipe& r) { r.layers[10].p = 1.0; },
        "layers[10].p: 0.5 -> 1.0", "already have rate 1.0");
    check_refused("dropout_rate_set", classifier(), Json::object(),
                  "the program has no dropout layer");
    check_refused("dropout_rate_set", cnn(), {{"index", 1}},
                  "index 1 is out of range: the program has 1 dropout layer(s)");
  }

  TEST_CASE("dropout_remove removes dropout layers") {
    check_set(
        "dropout_remove", cnn(), Json::object(),
        [](Recipe& r) { r.layers.erase(r.layers.begin() + 10); },
        "removed layers[10] dropout(p=0.5)", "the program has no dropout layer");
  }

  TEST_CASE("dropout_add inserts dropout after hidden activations that lack it") {
    check_set(
        "dropout_add", classifier(), Json::object(),
        [](Recipe& r) {
          r.layers.insert(r.layers.begin() + 4, programs::Dropout(0.5));
          r.layers.insert(r.layers.begin() + 2, programs::Dropout(0.5));
        },
        "inserted dropout(p=0.5) after layers[1] act(relu); inserted dropout(p=0.5) after "
        "layers[3] act(relu)",
        "no hidden activation without dropout");
    check_set(
        "dropout_add", classifier(), {{"rate", 0.9}, {"index", 1}},
        [](Recipe& r) { r.layers.insert(r.layers.begin() + 4, programs::Dropout(0.9)); },
        "after layers[3]", "");
  }
}
