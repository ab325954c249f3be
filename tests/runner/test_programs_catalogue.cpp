// Every catalogue program, on small data: its data have the declared shapes, its model builds
// and fits them, and 3 clean training steps give finite losses. Also the check command's
// library side: check_programs and the generated catalogue page. The full clean runs are
// `dynfault check programs` (docs/programs.md).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "common/check.h"
#include "programs/data.h"
#include "programs/registry.h"
#include "runner/check.h"
#include "runner/data_pipeline.h"
#include "runner/model_builder.h"
#include "runner/trainer.h"

namespace {

namespace P = dynfault::programs;
namespace R = dynfault::runner;

bool fashion_mnist_available() {
  return std::ifstream(P::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz").good();
}

/// The program with its data cut to a few hundred samples, so that every program's test runs in
/// well under a second.
P::Recipe small(const std::string& id) {
  P::Recipe r = P::program(id);
  r.data.train_limit = 300;
  r.data.test_limit = 100;
  return r;
}

/// Output elements per sample the task needs: the class count (1 for a binary classifier with
/// a single logit or probability), or the target's size for regression.
bool output_fits(const P::Recipe& r, const P::Dataset& d, const R::Shape& out) {
  if (out.size() != 1) return false;
  if (d.num_classes == 0) return out[0] == d.target_numel();
  return out[0] == d.num_classes || (d.num_classes == 2 && out[0] == 1 && r.task == "binary");
}

std::vector<double> series(const dynfault::db::RunResult& r, const std::string& key) {
  std::vector<double> v;
  for (const auto& m : r.metrics)
    if (m.key == key) v.push_back(m.value);
  return v;
}

}  // namespace

TEST_SUITE("runner") {
  TEST_CASE("Catalogue: every program's data, model and first 3 steps on a small subset") {
    REQUIRE(P::program_ids().size() >= 38);
    for (const std::string& id : P::program_ids()) {
      CAPTURE(id);
      const P::Recipe r = small(id);
      // scripts/setup.sh installs the data set: its absence is a failure, not a skip.
      if (r.data.name == "fashion_mnist")
        REQUIRE_MESSAGE(fashion_mnist_available(), "Fashion-MNIST is not installed in ",
                        P::fashion_mnist_dir(), " (scripts/setup.sh: dataset-fashion-mnist)");
      const R::PreparedData data = R::prepare_data(r.data, 1);
      CHECK(data.train.sample_shape == r.data.sample_shape);
      CHECK(data.test.sample_shape == r.data.sample_shape);
      CHECK(data.train.num_classes == r.data.num_classes);
      CHECK(data.train.size() > 0);
      CHECK(data.test.size() > 0);
      CHECK(data.train.size() + data.val.size() <= 300);

      const R::BuiltModel model =
          R::build_model(r, data.train.sample_shape, data.train.integer_inputs);
      CHECK(output_fits(r, data.train, model.output_shape));

      R::TrainOptions o;
      o.max_steps = 3;
      const auto result = R::train(r, /*seed=*/1, o);
      CHECK(result.outcome == "completed");
      CHECK(result.error.empty());
      const auto losses = series(result, "train/loss");
      REQUIRE(losses.size() == 3);
      for (double l : losses) CHECK(std::isfinite(l));
      CHECK(std::isfinite(series(result, "final/test_metric").at(0)));
    }
  }

  TEST_CASE("Catalogue: check_programs measures clean runs and the page reports them") {
    // Two fast programs (synthetic data): a classifier and a regression.
    const auto checks = R::check_programs({"xor_playground", "pytorch_regression"}, 3, 2);
    REQUIRE(checks.size() == 2);
    for (const auto& c : checks) {
      CAPTURE(c.id);
      CHECK(c.seeds == std::vector<int64_t>{3, 4});
      REQUIRE(c.values.size() == 2);
      CHECK(c.outcomes == std::vector<std::string>{"completed", "completed"});
      CHECK(c.min_value() <= c.max_value());
      CHECK(c.max_cpu_seconds() > 0);
      CHECK(c.max_cpu_seconds() < 30);
      CHECK(c.ok());
    }
    CHECK(checks[1].metric == "r2");

    const std::string page = R::programs_markdown(checks, "test machine");
    CHECK(page.find("dynfault check programs --seeds 2 --markdown docs/programs.md") !=
          std::string::npos);
    CHECK(page.find("test machine") != std::string::npos);
    CHECK(page.find("| xor_playground | mlp | binary | synthetic | xor |") != std::string::npos);
    CHECK(page.find("sgd, 0.03, 10, 400 | accuracy >= ") != std::string::npos);
    CHECK(page.find("seeds 3 4") != std::string::npos);

    // A program that misses its value is reported as such, and '|' never splits a cell.
    auto missed = checks;
    missed[0].satisfactory = 2.0;
    missed[0].source = "a | b";
    CHECK_FALSE(missed[0].ok());
    const std::string bad = R::programs_markdown(missed, "m");
    CHECK(bad.find("**no**") != std::string::npos);
    CHECK(bad.find("a \\| b") != std::string::npos);
    CHECK(bad.find("1 reach their satisfactory metric") != std::string::npos);
    CHECK_THROWS_AS(R::check_programs({"no_such_program"}, 1), dynfault::Error);
  }
}
