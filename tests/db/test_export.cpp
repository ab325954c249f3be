// dynfault export (CSV and MLflow's file store), Store::open_read_only and the trace comparison
// behind dynfault replay, on small hand-made databases.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "db/export.h"
#include "db/store.h"
#include "db/trace_diff.h"
#include "tests/test_files.h"

namespace {

namespace fs = std::filesystem;
using dynfault::db::DbError;
using dynfault::db::ExportOptions;
using dynfault::db::FeatureTable;
using dynfault::db::LabelRow;
using dynfault::db::MetricPoint;
using dynfault::db::RunResult;
using dynfault::db::RunSpec;
using dynfault::db::Series;
using dynfault::db::Store;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct TempDir : dynfault::test::ScratchDir {
  TempDir() : ScratchDir("dynfault_export") {}
};

using dynfault::test::read_bytes;

using dynfault::test::parse_csv;

std::string uuid(int i) {
  std::string s(32, '0');
  s[31] = static_cast<char>('a' + i);
  return s;
}

/// A database with two runs of campaign "c1" (one with a fault) and one SCHEDULED run of "c2";
/// the first run's trace holds NaN, +-Inf, a value needing 17 digits, and a deep key.
void fill(Store& store) {
  store.upsert_campaign("c1", "name: c1\nprograms: [toy]\n", "hash1");
  store.upsert_campaign("c2", "name: c2\n", "hash2");
  std::vector<RunSpec> specs;
  for (int i = 0; i < 3; ++i) {
    RunSpec s;
    s.run_uuid = uuid(i);
    s.campaign = i < 2 ? "c1" : "c2";
    s.program = "toy";
    s.family = "mlp";
    s.task = "multiclass";
    s.seed = 10 + i;
    s.repetition = i;
    s.faults_json = i == 1 ? R"([{"mutator":"lr_scale","params":{"factor":1000.0}}])" : "[]";
    s.fault_ids = i == 1 ? "lr_scale" : "";
    s.recipe_json =
        R"({"epochs":2,"layers":[{"type":"linear","out":3}],"optimizer":{"lr":0.001,"name":"adam"},"provenance":{"source":"x, \"y\""}})";
    specs.push_back(s);
  }
  store.insert_runs(specs);
  for (int i = 0; i < 2; ++i) {
    RunResult r;
    r.run_uuid = uuid(i);
    r.outcome = i == 1 ? "nan_loss" : "completed";
    r.error = i == 1 ? "loss, \"NaN\"\nat step 2" : "";
    r.start_time = 1000;
    r.end_time = 2000 + i;
    r.metrics = {{"train/loss", 0, 1.0 / 3.0, 1100},
                 {"train/loss", 1, 0.25, 1200},
                 {"train/loss", 2, i == 1 ? kNaN : 0.125, 1300},
                 {"grad/layers.0.weight/norm", 0, kInf, 1150},
                 {"grad/layers.0.weight/norm", 1, -kInf, 1250},
                 {"epoch/val_metric", 0, 0.1 + 0.2, 1400},
                 {"final/test_metric", 1, 1e-300, 1500}};
    store.write_result(r);
  }
  store.write_labels("fault_type/default4",
                     {{uuid(0), "", "{}"}, {uuid(1), "learning_rate", "{}"}});
  FeatureTable t;
  t.feature_set = "deepfd";
  t.names = {"a", "b, with comma"};
  t.run_uuids = {uuid(0), uuid(1)};
  t.rows = {{1.5, kNaN}, {-kInf, 2.0}};
  store.write_features(t);
}

bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  return out;
}

}  // namespace

