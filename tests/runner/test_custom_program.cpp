// Extending the program catalogue touches one file: a program defined only here is listed by the
// registry, planned from a campaign YAML, run by the process executor and featurised. The
// worker (the real `dynfault` binary, which has never heard of this program) trains the run from
// its stored Recipe, and `dynfault labels` / `dynfault features` read the stored trace: a
// program is a Recipe, so nothing else needs to know it. docs/extending.md quotes this file.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "db/store.h"
#include "programs/catalogue.h"
#include "programs/registry.h"
#include "runner/campaign.h"
#include "runner/executor.h"
#include "runner/numeric_libraries.h"

namespace fs = std::filesystem;
using namespace dynfault;

namespace dynfault::programs {
namespace {

// docs:begin custom-program
/// A two-moons MLP in the shape of scikit-learn's MLP examples, small enough for a test.
Recipe example_tiny_moons() {
  Recipe r = make_program("example_tiny_moons", "mlp", "binary", "synthetic");
  r.provenance.source = "dynfault test: tests/runner/test_custom_program.cpp";
  r.provenance.changes = "a test fixture, not a reimplementation";
  r.provenance.satisfactory = 0.7;
  r.data = data_of("moons", {2}, 2, {{"n_train", 80}, {"n_test", 80}, {"noise", 0.2}});
  r.layers = {Linear(16), Act("relu"), Linear(1)};
  set_training(r, "bce_logits", adam(0.01), /*batch_size=*/16, /*epochs=*/3);
  return r;
}

}  // namespace

DYNFAULT_REGISTER(program_registry(), "example_tiny_moons", example_tiny_moons);
// docs:end custom-program

}  // namespace dynfault::programs

namespace {

/// Runs the real binary with `args`; returns its exit code, output appended to `out`.
int run_dynfault(const std::string& args, std::string& out) {
  const std::string cmd = "'" + std::string(DYNFAULT_BINARY) + "' " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

TEST_SUITE("runner") {
  TEST_CASE("A program defined only in a test file is listed, planned, run and featurised") {
    // Listed, next to the catalogue's programs.
    const auto ids = programs::program_ids();
    CHECK(std::find(ids.begin(), ids.end(), "example_tiny_moons") != ids.end());
    CHECK(programs::program("example_tiny_moons").data.name == "moons");

    // Planned, clean and with a fault, from a campaign file like any other.
    std::string tmpl = (fs::temp_directory_path() / "dynfault-program-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    const fs::path dir = tmpl;
    const fs::path yaml = dir / "c.yaml";
    std::ofstream(yaml) << R"(name: custom_program
seed: 7
repetitions: 1
clean: true
timeout_s: 120
programs: [example_tiny_moons]
faults:
  - mutator: lr_scale
    params: {factor: 100}
)";
    const auto campaign = runner::load_campaign(yaml.string());
    const auto plan = runner::plan_campaign(campaign);
    REQUIRE(plan.runs.size() == 2);
    const std::string db_path = (dir / "t.db").string();
    {
      db::Store store = db::Store::open(db_path);
      runner::StorePlanOptions o;
      o.libraries = runner::library_versions_json();
      REQUIRE(runner::store_plan(store, campaign, plan, o).added == 2);
      const auto programs_rows = store.programs();
      REQUIRE(programs_rows.size() == 1);
      CHECK(programs_rows[0].id == "example_tiny_moons");
    }

    // Run, by the process executor and `dynfault worker`.
    runner::ExecuteOptions eo;
    eo.db_path = db_path;
    eo.jobs = 1;
    eo.worker_binary = DYNFAULT_BINARY;
    eo.libraries = runner::library_versions_json();
    const auto summary = runner::execute(eo);
    CHECK(summary.progress.finished == 2);
    {
      db::Store store = db::Store::open(db_path, false);
      for (const auto& spec : plan.runs) {
        const auto row = store.run(spec.run_uuid);
        REQUIRE(row.has_value());
        CHECK(row->status == "FINISHED");
        const auto trace = store.trace(spec.run_uuid);
        const auto* loss = trace.find("epoch/train_loss");
        REQUIRE(loss != nullptr);
        CHECK(loss->size() == 3);
      }
    }

    // Labelled and featurised by the binary, from the stored traces alone.
    std::string out;
    REQUIRE(run_dynfault("labels --db '" + db_path + "'", out) == 0);
    REQUIRE(run_dynfault("features --db '" + db_path + "' --sets curves,deepfd", out) == 0);
    CAPTURE(out);
    db::Store store = db::Store::open(db_path, false);
    const auto curves = store.features("curves");
    CHECK(curves.rows.size() == 2);
    CHECK(store.features("deepfd").rows.size() == 2);
    fs::remove_all(dir);
  }
}
