// The numeric environment of a campaign: parsed strictly, checked against the CPU before any run,
// recorded by the planner, and kept to by every later plan and run unless a change is allowed.
#include <doctest/doctest.h>

#include <string>

#include "common/check.h"
#include "db/database.h"
#include "runner/campaign.h"
#include "runner/numeric.h"
#include "tests/runner/campaign_fixtures.h"

using namespace dynfault;
using runner::NumericEnv;

namespace {

std::string campaign_text(const std::string& numeric) {
  return "name: num\nseed: 2\nprograms: [iris_mlp]\nfaults:\n  - mutator: lr_scale\n"
         "    params: {factor: 10.0}\n" +
         numeric;
}

runner::Campaign parse(const std::string& numeric) {
  return runner::parse_campaign(campaign_text(numeric), "num.yaml");
}

ConfigError parse_error(const std::string& numeric) {
  try {
    parse(numeric);
  } catch (const ConfigError& e) {
    return e;
  }
  FAIL("expected a ConfigError for:\n" << numeric);
  return ConfigError("unreachable");
}

/// A CPU with only these flags.
runner::CpuInfo cpu(const std::string& model, std::set<std::string> flags) {
  return runner::CpuInfo{model, std::move(flags)};
}

/// Everything a campaign row and its runs hold, to show that a refusal wrote nothing.
std::string snapshot(db::Store& store) {
  std::string out;
  auto select = store.database().prepare(
      "SELECT name || config_hash || coalesce(numeric_json, '-') || coalesce(libraries_json, '-') "
      "FROM campaigns UNION ALL SELECT run_uuid || status || recipe_json FROM runs ORDER BY 1");
  while (select.step()) out += select.column_text(0) + "\n";
  return out;
}

}  // namespace

