// Tests of dynfault::TraceRecorder (runner/trace_recorder.h): a hand-written loop recorded into a
// database, read back through the store with the trainer's metric keys (db/trace.h).
#include <doctest/doctest.h>
#include <stdlib.h>
#include <torch/torch.h>  // before doctest: glog's CHECK must not replace doctest's

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "common/check.h"
#include "db/store.h"
#include "runner/trace_recorder.h"

namespace {

namespace fs = std::filesystem;
using dynfault::RecorderOptions;
using dynfault::TraceRecorder;

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/dynfault_rec_XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string db() const { return (path / "rec.db").string(); }
};

struct Net : torch::nn::Module {
  Net() {
    fc1 = register_module("fc1", torch::nn::Linear(4, 8));
    fc2 = register_module("fc2", torch::nn::Linear(8, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::tanh(fc1(x))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

struct Loop {
  std::vector<double> step_losses, epoch_losses;
  std::string run_uuid;  ///< from finish()
};

/// Epochs of four batches of 16 with Adam, recorded through `rec` and finished (the model and
/// optimizer must outlive finish()).
Loop train(TraceRecorder& rec, int64_t epochs = 3) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({64, 4});
  const torch::Tensor y = torch::randint(0, 3, {64}, torch::kLong);
  Net net;
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(1e-2));
  rec.watch(net, opt);
  Loop out;
  for (int64_t e = 0; e < epochs; ++e) {
    double sum = 0;
    for (int64_t b = 0; b < 4; ++b) {
      opt.zero_grad();
      const torch::Tensor loss = torch::nn::functional::cross_entropy(
          net.forward(x.narrow(0, 16 * b, 16)), y.narrow(0, 16 * b, 16));
      loss.backward();
      opt.step();
      rec.on_step(loss);
      out.step_losses.push_back(loss.item<double>());
      sum += loss.item<double>();
    }
    out.epoch_losses.push_back(sum / 4);
    rec.on_epoch(e, sum / 4, 0.5 + 0.1 * static_cast<double>(e), 1.5, 0.4);
  }
  rec.on_test(1.25, 0.45);
  CHECK_FALSE(rec.should_stop());
  out.run_uuid = rec.finish();
  return out;
}

}  // namespace

TEST_CASE("TraceRecorder: three epochs stored with the trainer's keys") {
  TempDir dir;
  RecorderOptions o;
  o.run_name = "three";
  o.num_classes = 3;
  o.epochs = 3;
  TraceRecorder rec(dir.db(), "user_mlp", o);
  const Loop loop = train(rec);
  CHECK(rec.steps() == 12);
  const std::string id = loop.run_uuid;
  CHECK(id == rec.run_uuid());
  CHECK(id.size() == 32);
  CHECK_THROWS_AS(rec.on_step(1.0), dynfault::Error);

  dynfault::db::Store store = dynfault::db::Store::open(dir.db(), /*create=*/false);
  const auto row = store.run(id);
  REQUIRE(row.has_value());
  CHECK(row->status == "FINISHED");
  CHECK(row->outcome == "completed");
  CHECK(row->spec.campaign == "recorded");
  CHECK(row->spec.program == "user_mlp");
  CHECK(row->spec.task == "multiclass");
  CHECK(row->spec.faults_json == "[]");
  CHECK(store.programs().size() == 1);

  const auto traces = store.traces();
  REQUIRE(traces.size() == 1);
  const dynfault::db::Trace& t = traces[0];
  const auto* loss = t.find("train/loss");
  REQUIRE(loss != nullptr);
  REQUIRE(loss->size() == 12);
  for (size_t i = 0; i < 12; ++i) {
    CHECK(loss->steps[i] == static_cast<int64_t>(i));
    CHECK(loss->values[i] == doctest::Approx(loop.step_losses[i]));
  }
  const auto* el = t.find("epoch/train_loss");
  REQUIRE(el != nullptr);
  CHECK(el->steps == std::vector<int64_t>{0, 1, 2});
  for (size_t e = 0; e < 3; ++e) CHECK(el->values[e] == doctest::Approx(loop.epoch_losses[e]));
  REQUIRE(t.find("epoch/train_metric") != nullptr);
  CHECK(t.find("epoch/train_metric")->values[2] == doctest::Approx(0.7));
  CHECK(t.find("epoch/val_loss")->values == std::vector<double>{1.5, 1.5, 1.5});
  CHECK(t.find("epoch/val_metric")->size() == 3);
  CHECK(t.find("epoch/lr")->values[0] == doctest::Approx(1e-2));
  CHECK(t.find("final/test_metric")->values[0] == doctest::Approx(0.45));
  CHECK(t.find("final/test_metric")->steps[0] == 2);
  // The default probes: every epoch, from the trainer's probe functions.
  for (const char* key :
       {"grad/global_norm", "grad/fc1.weight/norm", "weight/fc2.bias/mean", "weight/update_ratio",
        "opt/exp_avg_norm", "opt/eff_step_mean", "time/step_ms"}) {
    INFO(key);
    const auto* s = t.find(key);
    REQUIRE(s != nullptr);
    CHECK(s->steps == std::vector<int64_t>{0, 1, 2});
    CHECK(std::isfinite(s->values[2]));
  }
  CHECK(t.find("weight/update_ratio")->values[0] > 0);
  CHECK(t.find("act/dead_frac_max") == nullptr);  // activations need dynfault's model builder
  CHECK(t.find("probe/failures") == nullptr);
}

TEST_CASE("TraceRecorder: nothing is written without finish(); a re-recording replaces") {
  TempDir dir;
  RecorderOptions o;
  o.run_name = "same";
  {
    TraceRecorder rec(dir.db(), "user_mlp", o);
    rec.on_step(1.0);
    rec.on_epoch(0, 1.0, 0.5);
  }
  {
    dynfault::db::Store store = dynfault::db::Store::open(dir.db(), /*create=*/false);
    CHECK(store.runs().empty());
  }
  std::string first;
  {
    TraceRecorder rec(dir.db(), "user_mlp", o);
    first = train(rec, 2).run_uuid;
  }
  TraceRecorder again(dir.db(), "user_mlp", o);
  CHECK(again.run_uuid() == first);
  train(again, 3);
  dynfault::db::Store store = dynfault::db::Store::open(dir.db(), /*create=*/false);
  REQUIRE(store.runs().size() == 1);
  CHECK(store.trace(first).find("epoch/train_loss")->size() == 3);
}

TEST_CASE("TraceRecorder: a NaN loss is the nan_loss outcome; fail() stores FAILED") {
  TempDir dir;
  TraceRecorder rec(dir.db(), "user_mlp", dynfault::ProbeOptions::none());
  rec.on_step(2.0);
  CHECK_FALSE(rec.should_stop());
  rec.on_step(std::numeric_limits<double>::quiet_NaN());
  CHECK(rec.should_stop());
  rec.on_epoch(0, std::numeric_limits<double>::quiet_NaN(), 0.3);
  const std::string id = rec.finish();
  dynfault::db::Store store = dynfault::db::Store::open(dir.db(), /*create=*/false);
  CHECK(store.run(id)->outcome == "nan_loss");
  const auto t = store.trace(id);
  CHECK(std::isnan(t.find("train/loss")->values[1]));
  CHECK(std::isnan(t.find("epoch/train_loss")->values[0]));
  CHECK(t.find("epoch/val_loss") == nullptr);

  RecorderOptions o;
  o.run_name = "failed";
  TraceRecorder bad(dir.db(), "user_mlp", o);
  bad.on_step(100.0);
  bad.on_step(1e9);  // > 1e3 x the first loss
  CHECK(bad.detected_outcome() == "diverged");
  const std::string bad_id = bad.fail("loader crashed");
  const auto row = store.run(bad_id);
  REQUIRE(row.has_value());
  CHECK(row->status == "FAILED");
  CHECK(row->error == "loader crashed");
}

TEST_CASE("TraceRecorder: invalid options are refused before anything is written") {
  TempDir dir;
  RecorderOptions o;
  o.task = "ranking";
  CHECK_THROWS_AS(TraceRecorder(dir.db(), "p", o), dynfault::Error);
  o.task = "binary";
  o.faults_json = "{\"mutator\": \"lr_scale\"}";
  CHECK_THROWS_AS(TraceRecorder(dir.db(), "p", o), dynfault::Error);
  CHECK_FALSE(fs::exists(dir.db()));
  o.faults_json = R"([{"mutator": "lr_scale", "category": "learning_rate"}])";
  TraceRecorder rec(dir.db(), "p", o);
  rec.on_step(0.5);
  rec.on_epoch(0, 0.5, 0.9, 0.6, 0.8);
  const std::string id = rec.finish("timeout");
  dynfault::db::Store store = dynfault::db::Store::open(dir.db(), /*create=*/false);
  CHECK(store.run(id)->spec.fault_ids == "lr_scale");
  CHECK(store.run(id)->outcome == "timeout");
}
