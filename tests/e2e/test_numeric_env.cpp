// End to end through the real `dynfault` binary: a campaign's numeric environment makes its
// traces the same bit for bit whatever environment `dynfault run` is started from; bad numeric
// input and a campaign/database mismatch are refused before anything is written; a database of
// schema 1 is upgraded and kept to; stale runs are re-executed on request.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "db/database.h"
#include "db/store.h"
#include "tests/e2e/cli_util.h"

namespace fs = std::filesystem;
using dynfault::db::Store;
using dynfault::e2e::read_bytes;
using dynfault::e2e::run_cli;

namespace {

struct TempDir : dynfault::e2e::TempDir {
  TempDir() : dynfault::e2e::TempDir("dynfault-numeric") {}
};

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// An MLP (OpenBLAS products), a CNN (oneDNN convolutions) and an LSTM, clean and with a fault.
const char* kCampaign = R"(name: numeric
seed: 4
programs: [iris_mlp, lenet_fashion, lstm_sine]
faults:
  - mutator: lr_scale
    params: {factor: 10.0}
)";

std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::string> flags;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) flags.insert(w);
    break;
  }
  return flags;
}

/// Metric points of every finished run outside time/, by run, key and step, as exact bits.
std::map<std::string, std::string> points(const fs::path& db) {
  Store store = Store::open_read_only(db.string());
  std::map<std::string, std::string> out;
  for (const auto& t : store.traces()) {
    out[t.run_uuid + " outcome"] = t.outcome;
    for (const auto& [key, series] : t.series) {
      if (key.rfind("time/", 0) == 0) continue;
      std::string bits(series.values.size() * sizeof(double), '\0');
      std::memcpy(bits.data(), series.values.data(), bits.size());
      std::ostringstream steps;
      for (auto s : series.steps) steps << s << ',';
      out[t.run_uuid + " " + key] = steps.str() + bits;
    }
  }
  return out;
}

/// Keys (run and metric) whose points differ between two databases.
std::vector<std::string> differing(const std::map<std::string, std::string>& a,
                                   const std::map<std::string, std::string>& b) {
  std::vector<std::string> out;
  for (const auto& [k, v] : a) {
    const auto it = b.find(k);
    if (it == b.end() || it->second != v) out.push_back(k);
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) out.push_back(k);
  return out;
}