TEST_SUITE("db") {
  TEST_CASE("csv_field quotes as RFC 4180 says and format_double round-trips") {
    using dynfault::db::csv_field;
    using dynfault::db::format_double;
    CHECK(csv_field("plain") == "plain");
    CHECK(csv_field("a,b") == "\"a,b\"");
    CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_field("two\nlines") == "\"two\nlines\"");
    CHECK(csv_field("") == "");
    CHECK(format_double(kNaN) == "NaN");
    CHECK(format_double(kInf) == "Inf");
    CHECK(format_double(-kInf) == "-Inf");
    CHECK(format_double(kNaN, true) == "nan");
    CHECK(format_double(-kInf, true) == "-inf");
    CHECK(format_double(0.5) == "0.5");
    for (double v : {1.0 / 3.0, 0.1 + 0.2, 1e-300, -2.5e17, 5e-324, 123456789.0}) {
      CAPTURE(v);
      CHECK(std::strtod(format_double(v).c_str(), nullptr) == v);
    }
    for (const char* s : {"NaN", "Inf", "-Inf"}) CHECK(!std::isfinite(std::strtod(s, nullptr)));
  }

  TEST_CASE("CSV export: metrics.csv reads back to the stored values, NaN and Inf included") {
    TempDir tmp;
    Store store = Store::memory();
    fill(store);
    ExportOptions o;
    o.format = "csv";
    o.out_dir = (tmp.path / "out").string();
    const auto summary = dynfault::db::export_store(store, o);
    CHECK(summary.runs == 3);
    CHECK(summary.metric_points == 14);

    const auto rows = parse_csv(read_bytes(tmp.path / "out" / "metrics.csv"));
    REQUIRE(rows.size() == 15);
    CHECK(rows[0] == std::vector<std::string>{"run_uuid", "key", "value", "step", "timestamp"});
    std::map<std::string, std::map<std::string, Series>> reread;
    for (size_t i = 1; i < rows.size(); ++i) {
      REQUIRE(rows[i].size() == 5);
      Series& s = reread[rows[i][0]][rows[i][1]];
      s.steps.push_back(std::stoll(rows[i][3]));
      s.values.push_back(std::strtod(rows[i][2].c_str(), nullptr));
    }
    int nans = 0, infs = 0;
    for (int i = 0; i < 2; ++i) {
      const auto trace = store.trace(uuid(i));
      REQUIRE(reread[uuid(i)].size() == trace.series.size());
      for (const auto& [key, s] : trace.series) {
        CAPTURE(key);
        const Series& r = reread[uuid(i)][key];
        CHECK(r.steps == s.steps);
        REQUIRE(r.values.size() == s.values.size());
        for (size_t j = 0; j < s.values.size(); ++j) {
          CHECK(same(r.values[j], s.values[j]));
          nans += std::isnan(s.values[j]) ? 1 : 0;
          infs += std::isinf(s.values[j]) ? 1 : 0;
        }
      }
    }
    CHECK(nans == 1);
    CHECK(infs == 4);

    // The other tables: quoting survives, parameters include the recipe and the fault.
    const auto runs = parse_csv(read_bytes(tmp.path / "out" / "runs.csv"));
    REQUIRE(runs.size() == 4);
    const auto& header = runs[0];
    const auto col = [&](const std::string& name) {
      return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    CHECK(runs[2][col("error")] == "loss, \"NaN\"\nat step 2");
    CHECK(runs[3][col("status")] == "SCHEDULED");
    CHECK(runs[3][col("start_time")] == "");
    const auto params = parse_csv(read_bytes(tmp.path / "out" / "params.csv"));
    std::set<std::string> keys;
    for (const auto& p : params)
      if (p[0] == uuid(1)) keys.insert(p[1] + "=" + p[2]);
    CHECK(keys.count("seed=11") == 1);
    CHECK(keys.count("recipe.optimizer.lr=0.001") == 1);
    CHECK(keys.count("fault.0.mutator=lr_scale") == 1);
    CHECK(keys.count("fault.0.params.factor=1000") == 1);
    CHECK(keys.count(R"(recipe.layers=[{"out":3,"type":"linear"}])") == 1);
    for (const auto& k : keys) CHECK(k.rfind("recipe.provenance", 0) != 0);
    const auto features = parse_csv(read_bytes(tmp.path / "out" / "features_deepfd.csv"));
    REQUIRE(features.size() == 3);
    CHECK(features[0] == std::vector<std::string>{"run_uuid", "a", "b, with comma"});
    CHECK(features[1] == std::vector<std::string>{uuid(0), "1.5", "NaN"});
    CHECK(features[2] == std::vector<std::string>{uuid(1), "-Inf", "2"});
    const auto labels = parse_csv(read_bytes(tmp.path / "out" / "labels.csv"));
    CHECK(labels.size() == 3);
    for (const char* f : {"campaigns.csv", "programs.csv", "evaluations.csv"})
      CHECK(fs::exists(tmp.path / "out" / f));
    // Nothing left beside it.
    CHECK(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator()) == 1);
  }

  TEST_CASE("CSV export with --campaign keeps that campaign's runs only") {
    TempDir tmp;
    Store store = Store::memory();
    fill(store);
    ExportOptions o;
    o.out_dir = (tmp.path / "out").string();
    o.campaign = "c2";
    const auto summary = dynfault::db::export_store(store, o);
    CHECK(summary.runs == 1);
    CHECK(summary.metric_points == 0);
    CHECK(parse_csv(read_bytes(tmp.path / "out" / "runs.csv")).size() == 2);
    o.out_dir = (tmp.path / "out2").string();
    o.campaign = "nope";
    std::string msg;
    try {
      dynfault::db::export_store(store, o);
    } catch (const dynfault::Error& e) {
      msg = e.what();
    }
    CHECK(msg.find("no campaign 'nope'") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp.path / "out2"));
  }

  TEST_CASE("mlruns export: MLflow's file store layout") {
    TempDir tmp;
    Store store = Store::memory();
    fill(store);
    ExportOptions o;
    o.format = "mlruns";
    o.out_dir = (tmp.path / "ml").string();
    fs::create_directory(o.out_dir);  // an existing empty directory is fine
    const auto summary = dynfault::db::export_store(store, o);
    CHECK(summary.runs == 3);
    const fs::path root = tmp.path / "ml" / "mlruns";
    CHECK(fs::is_directory(root / ".trash"));
    const std::string exp0 = read_bytes(root / "0" / "meta.yaml");
    CHECK(exp0.find("experiment_id: '0'\n") != std::string::npos);
    CHECK(exp0.find("name: \"Default\"\n") != std::string::npos);
    const std::string exp1 = read_bytes(root / "1" / "meta.yaml");
    CHECK(exp1.find("experiment_id: '1'\n") != std::string::npos);
    CHECK(exp1.find("name: \"c1\"\n") != std::string::npos);
    CHECK(exp1.find("lifecycle_stage: active\n") != std::string::npos);
    CHECK(exp1.find("artifact_location: \"file://" + (tmp.path / "ml" / "mlruns" / "1").string() +
                    "\"\n") != std::string::npos);
    CHECK(read_bytes(root / "1" / "tags" / "mlflow.note.content") == "name: c1\nprograms: [toy]\n");
    CHECK(fs::exists(root / "2" / "meta.yaml"));

    const fs::path run = root / "1" / uuid(1);
    const std::string meta = read_bytes(run / "meta.yaml");
    for (const std::string& line :
         {"run_id: " + uuid(1), "run_uuid: " + uuid(1), std::string("experiment_id: '1'"),
          std::string("status: 3"), std::string("start_time: 1000"), std::string("end_time: 2001"),
          std::string("lifecycle_stage: active"), std::string("tags: []"),
          std::string("source_type: 4")}) {
      CAPTURE(line);
      CHECK(meta.find(line + "\n") != std::string::npos);
    }
    CHECK(read_bytes(root / "2" / uuid(2) / "meta.yaml").find("status: 2\n") != std::string::npos);
    CHECK(read_bytes(root / "2" / uuid(2) / "meta.yaml").find("start_time: null\n") !=
          std::string::npos);
    CHECK(fs::is_directory(run / "artifacts"));
    // One value per param file, no trailing newline; tags likewise; label tasks with '/' nest.
    CHECK(read_bytes(run / "params" / "seed") == "11");
    CHECK(read_bytes(run / "params" / "recipe.optimizer.lr") == "0.001");
    CHECK(read_bytes(run / "params" / "fault.0.mutator") == "lr_scale");
    CHECK(read_bytes(run / "tags" / "mlflow.runName") == "toy-lr_scale-r1");
    CHECK(read_bytes(run / "tags" / "dynfault.outcome") == "nan_loss");
    CHECK(read_bytes(run / "tags" / "label.fault_type" / "default4") == "learning_rate");

    // Metric keys with '/' are subdirectories; every line is "timestamp value step".
    const auto metric_files = files_under(run / "metrics");
    CHECK(metric_files.size() == 4);
    const std::string loss = read_bytes(run / "metrics" / "train" / "loss");
    std::istringstream lines(loss);
    std::vector<std::tuple<int64_t, double, int64_t>> points;
    for (std::string line; std::getline(lines, line);) {
      std::istringstream f(line);
      std::string ts, value, step, extra;
      f >> ts >> value >> step;
      const bool more = static_cast<bool>(f >> extra);
      CHECK_FALSE(more);
      points.emplace_back(std::stoll(ts), std::strtod(value.c_str(), nullptr), std::stoll(step));
    }
    REQUIRE(points.size() == 3);
    CHECK(std::get<0>(points[0]) == 1100);
    CHECK(std::get<1>(points[0]) == 1.0 / 3.0);
    CHECK(std::get<2>(points[2]) == 2);
    CHECK(std::isnan(std::get<1>(points[2])));
    CHECK(loss.find(" nan 2\n") != std::string::npos);  // Python's float() spelling
    CHECK(read_bytes(run / "metrics" / "grad" / "layers.0.weight" / "norm") ==
          "1150 inf 0\n1250 -inf 1\n");
    // The SCHEDULED run has no metrics, and no empty metric files (MLflow refuses them).
    CHECK(files_under(root / "2" / uuid(2) / "metrics").empty());
  }

  TEST_CASE("export refuses a non-empty or odd output and leaves nothing behind") {
    TempDir tmp;
    Store store = Store::memory();
    fill(store);
    const auto error_of = [&](const std::string& out, const std::string& format) {
      ExportOptions o;
      o.out_dir = out;
      o.format = format;
      try {
        dynfault::db::export_store(store, o);
      } catch (const dynfault::Error& e) {
        return std::string(e.what());
      }
      return std::string();
    };
    fs::create_directory(tmp.path / "full");
    std::ofstream(tmp.path / "full" / "mine.txt") << "keep me";
    CHECK(error_of((tmp.path / "full").string(), "csv").find("is not empty") != std::string::npos);
    CHECK(read_bytes(tmp.path / "full" / "mine.txt") == "keep me");
    CHECK(std::distance(fs::directory_iterator(tmp.path / "full"), fs::directory_iterator()) == 1);
    std::ofstream(tmp.path / "file") << "x";
    CHECK(error_of((tmp.path / "file").string(), "mlruns").find("not a directory") !=
          std::string::npos);
    CHECK(error_of((tmp.path / "no" / "such" / "out").string(), "csv").find("does not exist") !=
          std::string::npos);
    CHECK(error_of((tmp.path / "x").string(), "parquet").find("csv or mlruns") !=
          std::string::npos);
    CHECK(error_of("", "csv").find("--out") != std::string::npos);
    // Only what the test made: no temporary directory left over.
    CHECK(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator()) == 2);
  }

  TEST_CASE("Store::open_read_only reads and never writes") {
    TempDir tmp;
    const std::string path = (tmp.path / "t.db").string();
    {
      Store store = Store::open(path);
      fill(store);
    }
    const std::string before = read_bytes(path);
    {
      Store ro = Store::open_read_only(path);
      CHECK(ro.runs().size() == 3);
      CHECK(ro.trace(uuid(0)).series.count("train/loss") == 1);
      CHECK_THROWS_AS(ro.set_info("k", "v"), DbError);
      CHECK_THROWS_AS(ro.write_labels("t", {}), DbError);
    }
    CHECK(read_bytes(path) == before);
    CHECK_THROWS_WITH_AS(Store::open_read_only((tmp.path / "none.db").string()),
                         doctest::Contains("no such database"), DbError);
    std::ofstream(tmp.path / "notes.db") << "not a database at all, just some words here\n";
    CHECK_THROWS_AS(Store::open_read_only((tmp.path / "notes.db").string()), DbError);
    CHECK(read_bytes(tmp.path / "notes.db") == "not a database at all, just some words here\n");
  }

  TEST_CASE("compare_traces: bitwise equality, the largest deviation, missing keys") {
    using dynfault::db::compare_traces;
    using dynfault::db::series_of;
    const std::vector<MetricPoint> a = {{"train/loss", 0, 1.0, 5},  {"train/loss", 1, 0.5, 6},
                                        {"train/loss", 2, kNaN, 7}, {"time/step_ms", 0, 3.0, 8},
                                        {"epoch/lr", 0, 0.0, 9},    {"grad/x", 0, kInf, 1}};
    auto b = a;
    b[3].value = 4.0;        // wall-clock metadata may differ
    b[4].value = -0.0;       // the store keeps -0.0 as 0.0
    b[0].timestamp_ms = 99;  // timestamps are not compared
    auto d = compare_traces(series_of(a), series_of(b));
    CHECK(d.identical());
    CHECK(d.keys_compared == 3);
    CHECK(d.points_compared == 5);

    b[0].value = 1.0 + 1e-12;
    b[1].value = 0.5 + 1e-3;
    d = compare_traces(series_of(a), series_of(b));
    CHECK_FALSE(d.identical());
    CHECK(d.points_differing == 2);
    CHECK(d.worst_key == "train/loss");
    CHECK(d.worst_step == 1);
    CHECK(d.worst_stored == 0.5);
    CHECK(d.worst_replayed == 0.5 + 1e-3);
    CHECK(d.worst_deviation == doctest::Approx(1e-3));

    b = a;
    b[2].value = 0.25;  // NaN stored, a number replayed: an infinite deviation
    b.push_back({"act/new", 0, 1.0, 0});
    b.push_back({"train/loss", 3, 0.1, 0});
    auto c = b;
    c.erase(c.begin() + 5);  // grad/x missing
    d = compare_traces(series_of(a), series_of(c));
    CHECK(std::isinf(d.worst_deviation));
    CHECK(d.worst_step == 2);
    CHECK(d.only_replayed == std::vector<std::string>{"act/new"});
    CHECK(d.only_stored == std::vector<std::string>{"grad/x"});
    CHECK(d.steps_differ == std::vector<std::string>{"train/loss"});
    // A (key, step) given twice keeps the last value.
    const auto s = series_of({{"k", 1, 1.0, 0}, {"k", 0, 2.0, 0}, {"k", 1, 3.0, 0}});
    CHECK(s.at("k").steps == std::vector<int64_t>{0, 1});
    CHECK(s.at("k").values == std::vector<double>{2.0, 3.0});
  }
}
