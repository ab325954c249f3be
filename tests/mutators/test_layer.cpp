// Contract tests of the layer operators: each edits the layers its `index` selects (the k-th of
// their kind in reading order, residual bodies included; -1 = all), keeps the output layer, and
// refuses clearly where no such layer exists.
#include "tests/mutators/fixtures.h"

using namespace dynfault;
using namespace dynfault::test;

TEST_SUITE("mutators") {
  TEST_CASE("layer_remove removes a hidden layer with its activation, never the output") {
    check_set(
        "layer_remove", classifier(), {{"index", 1}},
        [](Recipe& r) { r.layers.erase(r.layers.begin() + 2, r.layers.begin() + 4); },
        "removed layers[2] linear(out=8); removed layers[3] act(relu)",
        "index 1 is out of range: the program has 1 removable hidden layer(s)");
    // CNN: convolutions, pools, the dense layer and the dropout are removable; flatten is not.
    check_set(
        "layer_remove", cnn(), {{"index", 4}},
        [](Recipe& r) { r.layers.erase(r.layers.begin() + 6); },
        "removed layers[6] maxpool2d(kernel=2, stride=0)", "");
    check_refused("layer_remove", regressor(), Json::object(), "no removable hidden layer");
  }

  TEST_CASE("layer_insert inserts a dense layer and activation before a linear layer") {
    check_set(
        "layer_insert", classifier(), Json::object(),
        [](Recipe& r) {
          r.layers.insert(r.layers.begin() + 4, {programs::Linear(64), programs::Act("relu")});
        },
        "inserted linear(out=64), act(relu) before layers[4] linear(out=3)", "");
    check_set(
        "layer_insert", classifier(), {{"units", 32}, {"act", "tanh"}, {"before", 0}},
        [](Recipe& r) {
          r.layers.insert(r.layers.begin(), {programs::Linear(32), programs::Act("tanh")});
        },
        "before layers[0] linear(out=8)", "");
    check_refused("layer_insert", classifier(), {{"before", 3}},
                  "the program has 3 linear layer(s)");
    Recipe conv_out;
    conv_out.layers = {programs::Conv2d(4, 3), programs::Flatten()};
    check_refused("layer_insert", conv_out, Json::object(), "output layer is not a linear layer");
  }

  TEST_CASE("units_change resizes hidden linear layers and leaves the output alone") {
    check_set(
        "units_change", classifier(), Json::object(),
        [](Recipe& r) { r.layers[0].out = r.layers[2].out = 2; },
        "layers[0].out: 8 -> 2; layers[2].out: 8 -> 2", "already have 2 units");
    check_refused("units_change", regressor(), Json::object(), "no hidden linear layer");
  }

  TEST_CASE("filters_change and kernel_change edit convolutions") {
    check_set(
        "filters_change", cnn(), {{"filters", 1}, {"index", 1}},
        [](Recipe& r) { r.layers[3].out = 1; }, "layers[3].out: 16 -> 1", "already have 1 filters");
    check_refused("filters_change", classifier(), Json::object(), "no hidden convolution layer");
    check_set(
        "kernel_change", cnn(), Json::object(),
        [](Recipe& r) { r.layers[0].kernel = r.layers[3].kernel = 1; },
        "layers[0].kernel: 5 -> 1; layers[3].kernel: 5 -> 1", "already have kernel 1");
    check_refused("kernel_change", regressor(), Json::object(), "no convolution layer");
    CHECK_THROWS_AS(params_for("kernel_change", {{"kernel", 8}}), ConfigError);
  }

  TEST_CASE("pooling_change sets the pooling window, and a stride that followed it") {
    // MaxPool2d(2, 2), then MaxPool2d(2) whose stride 0 already means "= kernel".
    check_set(
        "pooling_change", cnn(), Json::object(),
        [](Recipe& r) {
          r.layers[2].kernel = r.layers[2].stride = 3;
          r.layers[6].kernel = 3;
        },
        "layers[2].kernel: 2 -> 3; layers[2].stride: 2 -> 3; layers[6].kernel: 2 -> 3",
        "already have size 3");
    check_refused("pooling_change", classifier(), Json::object(), "no pooling layer");
  }

  TEST_CASE("stride_change sets the stride of convolutions; stride 0 counts as 1") {
    check_set(
        "stride_change", cnn(), {{"stride", 3}, {"index", 1}},
        [](Recipe& r) { r.layers[3].stride = 3; }, "layers[3].stride: 1 -> 3",
        "already have stride 3");
    Recipe zero = cnn();
    zero.layers[0].stride = 0;
    check_refused("stride_change", zero, {{"stride", 1}, {"index", 0}}, "already have stride 1");
  }

  TEST_CASE("padding_change sets valid, same or full padding from each kernel") {
    check_set(
        "padding_change", cnn(), Json::object(), [](Recipe& r) { r.layers[0].padding = 0; },
        "layers[0].padding: 2 -> 0", "already have valid padding");
    check_set(
        "padding_change", cnn(), {{"to", "full"}},
        [](Recipe& r) { r.layers[0].padding = r.layers[3].padding = 4; },
        "layers[0].padding: 2 -> 4; layers[3].padding: 0 -> 4", "already have full padding");
    check_refused("padding_change", cnn(), {{"to", "same"}, {"index", 0}}, "already have same");
  }

  TEST_CASE("rnn_cell_swap and rnn_units_change edit recurrent layers") {
    const Recipe gru = check_set(
        "rnn_cell_swap", regressor(), Json::object(), [](Recipe& r) { r.layers[0].type = "gru"; },
        "layers[0].type: lstm -> gru", "are already gru");
    check_set(
        "rnn_cell_swap", gru, {{"to", "rnn"}}, [](Recipe& r) { r.layers[0].type = "rnn"; },
        "layers[0].type: gru -> rnn", "are already rnn");
    check_refused("rnn_cell_swap", classifier(), Json::object(), "no recurrent layer");
    check_set(
        "rnn_units_change", regressor(), Json::object(), [](Recipe& r) { r.layers[0].out = 2; },
        "layers[0].out: 16 -> 2", "already have 2 units");
    check_refused("rnn_units_change", cnn(), Json::object(), "no recurrent layer");
  }

  TEST_CASE("batchnorm_remove removes batch norm, inside residual bodies too") {
    check_set(
        "batchnorm_remove", resnet(), Json::object(),
        [](Recipe& r) {
          r.layers[2].body = {programs::Conv2d(8, 3, 1, 1), programs::Act("relu"),
                              programs::Conv2d(8, 3, 1, 1)};
        },
        "removed layers[2].body[1] batchnorm; removed layers[2].body[4] batchnorm",
        "no batch-norm layer");
    check_refused("batchnorm_remove", classifier(), Json::object(), "no batch-norm layer");
  }
}