dynfault::e2e::Cli run_ok(const std::string& args, const fs::path& dir,
                          const std::string& env = "") {
  const auto r = run_cli(args, dir, env);
  INFO(args << "\n" << r.out);
  REQUIRE(r.code == 0);
  return r;
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("Three parent environments, one numeric environment: identical traces") {
    TempDir dir;
    write(dir.path / "c.yaml", kCampaign);
    const auto flags = cpu_flags();
    const bool avx2 = flags.count("avx2") && flags.count("fma");
    const bool avx512 = flags.count("avx512f") && flags.count("avx512bw") &&
                        flags.count("avx512vl") && flags.count("avx512dq") && avx2;
    if (!avx2) {
      MESSAGE("this CPU lacks AVX2: the default numeric environment cannot run here; skipped");
      return;
    }
    // Environments that change which kernels the libraries pick, as far as this CPU offers.
    std::vector<std::string> parents = {
        "ATEN_CPU_CAPABILITY=default OPENBLAS_CORETYPE=Haswell OMP_NUM_THREADS=1",
        std::string("ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=") +
            (avx512 ? "SkylakeX ONEDNN_MAX_CPU_ISA=AVX512_CORE"
                    : "Sandybridge ONEDNN_MAX_CPU_ISA=AVX") +
            " OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2"};
    if (avx512) {
      parents.push_back(
          "ATEN_CPU_CAPABILITY=avx512 OPENBLAS_CORETYPE=Cooperlake "
          "ONEDNN_DEFAULT_FPMATH_MODE=BF16 MKL_NUM_THREADS=4");
    } else {
      MESSAGE(
          "this CPU lacks AVX-512: the third parent environment (ATEN_CPU_CAPABILITY=avx512, "
          "OpenBLAS SkylakeX and Cooperlake, oneDNN AVX512_CORE) is skipped");
      parents.push_back(
          "env -u OPENBLAS_CORETYPE ATEN_CPU_CAPABILITY=default "
          "ONEDNN_MAX_CPU_ISA=SSE41");
    }
    std::vector<std::map<std::string, std::string>> traces;
    for (size_t i = 0; i < parents.size(); ++i) {
      const std::string db = "p" + std::to_string(i) + ".db";
      run_ok("plan c.yaml --db " + db, dir.path);
      run_ok("run --db " + db + " --max-steps 15 --jobs 2", dir.path, parents[i]);
      traces.push_back(points(dir.path / db));
      REQUIRE(traces.back().size() > 6 * 40);  // 6 runs, dozens of keys each
    }
    for (size_t i = 1; i < traces.size(); ++i) {
      CAPTURE(parents[i]);
      const auto diff = differing(traces[0], traces[i]);
      CHECK(diff.empty());
      if (!diff.empty()) MESSAGE("first differing key: " << diff.front());
    }
    // Every run recorded the environment it computed in, the same everywhere.
    Store store = Store::open_read_only((dir.path / "p1.db").string());
    for (const auto& r : store.runs()) {
      CHECK(r.execution.recorded());
      CHECK(r.execution.numeric.find("\"effective\":{\"aten_capability\":\"avx2\"") !=
            std::string::npos);
      CHECK(r.execution.max_steps == 15);
    }

    // Not vacuous: another numeric environment computes other bits for the same runs.
    std::string other = std::string(kCampaign) +
                        "numeric: {aten_capability: default, openblas_coretype: Sandybridge, "
                        "onednn_isa: sse41}\n";
    write(dir.path / "other.yaml", other);
    run_ok("run other.yaml --db other.db --max-steps 15 --jobs 2", dir.path);
    const auto elsewhere = points(dir.path / "other.db");
    const auto diff = differing(traces[0], elsewhere);
    CHECK(elsewhere.size() == traces[0].size());  // the same runs (ids), the same keys
    CHECK(diff.size() > elsewhere.size() / 4);
    std::set<std::string> programs_differing;
    for (const auto& r : Store::open_read_only((dir.path / "other.db").string()).runs())
      for (const auto& k : diff)
        if (k.rfind(r.spec.run_uuid, 0) == 0) programs_differing.insert(r.spec.program);
    CHECK(programs_differing.size() == 3);  // BLAS, oneDNN and ATen kernels each matter
  }

  TEST_CASE("Bad numeric input is refused before anything is written") {
    TempDir dir;
    // Unknown values: a clear error naming file, line, key and value; no database.
    const std::map<std::string, std::string> cases = {
        {"numeric:\n  aten_capability: avx1024\n",
         "c.yaml:8: key 'numeric.aten_capability' "
         "value 'avx1024'"},
        {"numeric:\n  openblas_coretype: Zen9\n",
         "c.yaml:8: key 'numeric.openblas_coretype' "
         "value 'Zen9'"},
        {"numeric: {onednn_isa: avx1024}\n", "key 'numeric.onednn_isa' value 'avx1024'"}};
    for (const auto& [numeric, expected] : cases) {
      write(dir.path / "c.yaml", std::string(kCampaign) + numeric);
      for (const std::string cmd : {"plan c.yaml --db t.db", "run c.yaml --db t.db"}) {
        const auto r = run_cli(cmd, dir.path);
        INFO(cmd << "\n" << r.out);
        CHECK(r.code == 1);
        CHECK(r.out.find(expected) != std::string::npos);
        CHECK_FALSE(fs::exists(dir.path / "t.db"));
      }
    }

    // A capability this CPU lacks: refused before any run starts, naming what the CPU offers.
    const std::string avx2_cpu = "DYNFAULT_TEST_CPU_FLAGS='pni ssse3 sse4_1 sse4_2 avx avx2 fma'";
    write(dir.path / "c.yaml", std::string(kCampaign) + "numeric: {aten_capability: avx512}\n");
    const auto fresh = run_cli("run c.yaml --db t.db", dir.path, avx2_cpu);
    INFO(fresh.out);
    CHECK(fresh.code == 1);
    CHECK(fresh.out.find("numeric.aten_capability 'avx512' needs CPU features") !=
          std::string::npos);
    CHECK(fresh.out.find("This CPU offers aten_capability default, avx2; openblas_coretype "
                         "Prescott, Core2, Nehalem, Sandybridge, Haswell, Zen; onednn_isa sse41, "
                         "avx, avx2") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "t.db"));
    // Planned elsewhere (plan warns, and records it), run here: refused, the database unchanged.
    const auto planned = run_ok("plan c.yaml --db t.db", dir.path, avx2_cpu);
    CHECK(planned.out.find("this machine cannot run it") != std::string::npos);
    const std::string before = read_bytes(dir.path / "t.db");
    const auto refused = run_cli("run --db t.db", dir.path, avx2_cpu);
    CHECK(refused.code == 1);
    CHECK(refused.out.find("no run can start in it here") != std::string::npos);
    CHECK(read_bytes(dir.path / "t.db") == before);
  }

  TEST_CASE("A campaign/database environment mismatch is refused unless allowed") {
    TempDir dir;
    write(dir.path / "c.yaml", kCampaign);
    run_ok("plan c.yaml --db t.db", dir.path);
    run_ok("run --db t.db --max-steps 3 --limit 2", dir.path);
    const std::string before = read_bytes(dir.path / "t.db");

    write(dir.path / "c.yaml",
          std::string(kCampaign) + "numeric:\n  openblas_coretype: Sandybridge\n");
    for (const std::string cmd : {"plan c.yaml --db t.db", "run c.yaml --db t.db"}) {
      const auto r = run_cli(cmd, dir.path);
      INFO(cmd << "\n" << r.out);
      CHECK(r.code == 1);
      CHECK(r.out.find("computes in the numeric environment recorded when it was planned (ATen "
                       "avx2, OpenBLAS Haswell") != std::string::npos);
      CHECK(r.out.find("asks for ATen avx2, OpenBLAS Sandybridge") != std::string::npos);
      CHECK(r.out.find("--allow-numeric-change") != std::string::npos);
      CHECK(read_bytes(dir.path / "t.db") == before);
    }

    // Allowed: the remaining runs execute in the new environment and say so.
    const auto allowed =
        run_ok("run c.yaml --db t.db --max-steps 3 --allow-numeric-change", dir.path);
    CHECK(allowed.out.find("execute in ATen avx2, OpenBLAS Sandybridge") != std::string::npos);
    Store store = Store::open_read_only((dir.path / "t.db").string());
    int sandybridge = 0;
    for (const auto& r : store.runs()) {
      CHECK(r.status == "FINISHED");
      sandybridge += r.execution.numeric.find("Sandybridge") != std::string::npos ? 1 : 0;
    }
    CHECK(sandybridge == 4);
    CHECK(store.campaign_numeric("numeric")->numeric_json.find("Haswell") != std::string::npos);
    const auto status = run_ok("status --db t.db", dir.path);
    CHECK(status.out.find("6 with an execution record; 4 in another numeric environment") !=
          std::string::npos);
  }

  TEST_CASE("A schema-1 database: upgraded, and its unpinned runs are not mixed silently") {
    TempDir dir;
    fs::copy_file(fs::path(DYNFAULT_SOURCE_DIR) / "tests/db/fixtures/schema1.db",
                  dir.path / "legacy.db");
    const auto refused = run_cli("run --db legacy.db --max-steps 4", dir.path);
    INFO(refused.out);
    CHECK(refused.code == 1);
    CHECK(refused.out.find("planned before dynfault recorded numeric environments, and its 3 "
                           "finished runs") != std::string::npos);
    run_ok("run --db legacy.db --max-steps 4 --allow-numeric-change", dir.path);
    Store store = Store::open_read_only((dir.path / "legacy.db").string());
    std::string fresh;
    for (const auto& r : store.runs()) {
      CHECK(r.status == "FINISHED");
      if (r.execution.recorded()) fresh = r.spec.run_uuid;
    }
    REQUIRE_FALSE(fresh.empty());
    // The run executed now replays without flags; one of schema 1 says what it lacks.
    const auto replay = run_ok("replay " + fresh + " --db legacy.db", dir.path);
    CHECK(replay.out.find("reproduced bitwise") != std::string::npos);
    CHECK(replay.out.find("max 4 steps") != std::string::npos);
    const auto old = run_cli(
        "replay a31419661a06b16d5011ab7847e70c3a --db legacy.db "
        "--max-steps 4",
        dir.path);
    CHECK(old.out.find("stored before dynfault recorded how runs were executed") !=
          std::string::npos);
    // Planning the campaign again with this build adds nothing: the runs keep their old ids.
    const auto text = store.campaign_config("legacy");
    REQUIRE(text);
    write(dir.path / "legacy.yaml", *text);
    const auto replan = run_ok("plan legacy.yaml --db legacy.db", dir.path);
    CHECK(replan.out.find("0 new, 4 already present (4 of them under the ids an older build "
                          "gave them)") != std::string::npos);
  }

  TEST_CASE("Stale runs are reported by plan and re-executed by run --rerun-stale") {
    TempDir dir;
    write(dir.path / "c.yaml", "name: stale\nseed: 2\nprograms: [iris_mlp, moons_mlp]\n");
    run_ok("run c.yaml --db t.db --max-steps 3", dir.path);
    std::string edited;
    int64_t computed_at = 0;
    {
      // What an older build computed for moons_mlp under the same id: another hidden width (a
      // default value changed, which docs/extending.md forbids, is how this happens).
      Store store = Store::open((dir.path / "t.db").string(), false);
      for (const auto& r : store.runs()) {
        if (r.spec.program != "moons_mlp") continue;
        auto recipe = nlohmann::json::parse(r.spec.recipe_json);
        recipe["layers"][0]["out"] = 5;
        store.database()
            .prepared("UPDATE runs SET recipe_json = ?2 WHERE run_uuid = ?1")
            .bind_all(r.spec.run_uuid, recipe.dump())
            .step_and_reset();
        edited = r.spec.run_uuid;
        computed_at = r.end_time;
      }
    }
    REQUIRE_FALSE(edited.empty());
    const auto plan = run_ok("plan c.yaml --db t.db --verbose", dir.path);
    CHECK(plan.out.find("0 new, 1 already present") != std::string::npos);
    CHECK(plan.out.find("1 of the 2 planned runs are stale") != std::string::npos);
    CHECK(plan.out.find("stale: " + edited +
                        " (moons_mlp clean, repetition 0, FINISHED): "
                        "recipe differs in layers") != std::string::npos);
    const auto rerun = run_ok("run --db t.db --rerun-stale --max-steps 3", dir.path);
    CHECK(rerun.out.find("--rerun-stale: 1 stale run(s) to replace and execute") !=
          std::string::npos);
    CHECK(rerun.out.find("executed 1 runs") != std::string::npos);
    Store store = Store::open_read_only((dir.path / "t.db").string());
    CHECK(store.runs().size() == 2);
    for (const auto& r : store.runs()) CHECK(r.status == "FINISHED");
    const auto again = store.run(edited);  // the id names this build's recipe: computed anew
    REQUIRE(again);
    CHECK(nlohmann::json::parse(again->spec.recipe_json)["layers"][0]["out"] != 5);
    CHECK(again->end_time > computed_at);
    // The campaign is named 'stale': look for the report, not the word.
    CHECK(run_ok("plan c.yaml --db t.db", dir.path).out.find("planned runs are stale") ==
          std::string::npos);
  }
}
