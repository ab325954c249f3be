// End to end through the real `dynfault` binary: a tiny campaign (2 programs x 2 faults, a few
// steps each) into a temporary database, then labels, features and the protocol ladder; plus the
// promises about bad input (clear error, non-zero exit, database unchanged).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "db/store.h"
#include "tests/e2e/cli_util.h"

namespace fs = std::filesystem;
using dynfault::db::Store;

namespace {

using Result = dynfault::e2e::Cli;
using dynfault::e2e::read_bytes;

Result run_cli(const std::string& args, const fs::path& dir) {
  return dynfault::e2e::run_cli(args, dir);
}

fs::path temp_dir() { return dynfault::e2e::make_temp_dir("dynfault-e2e"); }

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

const char* kCampaign = R"(name: e2e
seed: 3
repetitions: 2
timeout_s: 120
programs: [iris_mlp, lstm_sine]
faults:
  - mutator: lr_scale
    params: {factor: 1000.0}
  - mutator: optimizer_change
    params: {to: adagrad}
)";

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("A tiny campaign flows from YAML to an evaluation table") {
    const fs::path dir = temp_dir();
    write(dir / "c.yaml", kCampaign);

    const auto plan = run_cli("plan c.yaml --db t.db", dir);
    INFO(plan.out);
    REQUIRE(plan.code == 0);
    CHECK(plan.out.find("12 runs over 2 programs") != std::string::npos);
    // Planning again adds nothing.
    const auto again = run_cli("plan c.yaml --db t.db", dir);
    CHECK(again.code == 0);
    CHECK(again.out.find("0 new, 12 already present") != std::string::npos);

    const auto run = run_cli("run --db t.db --jobs 2 --max-steps 12", dir);
    INFO(run.out);
    REQUIRE(run.code == 0);

    {
      Store store = Store::open((dir / "t.db").string(), false);
      const auto runs = store.runs();
      REQUIRE(runs.size() == 12);
      std::set<std::string> programs;
      for (const auto& r : runs) {
        CHECK(r.status == "FINISHED");
        CHECK_FALSE(r.outcome.empty());
        programs.insert(r.spec.program);
        const auto t = store.trace(r.spec.run_uuid);
        REQUIRE(t.find("train/loss") != nullptr);
        CHECK(t.find("train/loss")->size() >= 1);
      }
      CHECK(programs.size() == 2);
      CHECK(store.info("libtorch_version").value_or("").rfind("1.13", 0) == 0);
    }

    const auto status = run_cli("status --db t.db", dir);
    CHECK(status.code == 0);
    CHECK(status.out.find("FINISHED=12") != std::string::npos);

    const auto labels = run_cli("labels --db t.db", dir);
    INFO(labels.out);
    REQUIRE(labels.code == 0);
    const auto features = run_cli("features --db t.db --sets deepfd", dir);
    INFO(features.out);
    REQUIRE(features.code == 0);
    {
      Store store = Store::open((dir / "t.db").string(), false);
      const auto fault_type = store.labels("fault_type/default4");
      REQUIRE(fault_type.size() == 12);
      std::map<std::string, int> classes;
      for (const auto& l : fault_type) ++classes[l.label];
      CHECK(classes[""] == 4);  // clean runs have no fault type
      CHECK(classes["learning_rate"] == 4);
      CHECK(classes["optimizer"] == 4);
      const auto table = store.features("deepfd");
      CHECK(table.run_uuids.size() == 12);
      CHECK(table.names.size() > 100);
      for (const auto& row : table.rows) CHECK(row.size() == table.names.size());
    }

    const auto eval = run_cli(
        "evaluate --db t.db --sets deepfd --bootstrap 50 --protocols random,fault,program,dataset "
        "--diagnosers logistic_regression,random_forest --learner-seeds 2",
        dir);
    INFO(eval.out);
    REQUIRE(eval.code == 0);
    for (const char* text : {"random -> fault", "program -> dataset", "recall per class",
                             "label_rule", "2 learner seeds", "SD of balanced accuracy"})
      CHECK_MESSAGE(eval.out.find(text) != std::string::npos, text);
    size_t evaluation_rows = 0;
    {
      Store store = Store::open((dir / "t.db").string(), false);
      const auto rows = store.evaluation();
      REQUIRE_FALSE(rows.empty());
      evaluation_rows = rows.size();
      std::set<std::string> protocols;
      for (const auto& r : rows) protocols.insert(r.protocol);
      for (const char* p : {"random", "fault", "program", "dataset", "loss/random/fault",
                            "loss/fault/program", "loss/program/dataset", "loss/random/dataset"})
        CHECK_MESSAGE(protocols.count(p) == 1, p);
      // The stored program split never puts one program on both sides.
      const auto splits =
          store.splits(rows.front().evaluation_id, "fault_type/default4", "program");
      REQUIRE_FALSE(splits.empty());
      std::map<std::string, std::string> program_of;
      for (const auto& r : store.runs()) program_of[r.spec.run_uuid] = r.spec.program;
      std::map<std::string, std::set<int64_t>> folds_of_program;
      for (const auto& s : splits) folds_of_program[program_of[s.run_uuid]].insert(s.fold);
      for (const auto& [prog, folds] : folds_of_program) CHECK(folds.size() == 1);
    }

    // Bad evaluation input: a clear error naming it, a non-zero exit, nothing stored.
    const std::map<std::string, std::string> bad = {
        {"--protocols random,unseen", "unknown protocol 'unseen'"},
        {"--margin 0", "margin must be in (0, 1), got 0"},
        {"--margin 1.5", "margin must be in (0, 1), got 1.5"},
        {"--learner-seeds 0", "learner_seeds must be >= 1"},
        {"--bins 300", "max_bins must be in [2, 255], got 300"},
        {"--diagnoser-config bad_options.yaml", "bad_options.yaml:3: key 'knn.k' value '0'"},
        {"--diagnoser-config bins16.yaml --bins 300", "max_bins must be in [2, 255], got 300"}};
    write(dir / "bad_options.yaml", "diagnosers:\n  knn:\n    k: 0\n");
    write(dir / "bins16.yaml", "bins: 16\n");
    for (const auto& [flags, says] : bad) {
      CAPTURE(flags);
      const auto r = run_cli("evaluate --db t.db --sets deepfd --bootstrap 10 " + flags, dir);
      CHECK(r.code != 0);
      CHECK(r.out.find(says) != std::string::npos);
    }
    // A campaign of one program (another seed: the same runs would have the same ids and stay in
    // campaign e2e): no program can be held out.
    write(dir / "one.yaml",
          "name: one\nseed: 4\nrepetitions: 2\nclean: false\nprograms: [iris_mlp]\n"
          "faults:\n  - mutator: lr_scale\n    params: {factor: 1000.0}\n"
          "  - mutator: optimizer_change\n    params: {to: adagrad}\n");
    REQUIRE(run_cli("plan one.yaml --db t.db", dir).code == 0);
    REQUIRE(run_cli("run --db t.db --jobs 2 --max-steps 12", dir).code == 0);
    REQUIRE(run_cli("labels --db t.db --campaign one", dir).code == 0);
    REQUIRE(run_cli("features --db t.db --sets deepfd --campaign one", dir).code == 0);
    const auto one = run_cli("evaluate --db t.db --campaign one --sets deepfd --bootstrap 10", dir);
    INFO(one.out);
    CHECK(one.code != 0);
    CHECK(one.out.find("protocol 'program': needs at least 2 programs to hold one out, found 1 "
                       "(iris_mlp)") != std::string::npos);
    // ... without clean runs: detection is a task without two classes.
    const auto one_class = run_cli(
        "evaluate --db t.db --campaign one --sets deepfd --bootstrap 10 --tasks detection "
        "--protocols random",
        dir);
    INFO(one_class.out);
    CHECK(one_class.code != 0);
    CHECK(one_class.out.find("task 'detection' needs at least 2 classes, found 1 (faulty)") !=
          std::string::npos);
    {
      Store store = Store::open((dir / "t.db").string(), false);
      CHECK(store.evaluation().size() == evaluation_rows);
    }
    // The file's bins apply unless --bins is given; the rows record the value used.
    const auto bins_used = [&](const std::string& flags) {
      REQUIRE(run_cli("evaluate --db t.db --sets deepfd --bootstrap 10 --protocols random "
                      "--diagnosers random_forest " +
                          flags,
                      dir)
                  .code == 0);
      Store store = Store::open((dir / "t.db").string(), false);
      for (const auto& row : store.evaluation())
        if (row.metric == "balanced_accuracy" && row.protocol == "random" &&
            row.diagnoser == "random_forest")
          return nlohmann::json::parse(row.details).at("max_bins").get<int>();
      return -1;
    };
    CHECK(bins_used("--diagnoser-config bins16.yaml") == 16);
    CHECK(bins_used("--diagnoser-config bins16.yaml --bins 32") == 32);
    CHECK(bins_used("") == 255);
    fs::remove_all(dir);
  }

  TEST_CASE("Bad input gets a clear error, a non-zero exit and no database change") {
    const fs::path dir = temp_dir();
    write(dir / "good.yaml", "name: g\nprograms: [iris_mlp]\n");
    REQUIRE(run_cli("plan good.yaml --db t.db", dir).code == 0);
    const std::string before = read_bytes(dir / "t.db");

    const std::map<std::string, std::pair<std::string, std::string>> cases = {
        // file text -> (text that must appear in the message, what it is)
        {"malformed", {"name: b\nprograms: [iris_mlp\n", "bad.yaml:"}},
        {"unknown key", {"name: b\nprograms: all\nseeed: 3\n", "bad.yaml:3: key 'seeed'"}},
        {"unknown program",
         {"name: b\nprograms: [nope]\n", "bad.yaml:2: key 'programs' value 'nope'"}},
        {"unknown mutator",
         {"name: b\nprograms: all\nfaults:\n  - mutator: nope\n",
          "bad.yaml:4: key 'faults[0].mutator' value 'nope'"}},
        {"out of range",
         {"name: b\nprograms: all\nfaults:\n  - mutator: lr_scale\n    params: {factor: -1}\n",
          "bad.yaml:5: key 'faults[0].params.factor' value '-1'"}},
        {"wrong parameter type",
         {"name: b\nprograms: all\nfaults:\n  - mutator: lr_scale\n    params: {factor: huge}\n",
          "bad.yaml:5: key 'faults[0].params.factor' value 'huge'"}},
        {"inapplicable operator",
         {"name: b\nprograms: [lstm_sine]\nfaults:\n  - mutator: loss_change\n"
          "    params: {to: cross_entropy}\n    programs: [lstm_sine]\n",
          "bad.yaml:4: key 'programs' value 'lstm_sine'"}},
    };
    for (const auto& [what, c] : cases) {
      CAPTURE(what);
      write(dir / "bad.yaml", c.first);
      const auto r = run_cli("plan bad.yaml --db t.db", dir);
      INFO(r.out);
      CHECK(r.code != 0);
      CHECK(r.out.find(c.second) != std::string::npos);
      CHECK(read_bytes(dir / "t.db") == before);
    }

    // A database path that cannot be written.
    const auto unwritable = run_cli("plan good.yaml --db /proc/nonexistent/x.db", dir);
    CHECK(unwritable.code != 0);
    CHECK(unwritable.out.find("/proc/nonexistent/x.db") != std::string::npos);

    // A file that is not a dynfault database is refused and left alone.
    write(dir / "notes.db", "these are my notes, not a database\n");
    const auto foreign = run_cli("plan good.yaml --db notes.db", dir);
    CHECK(foreign.code != 0);
    CHECK(read_bytes(dir / "notes.db") == "these are my notes, not a database\n");

    // Unknown subcommand and bad flag values are usage errors.
    CHECK(run_cli("frobnicate", dir).code == 2);
    CHECK(run_cli("run --db t.db --jobs 0", dir).code != 0);
    CHECK(run_cli("run --db t.db --shard 3/2", dir).code != 0);
    fs::remove_all(dir);
  }

  TEST_CASE("Configs are found by --configs, DYNFAULT_CONFIGS, the install, the source tree") {
    const fs::path dir = temp_dir();
    const std::string source = std::string(DYNFAULT_SOURCE_DIR) + "/configs";
    const auto version = [&](const std::string& args, const std::string& env = "") {
      const auto r = dynfault::e2e::run_cli(args, dir, env);
      INFO(r.out);
      CHECK(r.code == 0);
      return r.out;
    };
    // The build tree's binary is not installed: the source tree's configs.
    CHECK(version("--version", "env -u DYNFAULT_CONFIGS -u DYNFAULT_CONFIG_DIR")
              .find("configs: " + source + " (the source tree)") != std::string::npos);
    fs::create_directories(dir / "a");
    fs::create_directories(dir / "b");
    const std::string a = (dir / "a").string(), b = (dir / "b").string();
    CHECK(version("--version", "DYNFAULT_CONFIGS=" + a)
              .find("configs: " + a + " (DYNFAULT_CONFIGS)") != std::string::npos);
    CHECK(version("--configs " + b + " --version", "DYNFAULT_CONFIGS=" + a)
              .find("configs: " + b + " (--configs)") != std::string::npos);
    const std::string old =
        version("--version", "env -u DYNFAULT_CONFIGS DYNFAULT_CONFIG_DIR=" + a);
    CHECK(old.find("configs: " + a + " (DYNFAULT_CONFIG_DIR)") != std::string::npos);
    CHECK(old.find("DYNFAULT_CONFIG_DIR is deprecated; set DYNFAULT_CONFIGS instead") !=
          std::string::npos);
    const auto missing = run_cli("--configs /nonexistent/configs --version", dir);
    CHECK(missing.code == 1);
    CHECK(missing.out.find("--configs names '/nonexistent/configs', which is not a directory") !=
          std::string::npos);

    // A campaign by name, from the configs directory; the flag may follow the command.
    const auto quick = run_cli("plan quick --dry-run", dir);
    CHECK(quick.out.find("campaign 'quick': 786 runs over 38 programs") != std::string::npos);
    // labels read the taxonomies and thresholds of the directory given.
    for (const char* f : {"taxonomies.yaml", "thresholds.yaml"})
      fs::copy_file(source + "/" + f, dir / "b" / f);
    write(dir / "b" / "thresholds.yaml", "instability: {no_such_key: 1}\n");
    write(dir / "c.yaml", "name: c\nprograms: [iris_mlp]\n");
    REQUIRE(run_cli("run c.yaml --db t.db --max-steps 2", dir).code == 0);
    const auto labels = run_cli("labels --db t.db --configs " + b, dir);
    CHECK(labels.code != 0);
    CHECK(labels.out.find(b + "/thresholds.yaml") != std::string::npos);
    CHECK(run_cli("labels --db t.db", dir).code == 0);
    fs::remove_all(dir);
  }

  TEST_CASE("list prints the registries as JSON for scripts") {
    const fs::path dir = temp_dir();
    const auto m = run_cli("list mutators --format json", dir);
    REQUIRE(m.code == 0);
    CHECK(m.out.find("\"lr_scale\"") != std::string::npos);
    CHECK(m.out.find("\"category\"") != std::string::npos);
    const auto p = run_cli("list programs --format json", dir);
    REQUIRE(p.code == 0);
    CHECK(p.out.find("\"iris_mlp\"") != std::string::npos);
    CHECK(p.out.find("\"source\"") != std::string::npos);

    // The catalogue sizes the issues promise: >= 40 operators in >= 8 categories, 38 programs.
    const auto mj = nlohmann::json::parse(m.out);
    std::set<std::string> categories;
    for (const auto& op : mj) categories.insert(op.at("category").get<std::string>());
    CHECK(mj.size() >= 40);
    CHECK(categories.size() >= 8);
    // Every program of the paper corpus (configs/dynfault.yaml lists them by name) is listed;
    // the registry may hold more.
    std::set<std::string> listed;
    for (const auto& prog : nlohmann::json::parse(p.out))
      listed.insert(prog.at("id").get<std::string>());
    const YAML::Node paper =
        YAML::LoadFile(std::string(DYNFAULT_SOURCE_DIR) + "/configs/dynfault.yaml")["programs"];
    REQUIRE(paper.IsSequence());
    CHECK(paper.size() == 38);
    for (const auto& id : paper) CHECK(listed.count(id.as<std::string>()) == 1);

    const auto f = run_cli("list features --format json", dir);
    REQUIRE(f.code == 0);
    std::map<std::string, size_t> columns;
    for (const auto& set : nlohmann::json::parse(f.out))
      columns[set.at("name").get<std::string>()] = set.at("columns").get<size_t>();
    for (const char* name :
         {"activation", "config", "curvature", "curves", "deepfd", "default", "optimizer"})
      CHECK(columns[name] > 0);
    // Per set and task, the columns the evaluation drops because they restate the label rule.
    std::map<std::string, nlohmann::json> inputs;
    for (const auto& set : nlohmann::json::parse(f.out))
      inputs[set.at("name").get<std::string>()] = set.at("label_inputs");
    auto lists = [&](const std::string& set, const std::string& task, const std::string& column) {
      const auto& cols = inputs[set].at(task);
      return std::find(cols.begin(), cols.end(), column) != cols.end();
    };
    CHECK(lists("curves", "instability", "outcome_nan_loss"));
    CHECK(lists("curves", "instability", "epochs_run"));
    CHECK(lists("curves", "mismatch", "final_metric_gap"));
    CHECK(lists("deepfd", "instability", "ft_unstable_loss_max"));
    CHECK(lists("default", "instability", "def_increase_loss"));
    CHECK_FALSE(lists("curves", "mismatch", "outcome_nan_loss"));
    for (const char* set : {"optimizer", "config", "curvature", "activation"})
      for (const char* task : {"instability", "mismatch", "effective", "detection",
                               "fault_type/default4", "fault_type/default7"})
        CHECK(inputs[set].at(task).empty());
    for (const char* set : {"curves", "deepfd", "default"})
      CHECK(inputs[set].at("fault_type/default4").empty());
    const auto d = run_cli("list diagnosers --format json", dir);
    REQUIRE(d.code == 0);
    std::map<std::string, std::string> bound;
    for (const auto& x : nlohmann::json::parse(d.out))
      bound[x.at("name").get<std::string>()] = x.at("feature_set").get<std::string>();
    CHECK(bound["deepfd"] == "deepfd");
    CHECK(bound["default_rf"] == "default");
    CHECK(bound["logistic_regression"] == "any");
    CHECK(bound.size() >= 9);

    const auto bad = run_cli("list nope", dir);
    CHECK(bad.code == 2);
    CHECK(bad.out.find("programs, mutators, features or diagnosers") != std::string::npos);
    fs::remove_all(dir);
  }
}
