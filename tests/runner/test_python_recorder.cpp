// The Python recorder (python/dynfault_recorder.py) against the C++ runner: the catalogue
// program moons_mlp is trained by runner::train and by tests/python/roundtrip_moons.py from the
// same data and initial weights, every deterministic probe family on (gradients, weights and
// update ratios, Adam state, activations on the whole training set; curvature draws random
// vectors, so it is left out), and both traces must agree point by point and give the same
// features, within 1e-9 relative (measured: see the MESSAGE lines).
//
// Skipped, with a message, where no python3 can import torch (Debian: python3-torch, which
// scripts/setup.sh installs).
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "db/trace_diff.h"
#include "features/feature_set.h"
#include "features/trace_csv.h"
#include "programs/registry.h"
#include "runner/data_pipeline.h"
#include "runner/model_builder.h"
#include "runner/trainer.h"

namespace fs = std::filesystem;
namespace P = dynfault::programs;
namespace R = dynfault::runner;
using namespace dynfault;

namespace {

/// A python3 that imports torch: Debian's first (a user's pyenv shim may lack it), "" if none.
std::string python_with_torch() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    const std::string cmd = std::string(py) + " -c 'import torch' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

void write_floats(const fs::path& path, const std::vector<float>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(float)));
  REQUIRE(out.good());
}

std::string shape_json(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

bool close(double a, double b, double rel) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= rel * std::max({std::fabs(a), std::fabs(b), 1e-12});
}

}  // namespace

TEST_SUITE("runner") {
  TEST_CASE("Python recorder: moons_mlp trained in Python and by dynfault gives the same trace") {
    const std::string py = python_with_torch();
    if (py.empty()) {
      MESSAGE(
          "SKIPPED: no python3 with torch (apt-get install python3-torch); the Python "
          "recorder round trip was not run");
      return;
    }
    const fs::path dir =
        fs::temp_directory_path() / ("dynfault-pyrec-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    P::Recipe recipe = P::program("moons_mlp");
    recipe.epochs = 30;           // of 400: enough epochs for every statistic, a fast test
    recipe.loop.shuffle = false;  // one full batch either way; keeps the summation order
    const int64_t seed = 3;

    // What train() does before its first step: seed, data, model (runner/trainer.cpp).
    torch::manual_seed(static_cast<uint64_t>(seed));
    const R::PreparedData data = R::prepare_data(recipe.data, static_cast<uint64_t>(seed));
    const R::BuiltModel built =
        R::build_model(recipe, data.train.sample_shape, data.train.integer_inputs);
    const int64_t n = data.train.size(), nv = data.val.size();
    REQUIRE(n > 0);
    REQUIRE(nv > 0);
    write_floats(dir / "x_train.bin", data.train.x);
    write_floats(dir / "y_train.bin", data.train.y);
    write_floats(dir / "x_val.bin", data.val.x);
    write_floats(dir / "y_val.bin", data.val.y);
    std::string params = "[";
    int i = 0;
    for (const auto& kv : built.net->named_parameters()) {
      const torch::Tensor t = kv.value().detach().contiguous();
      std::vector<float> v(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
      const std::string file = "p" + std::to_string(i) + ".bin";
      write_floats(dir / file, v);
      params += std::string(i++ ? "," : "") + "{\"name\":\"" + kv.key() + "\",\"file\":\"" + file +
                "\",\"shape\":" + shape_json(t.sizes().vec()) + "}";
    }
    params += "]";
    const auto& o = recipe.optimizer;
    REQUIRE(o.name == "adam");
    std::ofstream manifest(dir / "manifest.json");
    manifest.precision(17);
    manifest << "{\"x_train\":" << shape_json({n, data.train.sample_numel()})
             << ",\"x_val\":" << shape_json({nv, data.val.sample_numel()}) << ",\"hidden\":100"
             << ",\"epochs\":" << recipe.epochs << ",\"l2\":" << recipe.l2
             << ",\"optimizer\":{\"lr\":" << o.lr << ",\"beta1\":" << o.beta1
             << ",\"beta2\":" << o.beta2 << ",\"eps\":" << o.eps
             << ",\"weight_decay\":" << o.weight_decay << "},\"params\":" << params << "}";
    manifest.close();

    R::TrainOptions options;
    options.probe.probe_batch = n;  // the whole training set: activation statistics ignore order
    const db::RunResult cpp = R::train(recipe, seed, options);
    REQUIRE(cpp.outcome == "completed");

    const std::string cmd = "cd '" + dir.string() + "' && OMP_NUM_THREADS=1 " + py + " '" +
                            std::string(DYNFAULT_SOURCE_DIR) +
                            "/tests/python/roundtrip_moons.py' . 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    db::Trace from_python = features::read_trace_csv((dir / "python.csv").string());
    db::Trace from_cpp;
    from_cpp.series = db::series_of(cpp.metrics);
    from_cpp.outcome = from_python.outcome = "completed";
    from_cpp.recipe_json = from_python.recipe_json;
    CHECK(from_python.recipe_json == "{\"epochs\":30}");

    // Point by point: every per-epoch key of the runner, and nothing else.
    size_t points = 0;
    double worst = 0;
    for (const auto& [key, s] : from_cpp.series) {
      if (key == "train/loss" || key.rfind("time/", 0) == 0 || key.rfind("final/", 0) == 0)
        continue;
      CAPTURE(key);
      const db::Series* p = from_python.find(key);
      REQUIRE(p != nullptr);
      REQUIRE(p->steps == s.steps);
      for (size_t k = 0; k < s.size(); ++k) {
        CHECK(close(p->values[k], s.values[k], 1e-9));
        if (std::isfinite(s.values[k]) && s.values[k] != 0)
          worst = std::max(worst, std::fabs(p->values[k] - s.values[k]) / std::fabs(s.values[k]));
        ++points;
      }
    }
    for (const auto& [key, s] : from_python.series) {
      CAPTURE(key);
      CHECK(from_cpp.find(key) != nullptr);
    }
    MESSAGE("compared " << points << " points of " << from_python.series.size()
                        << " keys; largest relative difference " << worst);
    CHECK(points > 2000);

    // The features both traces give (curves' step-loss columns read train/loss steps, which a
    // per-epoch log does not hold).
    for (const std::string set : {"deepfd", "default", "optimizer", "activation", "curves"}) {
      CAPTURE(set);
      const auto fs_ = features::feature_set(set);
      const auto a = fs_.values(from_cpp), b = fs_.values(from_python);
      size_t defined = 0;
      for (size_t k = 0; k < a.size(); ++k) {
        if (fs_.names()[k].rfind("step_loss", 0) == 0) continue;
        CAPTURE(fs_.names()[k]);
        CHECK(close(a[k], b[k], 1e-9));
        defined += std::isnan(a[k]) ? 0 : 1;
      }
      CHECK(defined > 0);
    }
    fs::remove_all(dir);
  }
}
