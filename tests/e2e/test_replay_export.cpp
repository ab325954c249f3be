// End to end through the real `dynfault` binary: `replay` trains a stored run again and finds it
// bitwise identical; `export` writes CSV files and an MLflow file store that read back to the
// database's values; bad input gets a clear error, a non-zero exit and no change anywhere.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "db/store.h"
#include "tests/e2e/cli_util.h"

namespace fs = std::filesystem;
using dynfault::db::Store;

namespace {

using Result = dynfault::e2e::Cli;
using dynfault::e2e::read_bytes;

Result run_dynfault(const std::string& args, const fs::path& dir) {
  return dynfault::e2e::run_cli(args, dir);
}

struct TempDir : dynfault::e2e::TempDir {
  TempDir() : dynfault::e2e::TempDir("dynfault-replay") {}
};

/// A clean and a faulted iris_mlp run, 12 steps each, into dir/t.db.
void make_database(const fs::path& dir) {
  std::ofstream(dir / "c.yaml") << "name: replay\nseed: 5\nprograms: [iris_mlp]\n"
                                   "faults:\n  - mutator: lr_scale\n    params: {factor: 30.0}\n";
  const auto run = run_dynfault("run c.yaml --db t.db --max-steps 12", dir);
  INFO(run.out);
  REQUIRE(run.code == 0);
}

std::vector<std::string> finished_runs(const fs::path& db) {
  Store store = Store::open_read_only(db.string());
  std::vector<std::string> ids;
  for (const auto& r : store.runs()) {
    REQUIRE(r.status == "FINISHED");
    ids.push_back(r.spec.run_uuid);
  }
  return ids;
}

using dynfault::test::parse_csv;

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("replay trains a stored run again and reproduces it bitwise, read-only") {
    TempDir dir;
    make_database(dir.path);
    const auto ids = finished_runs(dir.path / "t.db");
    REQUIRE(ids.size() == 2);
    const std::string before = read_bytes(dir.path / "t.db");
    for (const auto& id : ids) {
      CAPTURE(id);
      // No flags: the run recorded its --max-steps, probes and numeric environment.
      const auto r = run_dynfault("replay " + id + " --db t.db", dir.path);
      INFO(r.out);
      CHECK(r.code == 0);
      CHECK(r.out.find("reproduced bitwise") != std::string::npos);
      CHECK(r.out.find("max 12 steps, ATen avx2, OpenBLAS Haswell, oneDNN avx2") !=
            std::string::npos);
      CHECK(r.out.find("compared 0 keys") == std::string::npos);
    }
    // Flags override the record: the clean run's trace differs, exit 1, replay says where.
    std::string clean;
    {
      Store store = Store::open_read_only((dir.path / "t.db").string());
      for (const auto& r : store.runs())
        if (r.spec.fault_ids.empty()) clean = r.spec.run_uuid;
    }
    REQUIRE_FALSE(clean.empty());
    const auto longer = run_dynfault("replay " + clean + " --db t.db --max-steps 20", dir.path);
    INFO(longer.out);
    CHECK(longer.code == 1);
    CHECK(longer.out.find("NOT reproduced") != std::string::npos);
    CHECK(longer.out.find("--max-steps 20 overrides the 12 the run was executed with") !=
          std::string::npos);
    CHECK(read_bytes(dir.path / "t.db") == before);
  }

