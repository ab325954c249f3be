// The torch half of the numeric environment (runner/numeric_libraries.h): what this process's
// libraries are and use, and the versions `plan` and `run` hand the torch-free campaign library.
#include <doctest/doctest.h>
#include <torch/version.h>

#include <string>

#include "db/database.h"
#include "programs/recipe.h"
#include "runner/campaign.h"
#include "runner/executor.h"
#include "runner/numeric_libraries.h"

using namespace dynfault;
using runner::NumericEnv;

TEST_SUITE("runner") {
  TEST_CASE("numeric: this process reports what its libraries use") {
    // The test runs in CTest's environment, not a pinned one: it checks the report, not a value.
    const NumericEnv e = runner::effective_numeric_env(NumericEnv{});
    CHECK((e.aten_capability == "default" || e.aten_capability == "avx2" ||
           e.aten_capability == "avx512"));
    CHECK_FALSE(e.openblas_coretype.empty());
    CHECK_FALSE(e.onednn_isa.empty());
    const auto versions = runner::library_versions();
    CHECK(versions.at("libtorch").rfind("1.13", 0) == 0);
    CHECK(versions.at("openblas") != "");
    CHECK(versions.at("onednn") != "");
    CHECK(runner::numeric_mismatch(e).empty());  // what is in effect is in effect
  }

  TEST_CASE("numeric: the planner records this build's library versions as handed in") {
    db::Store store = db::Store::memory();
    const runner::Campaign c = runner::parse_campaign(
        "name: num\nseed: 2\nprograms: [iris_mlp]\nfaults:\n  - mutator: lr_scale\n"
        "    params: {factor: 10.0}\n",
        "num.yaml");
    runner::StorePlanOptions o;
    o.libraries = runner::library_versions_json();
    runner::store_plan(store, c, runner::plan_campaign(c), o);
    const auto recorded = store.campaign_numeric("num");
    REQUIRE(recorded);
    CHECK(recorded->libraries_json == runner::library_versions_json());
    CHECK(recorded->libraries_json.find("\"libtorch\":\"1.13") != std::string::npos);
    // The info table's libtorch_version comes from that record, and is the version the headers
    // of this build name (what it recorded when the coordinator read torch/version.h itself).
    CHECK(store.info("libtorch_version") == runner::library_versions().at("libtorch"));
    CHECK(runner::library_versions().at("libtorch") == TORCH_VERSION);
    CHECK(runner::environment_info(runner::library_versions_json()).at("libtorch_version") ==
          TORCH_VERSION);
  }
}
