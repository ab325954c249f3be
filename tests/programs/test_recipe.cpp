// Tests of the Recipe contract and of every registered program's Recipe.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "common/check.h"
#include "programs/recipe.h"
#include "programs/registry.h"

namespace P = dynfault::programs;

TEST_SUITE("programs") {
  TEST_CASE("Recipe: every registered program round-trips through canonical JSON") {
    REQUIRE(!P::program_ids().empty());
    for (const std::string& id : P::program_ids()) {
      CAPTURE(id);
      const P::Recipe r = P::program(id);
      CHECK(r.program == id);
      const P::Json j = r.to_json();
      const P::Recipe back = P::Recipe::from_json(j);
      CHECK(back == r);
      CHECK(back.canonical() == r.canonical());
      CHECK(P::Recipe::from_json(P::Json::parse(r.canonical())) == r);
    }
  }

  TEST_CASE("Recipe: every program records its provenance, family and task") {
    const std::set<std::string> families{"mlp", "cnn", "rnn", "autoencoder"};
    const std::set<std::string> tasks{"multiclass", "binary", "regression"};
    for (const std::string& id : P::program_ids()) {
      CAPTURE(id);
      const P::Recipe r = P::program(id);
      CHECK(families.count(r.family) == 1);
      CHECK(tasks.count(r.task) == 1);
      CHECK(!r.provenance.source.empty());
      CHECK(!r.provenance.changes.empty());
      CHECK(r.provenance.satisfactory > 0);
      CHECK(r.faults.empty());
      CHECK(!r.layers.empty());
      if (r.task == "regression") {
        CHECK(r.provenance.metric == "r2");
        CHECK(P::is_regression_loss(r.loss));
      } else {
        CHECK(r.provenance.metric == "accuracy");
      }
    }
  }

  TEST_CASE("Recipe: the four first programs are registered") {
    for (const char* id : {"fashion_mlp", "iris_mlp", "lenet_fashion", "lstm_sine"})
      CHECK(P::has_program(id));
    CHECK(P::program("lenet_fashion").family == "cnn");
    CHECK(P::program("lstm_sine").family == "rnn");
    CHECK(P::program("lstm_sine").task == "regression");
  }

  TEST_CASE("Recipe: a changed field survives the round trip and breaks equality") {
    P::Recipe r = P::program("iris_mlp");
    P::Recipe m = r;
    m.layers[0].out = 32;
    m.data.label_noise = 0.3;
    m.optimizer.name = "nadam";
    CHECK_FALSE(m == r);
    CHECK(P::Recipe::from_json(m.to_json()) == m);
    CHECK_THROWS_AS(P::Recipe::from_json(P::Json::array()), dynfault::Error);
  }
}
