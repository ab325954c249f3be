// End to end: `dynfault train` saves a diagnoser fitted on a tiny campaign, `dynfault diagnose`
// applies it to a stored run and to the same run exported as a per-epoch CSV, and bad input
// (unknown run, misnamed CSV column, foreign or newer model file, existing output) is refused.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "db/store.h"
#include "tests/e2e/cli_util.h"

namespace fs = std::filesystem;
using dynfault::e2e::read_bytes;
using dynfault::e2e::run_cli;
using dynfault::e2e::TempDir;
using Json = nlohmann::json;

namespace {

const char* kCampaign = R"(name: diag
seed: 5
repetitions: 2
timeout_s: 120
programs: [iris_mlp]
faults:
  - mutator: lr_scale
    params: {factor: 1000.0}
  - mutator: optimizer_change
    params: {to: adagrad}
)";

/// The JSON document printed by `diagnose --format json` (the last '{' block of the output).
Json parse_json(const std::string& out) {
  const auto start = out.find('{');
  REQUIRE(start != std::string::npos);
  return Json::parse(out.substr(start));
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("train saves a diagnoser; diagnose reads a stored run and its per-epoch CSV") {
    TempDir tmp("dynfault-e2e-diagnose");
    const fs::path& dir = tmp.path;
    std::ofstream(dir / "c.yaml") << kCampaign;
    for (const char* step : {"plan c.yaml --db t.db", "run --db t.db --jobs 2 --max-steps 12",
                             "labels --db t.db", "features --db t.db --sets deepfd"}) {
      const auto r = run_cli(step, dir);
      INFO(r.out);
      REQUIRE(r.code == 0);
    }
    std::string faulty;
    {
      auto store = dynfault::db::Store::open_read_only((dir / "t.db").string());
      for (const auto& l : store.labels("fault_type/default4"))
        if (l.label == "optimizer") faulty = l.run_uuid;
    }
    REQUIRE_FALSE(faulty.empty());

    const auto train = run_cli(
        "train --db t.db --task fault_type/default4 --features deepfd "
        "--diagnoser logistic_regression --out fault.model",
        dir);
    INFO(train.out);
    REQUIRE(train.code == 0);
    CHECK(read_bytes(dir / "fault.model").rfind("dynfault_model 3\n", 0) == 0);
    const auto train2 = run_cli(
        "train --db t.db --task detection --features deepfd --diagnoser random_forest "
        "--out detect.model",
        dir);
    INFO(train2.out);
    REQUIRE(train2.code == 0);

    // A stored faulty run, two models at once.
    const auto diag = run_cli("diagnose --db t.db --run " + faulty +
                                  " --model fault.model --model detect.model --format json",
                              dir);
    INFO(diag.out);
    REQUIRE(diag.code == 0);
    const Json j = parse_json(diag.out);
    REQUIRE(j["diagnoses"].size() == 2);
    const Json& fault = j["diagnoses"][0];
    CHECK(fault["task"] == "fault_type/default4");
    std::set<std::string> taxonomy;
    for (const auto& c : fault["task_classes"]) taxonomy.insert(c.get<std::string>());
    CHECK(taxonomy.count(fault["predicted"].get<std::string>()) == 1);
    double sum = 0;
    for (const auto& p : fault["probabilities"]) sum += p["p"].get<double>();
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(fault["explanation"]["method"] == "linear");
    CHECK(fault["explanation"]["features"].size() >= 1);
    CHECK(fault["explanation"]["features"].size() <= 5);
    const Json& detect = j["diagnoses"][1];
    CHECK(detect["task"] == "detection");
    CHECK(detect["explanation"]["method"] == "occlusion");
    const std::string detect_class = detect["predicted"].get<std::string>();
    CHECK((detect_class == "clean" || detect_class == "faulty"));

    // The text form names the prediction and the method.
    const auto text = run_cli("diagnose --db t.db --run " + faulty + " --model fault.model", dir);
    CHECK(text.code == 0);
    CHECK(text.out.find("predicted: " + fault["predicted"].get<std::string>()) !=
          std::string::npos);
    CHECK(text.out.find("top features (linear") != std::string::npos);

    // The same run as a per-epoch CSV gives the same prediction and probabilities.
    const auto csv = run_cli("trace-csv " + faulty + " --db t.db --out run.csv", dir);
    INFO(csv.out);
    REQUIRE(csv.code == 0);
    CHECK(read_bytes(dir / "run.csv").find("epoch,train_loss,train_metric,val_loss,val_metric") !=
          std::string::npos);
    const auto from_csv = run_cli(
        "diagnose --trace run.csv --model fault.model --model detect.model --format json", dir);
    INFO(from_csv.out);
    REQUIRE(from_csv.code == 0);
    const Json k = parse_json(from_csv.out);
    REQUIRE(k["diagnoses"].size() == 2);
    for (size_t m = 0; m < 2; ++m) {
      CHECK(k["diagnoses"][m]["predicted"] == j["diagnoses"][m]["predicted"]);
      for (size_t c = 0; c < j["diagnoses"][m]["probabilities"].size(); ++c)
        CHECK(k["diagnoses"][m]["probabilities"][c]["p"].get<double>() ==
              doctest::Approx(j["diagnoses"][m]["probabilities"][c]["p"].get<double>())
                  .epsilon(1e-12));
    }

    // Only the required columns: the gradient and weight monitors are missing, never 0, and
    // the diagnosis names the inputs that would provide them.
    {
      std::ifstream in(dir / "run.csv");
      std::ofstream out(dir / "required.csv");
      for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') {
          out << line << '\n';
          continue;
        }
        size_t cut = 0;
        for (int c = 0; c < 5; ++c) cut = line.find(',', cut) + 1;
        out << line.substr(0, line.find(',', cut)) << '\n';
      }
    }
    const auto required = run_cli("diagnose --trace required.csv --model fault.model", dir);
    INFO(required.out);
    REQUIRE(required.code == 0);
    CHECK(required.out.find("missing: 64 of 172 features") != std::string::npos);
    CHECK(required.out.find("add grad/first_last_ratio to get 8 more features "
                            "(ft_explode_gradient_*)") != std::string::npos);
    const Json req = parse_json(
        run_cli("diagnose --trace required.csv --model fault.model --format json", dir).out);
    CHECK(req["diagnoses"][0]["missing_features"] == 64);
    CHECK(req["diagnoses"][0]["imputed_share"].get<double>() == doctest::Approx(64.0 / 172));
    size_t grouped = 0;
    for (const auto& g : req["diagnoses"][0]["missing_by_input"])
      grouped += g["count"].get<size_t>();
    CHECK(grouped == 64);

    // Many traces in one call: a directory, a list file, one line or row per trace; a bad file
    // is an error line among the others and makes the exit status 1.
    fs::create_directories(dir / "batch" / "sub");
    fs::copy_file(dir / "run.csv", dir / "batch" / "a.csv");
    fs::copy_file(dir / "required.csv", dir / "batch" / "sub" / "b.csv");
    std::ofstream(dir / "batch" / "keras.csv")
        << "epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.2,0.4,1.3\n1,0.6,1.0,0.5,1.1\n";
    std::ofstream(dir / "list.txt") << "# traces\nrun.csv\n\nbatch\n";
    const auto lines = run_cli(
        "diagnose --traces-from list.txt --model fault.model --model detect.model --format jsonl",
        dir);
    INFO(lines.out);
    CHECK(lines.code == 0);
    std::vector<Json> docs;
    std::istringstream ls(lines.out);
    for (std::string line; std::getline(ls, line);)
      if (!line.empty() && line[0] == '{') docs.push_back(Json::parse(line));
    REQUIRE(docs.size() == 4);
    CHECK(docs[0]["input"]["trace"] == "run.csv");
    CHECK(docs[2]["input"]["format"] == "keras");  // batch/a.csv, batch/keras.csv, batch/sub/b.csv
    for (const auto& doc : docs) CHECK(doc["diagnoses"].size() == 2);
    CHECK(docs[0]["diagnoses"][0]["predicted"] == j["diagnoses"][0]["predicted"]);
    std::ofstream(dir / "batch" / "z_bad.csv") << "epoch,loss\n0,\x01oops\n";
    const auto rows =
        run_cli("diagnose --trace run.csv batch --model fault.model --format csv", dir);
    INFO(rows.out);
    CHECK(rows.code == 1);
    CHECK(rows.out.find("trace,format,epochs,outcome,m1_predicted,") == 0);
    CHECK(rows.out.find("z_bad.csv") != std::string::npos);
    CHECK(rows.out.find("\\x01oops") != std::string::npos);
    CHECK(rows.out.find("1 of 5 traces could not be diagnosed") != std::string::npos);

    // Bad input: clear errors, non-zero exits, nothing written.
    const auto no_run = run_cli("diagnose --db t.db --run deadbeef --model fault.model", dir);
    CHECK(no_run.code != 0);
    CHECK(no_run.out.find("no run 'deadbeef'") != std::string::npos);

    std::ofstream(dir / "bad.csv")
        << "epoch,train_loss,trian_metric,val_loss,val_metric\n0,1,2,3,4\n";
    const auto bad_csv = run_cli("diagnose --trace bad.csv --model fault.model", dir);
    CHECK(bad_csv.code != 0);
    CHECK(bad_csv.out.find("bad.csv:1") != std::string::npos);
    CHECK(bad_csv.out.find("column 3") != std::string::npos);
    CHECK(bad_csv.out.find("trian_metric") != std::string::npos);
    std::ofstream(dir / "short.csv") << "epoch,train_loss,val_loss\n0,1,2\n";
    const auto short_csv = run_cli("diagnose --trace short.csv --model fault.model", dir);
    CHECK(short_csv.code != 0);
    CHECK(short_csv.out.find("missing column 'train_metric'") != std::string::npos);

    for (const std::string planned : {"--planned-epochs=-3", "--planned-epochs -3"}) {
      const auto negative = run_cli("diagnose --trace run.csv --model fault.model " + planned, dir);
      CAPTURE(planned);
      CHECK(negative.code != 0);  // was taken as "not given"
      CHECK(negative.out.find("-3") != std::string::npos);
    }
    // The options that describe a log: each refused with its name.
    const std::vector<std::pair<std::string, std::string>> misuse = {
        {"--trace run.csv --outcome finished", "--outcome must be one of"},
        {"--trace run.csv --trace-format kerass", "did you mean 'keras'"},
        {"--db t.db --run " + faulty + " --outcome completed", "go with --trace only"},
        {"--db t.db --run " + faulty + " --planned-epochs 3", "go with --trace only"}};
    for (const auto& [options, message] : misuse) {
      const auto r = run_cli("diagnose --model fault.model " + options, dir);
      CAPTURE(options);
      CHECK(r.code != 0);
      CHECK(r.out.find(message) != std::string::npos);
    }
    std::ofstream(dir / "empty.txt") << "# nothing yet\n\n";
    const auto empty_list = run_cli("diagnose --traces-from empty.txt --model fault.model", dir);
    CHECK(empty_list.code != 0);  // printed nothing and exited 0
    CHECK(empty_list.out.find("names no trace") != std::string::npos);
    const auto planned_zero =
        run_cli("diagnose --trace run.csv --model fault.model --planned-epochs 0", dir);
    CHECK(planned_zero.code == 0);

    const auto not_model = run_cli("diagnose --trace run.csv --model run.csv", dir);
    CHECK(not_model.code != 0);
    CHECK(not_model.out.find("not a dynfault model file") != std::string::npos);
    std::string v4 = read_bytes(dir / "fault.model");
    v4.replace(0, std::string("dynfault_model 3").size(), "dynfault_model 4");
    std::ofstream(dir / "v4.model", std::ios::binary) << v4;
    const auto newer = run_cli("diagnose --trace run.csv --model v4.model", dir);
    CHECK(newer.code != 0);
    CHECK(newer.out.find("version 4 is not supported") != std::string::npos);

    const std::string before = read_bytes(dir / "fault.model");
    const auto again = run_cli(
        "train --db t.db --features deepfd --diagnoser random_forest --out fault.model", dir);
    CHECK(again.code != 0);
    CHECK(again.out.find("--force") != std::string::npos);
    CHECK(read_bytes(dir / "fault.model") == before);
    const auto unknown =
        run_cli("train --db t.db --features deepfd --diagnoser nope --out x.model", dir);
    CHECK(unknown.code != 0);
    CHECK(unknown.out.find("unknown diagnoser 'nope'") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "x.model"));
    CHECK_FALSE(fs::exists(dir / "x.model.tmp"));
    CHECK(run_cli("diagnose --db t.db --model fault.model", dir).code == 2);  // no --run/--trace
  }
}