  TEST_CASE("export writes CSV and MLflow files that read back to the database's values") {
    TempDir dir;
    make_database(dir.path);
    // One more run whose trace holds a NaN and an Inf, written through the store.
    {
      Store store = Store::open((dir.path / "t.db").string(), false);
      dynfault::db::RunSpec s;
      s.run_uuid = std::string(31, '0') + "f";
      s.campaign = "replay";
      s.program = "iris_mlp";
      store.insert_runs({s});
      dynfault::db::RunResult res;
      res.run_uuid = s.run_uuid;
      res.outcome = "nan_loss";
      res.metrics = {{"train/loss", 0, 0.75, 10},
                     {"train/loss", 1, std::numeric_limits<double>::quiet_NaN(), 11},
                     {"grad/global_norm", 1, std::numeric_limits<double>::infinity(), 11}};
      store.write_result(res);
    }
    const std::string before = read_bytes(dir.path / "t.db");

    const auto csv = run_dynfault("export --db t.db --out out-csv --format csv", dir.path);
    INFO(csv.out);
    REQUIRE(csv.code == 0);
    CHECK(csv.out.find("exported 3 runs") != std::string::npos);
    const auto rows = parse_csv(read_bytes(dir.path / "out-csv" / "metrics.csv"));
    REQUIRE(rows.size() > 1);
    CHECK(rows[0] == std::vector<std::string>{"run_uuid", "key", "value", "step", "timestamp"});
    std::map<std::string, std::map<std::string, std::map<int64_t, double>>> reread;
    for (size_t i = 1; i < rows.size(); ++i) {
      REQUIRE(rows[i].size() == 5);
      reread[rows[i][0]][rows[i][1]][std::stoll(rows[i][3])] =
          std::strtod(rows[i][2].c_str(), nullptr);
    }
    int64_t points = 0, nans = 0;
    {
      Store store = Store::open_read_only((dir.path / "t.db").string());
      for (const auto& run : store.runs()) {
        const auto trace = store.trace(run.spec.run_uuid);
        CHECK(reread[run.spec.run_uuid].size() == trace.series.size());
        for (const auto& [key, s] : trace.series) {
          for (size_t j = 0; j < s.size(); ++j) {
            const double v = reread[run.spec.run_uuid][key].at(s.steps[j]);
            CHECK((v == s.values[j] || (std::isnan(v) && std::isnan(s.values[j]))));
            ++points;
            nans += std::isnan(v) ? 1 : 0;
          }
        }
      }
    }
    CHECK(points == static_cast<int64_t>(rows.size()) - 1);
    CHECK(nans >= 1);
    for (const char* f : {"runs.csv", "params.csv", "labels.csv", "campaigns.csv", "programs.csv"})
      CHECK(fs::exists(dir.path / "out-csv" / f));

    const auto ml =
        run_dynfault("export --db t.db --out out-ml --format mlruns --campaign replay", dir.path);
    INFO(ml.out);
    REQUIRE(ml.code == 0);
    const fs::path exp = dir.path / "out-ml" / "mlruns" / "1";
    CHECK(read_bytes(exp / "meta.yaml").find("name: \"replay\"") != std::string::npos);
    CHECK(fs::exists(dir.path / "out-ml" / "mlruns" / "0" / "meta.yaml"));
    const fs::path run = exp / (std::string(31, '0') + "f");
    CHECK(read_bytes(run / "meta.yaml").find("status: 3\n") != std::string::npos);
    CHECK(read_bytes(run / "metrics" / "train" / "loss") == "10 0.75 0\n11 nan 1\n");
    CHECK(read_bytes(run / "metrics" / "grad" / "global_norm") == "11 inf 1\n");
    CHECK(read_bytes(run / "params" / "program") == "iris_mlp");
    // A real run: every metric line is "timestamp value step".
    for (const auto& id : finished_runs(dir.path / "t.db")) {
      if (id == std::string(31, '0') + "f") continue;
      std::istringstream lines(read_bytes(exp / id / "metrics" / "train" / "loss"));
      int n = 0;
      for (std::string line; std::getline(lines, line); ++n) {
        std::istringstream f(line);
        long long ts = 0, step = -1;
        std::string value;
        REQUIRE(static_cast<bool>(f >> ts >> value >> step));
        CHECK(step == n);
        CHECK(ts > 0);
      }
      CHECK(n >= 1);  // 12 steps, fewer if the fault ended training early
      CHECK(n <= 12);
    }
    CHECK(read_bytes(dir.path / "t.db") == before);
  }

  TEST_CASE("replay and export refuse bad input with a clear error and change nothing") {
    TempDir dir;
    make_database(dir.path);
    const std::string before = read_bytes(dir.path / "t.db");

    const auto unknown =
        run_dynfault("replay 0123456789abcdef0123456789abcdef --db t.db", dir.path);
    CHECK(unknown.code != 0);
    CHECK(unknown.out.find("no run '0123456789abcdef0123456789abcdef'") != std::string::npos);
    CHECK(run_dynfault("replay --db t.db", dir.path).code == 2);
    const auto no_db =
        run_dynfault("replay 0123456789abcdef0123456789abcdef --db none.db", dir.path);
    CHECK(no_db.code != 0);
    CHECK(no_db.out.find("none.db") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "none.db"));

    fs::create_directory(dir.path / "full");
    std::ofstream(dir.path / "full" / "notes.txt") << "mine";
    const auto full = run_dynfault("export --db t.db --out full --format csv", dir.path);
    CHECK(full.code != 0);
    CHECK(full.out.find("not empty") != std::string::npos);
    CHECK(read_bytes(dir.path / "full" / "notes.txt") == "mine");
    CHECK(std::distance(fs::directory_iterator(dir.path / "full"), fs::directory_iterator()) == 1);
    CHECK(run_dynfault("export --db t.db --out x --format parquet", dir.path).code == 2);
    CHECK(run_dynfault("export --db t.db", dir.path).code == 2);
    const auto missing = run_dynfault("export --db none.db --out y", dir.path);
    CHECK(missing.code != 0);
    CHECK(missing.out.find("none.db") != std::string::npos);
    const auto campaign = run_dynfault("export --db t.db --out z --campaign nope", dir.path);
    CHECK(campaign.code != 0);
    CHECK(campaign.out.find("no campaign 'nope'") != std::string::npos);
    for (const char* p : {"x", "y", "z", "none.db"}) CHECK_FALSE(fs::exists(dir.path / p));
    // No temporary export directory left over either.
    for (const auto& e : fs::directory_iterator(dir.path))
      CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
    CHECK(read_bytes(dir.path / "t.db") == before);
  }
}
