// Extending the fault catalogue touches one file: an operator defined only here is listed by the
// registry, planned from a campaign YAML, and run by the process executor into a stored trace.
// The worker (the real `dynfault` binary, which has never heard of this operator) trains the
// run from its stored recipe: an operator is a pure Recipe -> Recipe function, so its change
// and its fault record travel inside the run spec and no other file needs to know it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "db/store.h"
#include "mutators/mutator.h"
#include "mutators/mutator_util.h"
#include "runner/campaign.h"
#include "runner/executor.h"
#include "runner/numeric_libraries.h"

namespace fs = std::filesystem;
using namespace dynfault;

namespace dynfault::mutators {
namespace {

// docs:begin custom-operator
/// Trains `extra` epochs more than the program asks for. Applies to: every program that trains
/// at least one epoch. Symptom: longer training, a growing train/validation gap (overfitting).
/// Source: a dynfault example (tests/runner/test_custom_operator.cpp).
class ExampleEpochsAdd final : public EditMutator {
 public:
  std::string id() const override { return "example_epochs_add"; }
  std::string category() const override { return "hyperparameter"; }
  std::string description() const override { return "Adds `extra` epochs of training."; }
  std::string symptom() const override { return "longer training, overfitting"; }
  std::vector<ParamSpec> params() const override {
    return {integer_param("extra", 1, 1, 10, "epochs to add")};
  }

 protected:
  std::string precondition(const Recipe& r, const Json&) const override {
    return r.epochs > 0 ? "" : "the program trains for no epoch";
  }
  std::string edit(Recipe& r, const Json& p) const override {
    return set_field("epochs", r.epochs, r.epochs + p.at("extra").get<int64_t>());
  }
  std::string no_op(const Recipe& r, const Json&) const override {
    return already("the number of epochs", r.epochs);
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "example_epochs_add", std::make_shared<ExampleEpochsAdd>());
// docs:end custom-operator
}  // namespace dynfault::mutators

TEST_SUITE("runner") {
  TEST_CASE("An operator defined only in a test file is listed, planned and run") {
    // Listed.
    const auto ids = mutators::mutator_ids();
    CHECK(std::find(ids.begin(), ids.end(), "example_epochs_add") != ids.end());

    // Planned, from a campaign file like any other.
    std::string tmpl = (fs::temp_directory_path() / "dynfault-operator-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    const fs::path dir = tmpl;
    const fs::path yaml = dir / "c.yaml";
    std::ofstream(yaml) << R"(name: custom_operator
seed: 5
repetitions: 1
clean: false
timeout_s: 120
programs: [iris_mlp]
overrides: {epochs: 2}
faults:
  - mutator: example_epochs_add
    params: {extra: 1}
)";
    const auto campaign = runner::load_campaign(yaml.string());
    const auto plan = runner::plan_campaign(campaign);
    REQUIRE(plan.runs.size() == 1);
    const auto& spec = plan.runs[0];
    CHECK(spec.fault_ids == "example_epochs_add");
    CHECK(programs::Json::parse(spec.recipe_json)["epochs"] == 3);
    const std::string db_path = (dir / "t.db").string();
    {
      db::Store store = db::Store::open(db_path);
      store.upsert_campaign(campaign.name, campaign.text, campaign.hash);
      REQUIRE(store.insert_runs(plan.runs) == 1);
    }

    // Run, by the process executor and a `dynfault worker`.
    runner::ExecuteOptions eo;
    eo.db_path = db_path;
    eo.jobs = 1;
    eo.worker_binary = DYNFAULT_BINARY;
    eo.libraries = runner::library_versions_json();
    const auto summary = runner::execute(eo);
    CHECK(summary.progress.finished == 1);

    db::Store store = db::Store::open(db_path, false);
    const auto row = store.run(spec.run_uuid);
    REQUIRE(row.has_value());
    CHECK(row->status == "FINISHED");
    CHECK(row->outcome == "completed");
    // The stored run carries the operator's change and its fault record ...
    CHECK(programs::Json::parse(row->spec.recipe_json)["epochs"] == 3);
    const auto faults = programs::Json::parse(row->spec.faults_json);
    REQUIRE(faults.size() == 1);
    CHECK(faults[0]["mutator"] == "example_epochs_add");
    CHECK(faults[0]["params"]["extra"] == 1);
    CHECK(faults[0]["change"] == "epochs: 2 -> 3");
    // ... and the trace shows it took effect: three epochs trained, not the overridden two.
    const auto trace = store.trace(spec.run_uuid);
    const auto* loss = trace.find("epoch/train_loss");
    REQUIRE(loss != nullptr);
    CHECK(loss->size() == 3);
    fs::remove_all(dir);
  }
}