TEST_SUITE("campaign") {
  TEST_CASE("numeric: parses with defaults portable to any x86-64 CPU with AVX2") {
    const NumericEnv defaults = parse("").numeric;
    CHECK(defaults.aten_capability == "avx2");
    CHECK(defaults.openblas_coretype == "Haswell");
    CHECK(defaults.onednn_isa == "avx2");
    CHECK(defaults.intra_op_threads == 1);
    CHECK(defaults.blas_threads == 1);
    CHECK(defaults.pinned());
    // Every default runs on a CPU with AVX2 and FMA alone.
    CHECK_NOTHROW(runner::require_cpu_supports(
        defaults, cpu("an AVX2 CPU", {"pni", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma"})));

    const NumericEnv e = parse(
                             "numeric:\n  aten_capability: avx512\n  openblas_coretype: "
                             "skylakex\n  onednn_isa: off\n  intra_op_threads: 2\n")
                             .numeric;
    CHECK(e.aten_capability == "avx512");
    CHECK(e.openblas_coretype == "SkylakeX");  // OpenBLAS ignores case; the record does not
    CHECK(e.onednn_isa == "off");
    CHECK(e.intra_op_threads == 2);
    CHECK(NumericEnv::from_json(e.to_json()) == e);
    CHECK_FALSE(parse("numeric: {aten_capability: auto}\n").numeric.pinned());

    const auto vars = e.variables();
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"ATEN_CPU_CAPABILITY", "avx512"},
        {"MKL_NUM_THREADS", "2"},
        {"OMP_NUM_THREADS", "2"},
        {"OPENBLAS_CORETYPE", "SkylakeX"},
        {"OPENBLAS_NUM_THREADS", "1"}};
    CHECK(vars == expected);  // oneDNN off: no ISA variable; the worker switches it off
    // auto leaves the library's variable unset: its own choice, not the parent's.
    for (const auto& [name, value] : parse("numeric: {aten_capability: auto, openblas_coretype: "
                                           "auto, onednn_isa: auto}\n")
                                         .numeric.variables())
      CHECK(name.find("NUM_THREADS") != std::string::npos);
  }

  TEST_CASE("numeric: unknown values name file, line, key and value") {
    const auto capability = parse_error("numeric:\n  aten_capability: avx1024\n");
    CHECK(capability.file() == "num.yaml");
    CHECK(capability.line() == 8);
    CHECK(capability.key() == "numeric.aten_capability");
    CHECK(capability.value() == "avx1024");
    CHECK(std::string(capability.what()).find("default, avx2, avx512, auto") != std::string::npos);

    const auto core = parse_error("numeric:\n  aten_capability: avx2\n  openblas_coretype: Zen5\n");
    CHECK(core.line() == 9);
    CHECK(core.key() == "numeric.openblas_coretype");
    CHECK(core.value() == "Zen5");
    CHECK(std::string(core.what()).find("Haswell") != std::string::npos);

    CHECK(parse_error("numeric: {onednn_isa: avx512_core_amx}\n").key() == "numeric.onednn_isa");
    CHECK(parse_error("numeric: {intra_op_threads: 0}\n").key() == "numeric.intra_op_threads");
    CHECK(parse_error("numeric: {blas_threads: 300}\n").key() == "numeric.blas_threads");
    CHECK(parse_error("numeric: {aten: avx2}\n").key() == "numeric.aten");
    CHECK(parse_error("numeric: {intra_op_threads: two}\n").key() == "numeric.intra_op_threads");
    CHECK_THROWS_AS(NumericEnv::from_json("{\"aten_capability\": \"avx2\"}"), Error);
  }

  TEST_CASE("numeric: a capability the CPU lacks is refused, naming what it offers") {
    const auto avx2_only =
        cpu("Old CPU", {"pni", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma"});
    NumericEnv e;
    e.aten_capability = "avx512";
    try {
      runner::require_cpu_supports(e, avx2_only);
      FAIL("expected a refusal");
    } catch (const Error& err) {
      const std::string what = err.what();
      CHECK(what.find("numeric.aten_capability 'avx512'") != std::string::npos);
      CHECK(what.find("Old CPU") != std::string::npos);
      CHECK(what.find("avx512bw") != std::string::npos);
      CHECK(what.find("aten_capability default, avx2;") != std::string::npos);
      CHECK(what.find("openblas_coretype Prescott, Core2, Nehalem, Sandybridge, Haswell, Zen;") !=
            std::string::npos);
      CHECK(what.find("onednn_isa sse41, avx, avx2") != std::string::npos);
    }
    e = NumericEnv{};
    e.openblas_coretype = "Cooperlake";
    CHECK_THROWS_WITH_AS(runner::require_cpu_supports(e, avx2_only),
                         doctest::Contains("numeric.openblas_coretype 'Cooperlake'"), Error);
    const auto sse_only = cpu("Older CPU", {"pni", "ssse3", "sse4_1", "sse4_2"});
    CHECK_THROWS_WITH_AS(runner::require_cpu_supports(NumericEnv{}, sse_only),
                         doctest::Contains("needs CPU features"), Error);
    NumericEnv portable;
    portable.aten_capability = "default";
    portable.openblas_coretype = "Nehalem";
    portable.onednn_isa = "sse41";
    CHECK_NOTHROW(runner::require_cpu_supports(portable, sse_only));
    portable.onednn_isa = "off";
    portable.aten_capability = "auto";
    CHECK_NOTHROW(runner::require_cpu_supports(portable, sse_only));
  }

  TEST_CASE("numeric: the planner records it; another one for the campaign is refused") {
    db::Store store = db::Store::memory();
    const runner::Campaign c = parse("");
    runner::store_plan(store, c, runner::plan_campaign(c), fixtures::plan_options());
    const auto recorded = store.campaign_numeric("num");
    REQUIRE(recorded);
    CHECK(NumericEnv::from_json(recorded->numeric_json) == c.numeric);
    CHECK(recorded->libraries_json == fixtures::kLibraries);
    CHECK(store.info("libtorch_version") == "1.13.0");  // from the library versions handed in

    // The same campaign with its defaults spelt out: the same environment, the same campaign.
    const runner::Campaign spelt = parse("numeric: {aten_capability: avx2}\n");
    CHECK(runner::store_plan(store, spelt, runner::plan_campaign(spelt), fixtures::plan_options())
              .added == 0);

    // Another environment: refused, nothing written.
    const runner::Campaign other = parse("numeric: {aten_capability: default}\n");
    const std::string before = snapshot(store);
    CHECK_THROWS_WITH_AS(
        runner::store_plan(store, other, runner::plan_campaign(other), fixtures::plan_options()),
        doctest::Contains("--allow-numeric-change"), Error);
    CHECK(snapshot(store) == before);
    // Allowed: the campaign keeps its environment; the runs executed now use the new one.
    const auto allowed = runner::store_plan(store, other, runner::plan_campaign(other),
                                            fixtures::plan_options(/*allow_numeric_change=*/true));
    REQUIRE(allowed.numeric_change);
    CHECK(allowed.numeric_change->aten_capability == "default");
    CHECK(allowed.added == 0);
    CHECK(snapshot(store) == before);

    // Another campaign under the same name stays another campaign.
    const runner::Campaign different = runner::parse_campaign(
        "name: num\nseed: 3\nprograms: [iris_mlp]\nnumeric: {aten_capability: default}\n",
        "num2.yaml");
    CHECK_THROWS_WITH_AS(runner::store_plan(store, different, runner::plan_campaign(different),
                                            fixtures::plan_options(true)),
                         doctest::Contains("a different campaign under the same name"), Error);
  }

  TEST_CASE("numeric: execution keeps to the recorded environment and libraries") {
    db::Store store = db::Store::memory();
    const runner::Campaign c = parse("numeric: {openblas_coretype: Zen}\n");
    runner::store_plan(store, c, runner::plan_campaign(c), fixtures::plan_options());
    CHECK(runner::execution_env(store, "num", std::nullopt, false, fixtures::kLibraries).numeric ==
          c.numeric);
    CHECK_FALSE(
        runner::execution_env(store, "num", std::nullopt, false, fixtures::kLibraries).record);
    NumericEnv other = c.numeric;
    other.aten_capability = "default";
    CHECK_THROWS_WITH_AS(runner::execution_env(store, "num", other, false, fixtures::kLibraries),
                         doctest::Contains("refusing to run it in ATen default"), Error);
    CHECK(runner::execution_env(store, "num", other, true, fixtures::kLibraries).numeric == other);

    // Planned by a build with other libraries.
    store.set_campaign_numeric("num", {c.numeric.to_json(), "{\"libtorch\":\"2.1.0\"}"});
    CHECK_THROWS_WITH_AS(
        runner::execution_env(store, "num", std::nullopt, false, fixtures::kLibraries),
        doctest::Contains("another LibTorch, OpenBLAS or oneDNN"), Error);
    CHECK_NOTHROW(runner::execution_env(store, "num", std::nullopt, true, fixtures::kLibraries));

    // Planned before environments were recorded: recorded at the first run, unless runs finished.
    store.set_campaign_numeric("num", {"", ""});
    const auto first =
        runner::execution_env(store, "num", std::nullopt, false, fixtures::kLibraries);
    CHECK(first.record);
    CHECK(first.numeric == NumericEnv{});
    const auto run = store.runs().front().spec.run_uuid;
    REQUIRE(store.mark_running(run, 1));
    db::RunResult done;
    done.run_uuid = run;
    store.write_result(done);
    CHECK_THROWS_WITH_AS(
        runner::execution_env(store, "num", std::nullopt, false, fixtures::kLibraries),
        doctest::Contains("planned before dynfault recorded numeric"), Error);
    const auto allowed =
        runner::execution_env(store, "num", std::nullopt, true, fixtures::kLibraries);
    CHECK_FALSE(allowed.record);

    // A capability this CPU lacks is refused before anything runs.
    NumericEnv amx = c.numeric;
    amx.onednn_isa = "avx512_core_amx";
    CHECK_THROWS_AS(amx.validate(), ConfigError);
  }

  TEST_CASE("numeric: replay pins the kernels an auto run used") {
    NumericEnv requested;
    requested.aten_capability = "auto";
    requested.openblas_coretype = "auto";
    NumericEnv used = requested;
    used.aten_capability = "avx512";
    used.openblas_coretype = "Cooperlake";
    const std::string record =
        "{\"effective\":" + used.to_json() + ",\"requested\":" + requested.to_json() + "}";
    const NumericEnv replay = runner::numeric_env_to_replay(record);
    CHECK(replay.aten_capability == "avx512");
    CHECK(replay.openblas_coretype == "Cooperlake");
    CHECK(replay.onednn_isa == "avx2");
    CHECK(runner::numeric_env_to_replay("{\"requested\":" + requested.to_json() + "}") ==
          requested);
    CHECK_THROWS_AS(runner::numeric_env_to_replay("{}"), Error);
  }

  TEST_CASE("numeric: what differs between the requested and the effective environment") {
    const NumericEnv requested;
    NumericEnv used = requested;
    CHECK(runner::numeric_difference(requested, used).empty());
    used.openblas_coretype = "haswell";  // OpenBLAS ignores the case of core names
    CHECK(runner::numeric_difference(requested, used).empty());
    used.openblas_coretype = "Cooperlake";
    used.intra_op_threads = 2;
    CHECK(runner::numeric_difference(requested, used) ==
          "OpenBLAS uses core Cooperlake, not Haswell; LibTorch uses 2 intra-op threads, not 1");
    used = requested;
    used.openblas_coretype = "none";
    CHECK(runner::numeric_difference(requested, used) ==
          "the BLAS in use is not OpenBLAS, so its core type cannot be chosen");
    NumericEnv any = requested;
    any.aten_capability = any.openblas_coretype = any.onednn_isa = "auto";
    used.aten_capability = "avx512";
    CHECK(runner::numeric_difference(any, used).empty());  // auto: whatever the library chose
  }
}
