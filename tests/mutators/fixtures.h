#pragma once
// Shared fixtures of the fault-operator tests: small recipes of each model family and the checks
// every contract test makes (the documented change and nothing else, one fault record, a clear
// refusal).
#include <doctest/doctest.h>

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "mutators/mutator.h"

namespace dynfault::test {

using mutators::Json;
using programs::Recipe;

/// Ids of operators defined only inside the test sources (test_mutators.cpp): the catalogue and
/// configs/mutators.yaml leave them out.
inline const std::set<std::string> kTestOnlyIds = {"example_epochs_double"};

/// The ten fault categories (configs/taxonomies.yaml maps them to classes).
inline const std::set<std::string> kCategories = {
    "activation", "data",      "hyperparameter", "layer",         "learning_rate",
    "loss",       "optimizer", "regularisation", "training_loop", "weights"};

/// A recipe of `family` and `task` with `layers`, `loss`, and optimizer `optimizer` at `lr`.
inline Recipe toy(const std::string& program, const std::string& family, const std::string& task,
                  std::vector<programs::Layer> layers, const std::string& loss,
                  const std::string& optimizer, double lr) {
  Recipe r;
  r.program = program;
  r.family = family;
  r.task = task;
  r.layers = std::move(layers);
  r.loss = loss;
  r.optimizer.name = optimizer;
  r.optimizer.lr = lr;
  return r;
}

/// A small classifier: Linear(8) ReLU Linear(8) ReLU Linear(3), Adam 1e-3 with weight decay
/// 1e-4, cross-entropy on logits.
inline Recipe classifier() {
  Recipe r = toy("toy", "mlp", "multiclass",
                 {programs::Linear(8), programs::Act("relu"), programs::Linear(8),
                  programs::Act("relu"), programs::Linear(3)},
                 "cross_entropy", "adam", 1e-3);
  r.optimizer.weight_decay = 1e-4;
  return r;
}

/// A classifier whose output is a log_softmax trained with nll (PyTorch's MNIST example shape).
inline Recipe softmax_classifier() {
  Recipe r = classifier();
  r.program = "toy_softmax";
  r.layers.push_back(programs::Act("log_softmax"));
  r.loss = "nll";
  return r;
}

/// A one-layer LSTM regressor: LSTM(16) Linear(1), MSE, Adam 1e-3.
inline Recipe regressor() {
  return toy("toy_reg", "rnn", "regression", {programs::Rnn("lstm", 16), programs::Linear(1)},
             "mse", "adam", 1e-3);
}

/// A LeNet-like CNN with batch norm and dropout, SGD 0.1, cross-entropy.
inline Recipe cnn() {
  return toy("toy_cnn", "cnn", "multiclass",
             {programs::Conv2d(6, 5, 1, 2), programs::Act("relu"), programs::MaxPool2d(2, 2),
              programs::Conv2d(16, 5), programs::BatchNorm(), programs::Act("relu"),
              programs::MaxPool2d(2), programs::Flatten(), programs::Linear(32),
              programs::Act("relu"), programs::Dropout(0.5), programs::Linear(10)},
             "cross_entropy", "sgd", 0.1);
}

/// A tiny ResNet: a stem convolution, one residual block (conv-BN-ReLU-conv-BN), global pooling.
inline Recipe resnet() {
  Recipe r = cnn();
  r.program = "toy_resnet";
  r.layers = {programs::Conv2d(8, 3, 1, 1),
              programs::Act("relu"),
              programs::Residual({programs::Conv2d(8, 3, 1, 1), programs::BatchNorm(),
                                  programs::Act("relu"), programs::Conv2d(8, 3, 1, 1),
                                  programs::BatchNorm()}),
              programs::AdaptiveAvgPool2d(1),
              programs::Flatten(),
              programs::Linear(10)};
  return r;
}

/// Validates `params` against the operator's schema (filling defaults).
inline Json params_for(const std::string& id, const Json& params = Json::object()) {
  return mutators::validate_params(mutators::mutator(id), params);
}

/// Applies operator `id` with `params` (validated, defaults filled) to `r`.
inline Recipe apply(const std::string& id, const Recipe& r, const Json& params = Json::object()) {
  return mutators::mutator(id).apply(r, params_for(id, params));
}

/// The operator's reason for not applying to `r` ("" when it applies).
inline std::string refusal(const std::string& id, const Recipe& r,
                           const Json& params = Json::object()) {
  return mutators::mutator(id).not_applicable(r, params_for(id, params));
}

/// Everything but the top-level fields named in `changed` must be equal (compared through JSON).
inline void check_only_changed(const Recipe& before, const Recipe& after,
                               const std::vector<std::string>& changed) {
  Json a = before.to_json(), b = after.to_json();
  for (const auto& k : changed) {
    a.erase(k);
    b.erase(k);
  }
  a.erase("faults");
  b.erase("faults");
  CHECK(a.dump() == b.dump());
}

/// Applies `id` to `before` and checks that the result is `expected` (but for the fault record,
/// compared through JSON), that exactly one fault was recorded with the operator's id, category
/// and validated parameters, and that its change text mentions every string in `mentions`.
/// Returns the mutant.
inline Recipe check_mutation(const std::string& id, const Recipe& before, const Json& params,
                             const Recipe& expected, const std::vector<std::string>& mentions) {
  REQUIRE_MESSAGE(refusal(id, before, params).empty(), refusal(id, before, params));
  const Recipe after = apply(id, before, params);
  check_only_changed(expected, after, {});
  REQUIRE(after.faults.size() == before.faults.size() + 1);
  const auto& f = after.faults.back();
  CHECK(f.mutator == id);
  CHECK(f.category == mutators::mutator(id).category());
  CHECK(f.params == params_for(id, params));
  CHECK_FALSE(f.change.empty());
  for (const auto& m : mentions) CHECK_MESSAGE(f.change.find(m) != std::string::npos, f.change);
  return after;
}

/// The contract of an operator that sets fields: on `before` with `params` it makes exactly the
/// change `change` makes to a copy, its record mentions `mention`, and on its own mutant (the same
/// parameters again) it refuses with a reason containing `no_op` ("" = the mutant may change
/// again, as a divisor does). Returns the mutant.
inline Recipe check_set(const std::string& id, const Recipe& before, const Json& params,
                        const std::function<void(Recipe&)>& change, const std::string& mention,
                        const std::string& no_op) {
  Recipe expected = before;
  change(expected);
  const Recipe after = check_mutation(id, before, params, expected, {mention});
  if (!no_op.empty()) {
    const std::string why = refusal(id, after, params);
    CHECK_MESSAGE(why.find(no_op) != std::string::npos, "reason: '", why, "'");
  }
  return after;
}

/// Checks that `id` refuses `r` with a reason containing `reason`, and that apply() throws.
inline void check_refused(const std::string& id, const Recipe& r, const Json& params,
                          const std::string& reason) {
  const std::string why = refusal(id, r, params);
  CHECK_MESSAGE(why.find(reason) != std::string::npos, "reason: '", why, "'");
  CHECK_THROWS_AS(apply(id, r, params), Error);
}

}  // namespace dynfault::test
