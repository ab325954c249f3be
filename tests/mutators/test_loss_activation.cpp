// Contract tests of the loss and activation operators.
#include "tests/mutators/fixtures.h"

using namespace dynfault;
using namespace dynfault::test;

TEST_SUITE("mutators") {
  TEST_CASE("loss_change swaps the loss and refuses class losses on regression programs") {
    check_set(
        "loss_change", classifier(), {{"to", "mse"}}, [](Recipe& r) { r.loss = "mse"; },
        "loss: cross_entropy -> mse", "the program already uses mse");
    check_refused("loss_change", regressor(), {{"to", "cross_entropy"}}, "regression task");
    CHECK(refusal("loss_change", regressor(), {{"to", "mae"}}).empty());
  }

  TEST_CASE("loss_mse_on_logits trains a classifier with MSE on raw outputs") {
    check_set(
        "loss_mse_on_logits", classifier(), Json::object(), [](Recipe& r) { r.loss = "mse"; },
        "loss: cross_entropy -> mse", "already computes MSE on its raw outputs");
    // An output log_softmax goes too, so the error is computed on logits.
    check_set(
        "loss_mse_on_logits", softmax_classifier(), Json::object(),
        [](Recipe& r) {
          r.loss = "mse";
          r.layers.pop_back();
        },
        "loss: nll -> mse; removed layers[5] act(log_softmax)", "already computes MSE");
    check_refused("loss_mse_on_logits", regressor(), Json::object(), "regression task");
  }

  TEST_CASE("loss_nll_on_logits drops the log_softmax NLL expects") {
    check_set(
        "loss_nll_on_logits", classifier(), Json::object(), [](Recipe& r) { r.loss = "nll"; },
        "loss: cross_entropy -> nll", "loss is nll, not cross_entropy");
    check_refused("loss_nll_on_logits", regressor(), Json::object(), "mse, not cross_entropy");
    Recipe log_softmax = softmax_classifier();
    log_softmax.loss = "cross_entropy";
    check_refused("loss_nll_on_logits", log_softmax, Json::object(), "already a log_softmax");
  }

  TEST_CASE("softmax_double appends a softmax before cross-entropy") {
    check_set(
        "softmax_double", cnn(), Json::object(),
        [](Recipe& r) { r.layers.push_back(programs::Act("softmax")); },
        "appended layers[12] act(softmax)", "already has an output softmax");
    check_refused("softmax_double", softmax_classifier(), Json::object(),
                  "loss is nll, which applies no softmax");
  }

  TEST_CASE("activation_change replaces every hidden activation, or sets the output one") {
    check_set(
        "activation_change", classifier(), {{"to", "tanh"}, {"where", "hidden"}},
        [](Recipe& r) { r.layers[1].act = r.layers[3].act = "tanh"; },
        "layers[1].act: relu -> tanh; layers[3].act: relu -> tanh",
        "no hidden activation other than tanh");
    check_set(
        "activation_change", classifier(), {{"to", "relu"}, {"where", "last"}},
        [](Recipe& r) { r.layers.push_back(programs::Act("relu")); },
        "output activation: none -> relu", "the output activation is already relu");
    // The output softmax is not a hidden activation; a last-layer swap replaces it.
    check_set(
        "activation_change", softmax_classifier(), {{"to", "sigmoid"}, {"where", "last"}},
        [](Recipe& r) { r.layers.back().act = "sigmoid"; },
        "output activation: log_softmax -> sigmoid", "already sigmoid");
    // Hidden activations inside residual bodies are hidden too.
    check_set(
        "activation_change", resnet(), {{"to", "elu"}},
        [](Recipe& r) { r.layers[1].act = r.layers[2].body[2].act = "elu"; },
        "layers[2].body[2].act: relu -> elu", "no hidden activation other than elu");
    CHECK_THROWS_AS(params_for("activation_change", {{"to", "log_softmax"}}), ConfigError);
  }

  TEST_CASE("activation_remove removes one or all hidden activations") {
    check_set(
        "activation_remove", classifier(), {{"index", 1}},
        [](Recipe& r) { r.layers.erase(r.layers.begin() + 3); }, "removed layers[3] act(relu)",
        "index 1 is out of range: the program has 1 hidden activation layer(s)");
    check_set(
        "activation_remove", classifier(), Json::object(),
        [](Recipe& r) {
          r.layers = {programs::Linear(8), programs::Linear(8), programs::Linear(3)};
        },
        "removed layers[1] act(relu); removed layers[3] act(relu)",
        "the program has no hidden activation layer");
  }

  TEST_CASE("activation_add adds an activation where a hidden layer lacks one") {
    Recipe before = classifier();
    before.layers.erase(before.layers.begin() + 1);  // Linear Linear ReLU Linear
    check_set(
        "activation_add", before, {{"act", "tanh"}},
        [](Recipe& r) { r.layers.insert(r.layers.begin() + 1, programs::Act("tanh")); },
        "inserted act(tanh) after layers[0] linear(out=8)",
        "no hidden linear/conv layer without an activation");
    // conv-BN-ReLU has its activation; the residual body's last conv (before BN) has none.
    check_set(
        "activation_add", resnet(), Json::object(),
        [](Recipe& r) {
          auto& body = r.layers[2].body;
          body.insert(body.begin() + 4, programs::Act("relu"));
        },
        "inserted act(relu) after layers[2].body[3] conv2d", "without an activation");
  }

  TEST_CASE("softmax_missing removes an output softmax and refuses programs without one") {
    check_set(
        "softmax_missing", softmax_classifier(), Json::object(),
        [](Recipe& r) { r.layers.pop_back(); }, "removed layers[5] act(log_softmax)",
        "the program has no output softmax");
    check_refused("softmax_missing", classifier(), Json::object(), "no output softmax");
  }
}
