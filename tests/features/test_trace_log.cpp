// Logs of other tools read into a trace (features/trace_csv.h): a small corpus of hand-written
// files in each format (tests/features/logs/, written from each tool's documented format) and their
// expected parse (<name>.expected: '# format: F', then key,step,value per point).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "common/check.h"
#include "features/csv_table.h"
#include "features/trace_csv.h"
#include "tests/test_check.h"
#include "tests/test_files.h"

using namespace dynfault;
namespace fs = std::filesystem;

namespace {

const std::string kLogs = std::string(DYNFAULT_SOURCE_DIR) + "/tests/features/logs";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string error_of(const std::string& text, const features::TraceLogOptions& o = {}) {
  try {
    features::parse_trace_log(text, "run.csv", o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

}  // namespace

TEST_SUITE("features") {
  TEST_CASE("Trace logs: every fixture parses as expected, format detected") {
    int files = 0;
    for (const auto& entry : fs::directory_iterator(kLogs)) {
      if (entry.path().extension() != ".csv") continue;
      ++files;
      const std::string csv = entry.path().string();
      CAPTURE(csv);
      std::string expected_format;
      std::map<std::string, std::vector<std::pair<int64_t, double>>> expected;
      std::istringstream ex(read(fs::path(entry.path()).replace_extension(".expected").string()));
      for (std::string line; std::getline(ex, line);) {
        if (line.rfind("# format: ", 0) == 0) {
          expected_format = line.substr(10);
          continue;
        }
        const auto a = line.find(','), b = line.rfind(',');
        double v = 0;
        REQUIRE(features::parse_number(line.substr(b + 1), v));
        expected[line.substr(0, a)].emplace_back(std::stoll(line.substr(a + 1, b - a - 1)), v);
      }
      REQUIRE(!expected.empty());
      const features::TraceLog log = features::read_trace_log(csv);
      CHECK(log.format == expected_format);
      CHECK(log.trace.series.size() == expected.size());
      for (const auto& [key, points] : expected) {
        CAPTURE(key);
        const db::Series* s = log.trace.find(key);
        REQUIRE(s != nullptr);
        REQUIRE(s->size() == points.size());
        for (size_t i = 0; i < points.size(); ++i) {
          CHECK(s->steps[i] == points[i].first);
          CHECK(same(s->values[i], points[i].second));
        }
      }
      // Naming the detected format gives the same trace.
      features::TraceLogOptions named;
      named.format = expected_format;
      CHECK(features::read_trace_log(csv, named).trace.series.size() == expected.size());
    }
    CHECK(files == 7);
    CHECK(features::expand_trace_paths({kLogs}, "").size() == 7);
  }

  TEST_CASE("Trace logs: metadata, planned epochs and step-level columns") {
    const auto log = features::read_trace_log(kLogs + "/dynfault_keys.csv");
    CHECK(log.trace.outcome == "completed");
    CHECK(log.trace.recipe_json == "{\"epochs\":4}");
    const auto lightning = features::read_trace_log(kLogs + "/lightning_metrics.csv");
    bool step_left_out = false;
    for (const auto& l : lightning.left_out)
      step_left_out = step_left_out || l.rfind("train_loss_step", 0) == 0;
    CHECK(step_left_out);
  }

  TEST_CASE(
      "Trace logs: unknown columns name the closest known one; mapping "
      "and ignoring") {
    const std::string keras = "epoch,accuracy,loss,f1,val_accuracy,val_loss\n0,0.5,1,0.4,0.5,1\n";
    const std::string err = error_of(keras);
    CHECK(err.find("run.csv:1") != std::string::npos);
    CHECK(err.find("column 4") != std::string::npos);
    CHECK(err.find("'f1'") != std::string::npos);
    CHECK(err.find("--ignore-columns f1") != std::string::npos);
    features::TraceLogOptions ignore;
    ignore.ignore_columns = {"f1"};
    CHECK(features::parse_trace_log(keras, "run.csv", ignore).trace.series.size() == 4);
    // An explicit mapping wins over recognition and over the column's own name.
    features::TraceLogOptions map;
    map.columns = {{"train_metric", "f1"}, {"final/test_metric", "accuracy"}};
    const auto mapped = features::parse_trace_log(keras, "run.csv", map).trace;
    CHECK(mapped.find("epoch/train_metric")->values[0] == 0.4);
    CHECK(mapped.find("final/test_metric")->values[0] == 0.5);
    map.columns = {{"train_metrik", "f1"}};
    CHECK_THROWS_WITH_AS(features::parse_trace_log(keras, "run.csv", map),
                         doctest::Contains("did you mean 'train_metric'"), ConfigError);
    // Misspelt probe columns are refused with the key that was meant.
    const std::string probe =
        "epoch,train_loss,train_metric,val_loss,val_metric,grad/globalnorm,"
        "weight/fc1.weight/maxabs\n0,1,1,1,1,1,1\n";
    CHECK(error_of(probe).find("did you mean 'grad/global_norm'") != std::string::npos);
    features::TraceLogOptions skip;
    skip.ignore_columns = {"grad/globalnorm"};
    CHECK(error_of(probe, skip).find("did you mean 'weight/fc1.weight/max_abs'") !=
          std::string::npos);
    // Two columns for one key, and a step-level key.
    features::TraceLogOptions keras_format;
    keras_format.format = "keras";
    CHECK(error_of("epoch,loss,train_loss,val_loss\n0,1,1,1\n", keras_format)
              .find("column given twice") != std::string::npos);
    CHECK(error_of("epoch,train_loss,train_metric,val_loss,val_metric,time/step_ms\n")
              .find("step-level") != std::string::npos);
  }

  TEST_CASE("Trace logs: bad cells keep file, line and column; bytes are escaped") {
    const std::string err = error_of(
        "# outcome: "
        "completed\nepoch,train_loss,train_metric,val_loss,val_metric\n"
        "0,1,1,1,1\n1,1,\x01\xfe\x1b[2J,1,1\n");
    CHECK(err.find("run.csv:4") != std::string::npos);
    CHECK(err.find("column 3 (train_metric)") != std::string::npos);
    CHECK(err.find("\\x01\\xfe\\x1b[2J") != std::string::npos);
    CHECK(err.find('\x1b') == std::string::npos);
    CHECK(error_of("epoch,train_loss,train_metric,val_loss,val_metric\n1,1,1,1,"
                   "1\n0,1,1,1,1\n")
              .find("strictly increasing") != std::string::npos);
    CHECK(error_of("epoch,loss\n0,\"1\n").find("not closed") != std::string::npos);
    CHECK(error_of("run,tag,step,value\ntrain,epoch_loss,0,1\ntrain,epoch_loss,0,2\n")
              .find("given twice") != std::string::npos);
    features::TraceLogOptions keras_format;
    keras_format.format = "keras";
    CHECK(error_of("epoch,accuracy\n0,1\n", keras_format).find("no training loss") !=
          std::string::npos);
    CHECK(error_of("epoch,train_metric,val_loss,val_metric\n0,1,1,1\n")
              .find("missing column 'train_loss'") != std::string::npos);
    features::TraceLogOptions bad;
    bad.format = "kerass";
    CHECK_THROWS_WITH_AS(features::parse_trace_log("epoch,loss\n0,1\n", "run.csv", bad),
                         doctest::Contains("did you mean 'keras'"), ConfigError);
  }

  TEST_CASE("Trace logs: quoted cells, a comment with a comma, CRLF line ends") {
    const auto log = features::parse_trace_log(
        "# note: written by hand, with a "
        "comma\r\n\"epoch\",\"loss\",\"val_loss\"\r\n"
        "0,\"1.5\",2\r\n1,1.25,\"1.75\"\r\n",
        "q.csv");
    CHECK(log.format == "keras");
    CHECK(log.trace.find("epoch/train_loss")->values == std::vector<double>{1.5, 1.25});
    CHECK(log.trace.find("epoch/val_loss")->values == std::vector<double>{2, 1.75});
  }

  TEST_CASE("Trace lists: comments, line numbers, and only a regular file is read") {
    test::ScratchDir dir("dynfault-tracelist");
    const std::string list = dir.file("list.txt");
    std::ofstream(list) << "# logs of the first machine\n\n  " << kLogs
                        << "/keras_csvlogger.csv \r\n"
                        << kLogs << "\n";
    const auto paths = features::expand_trace_paths({}, list);
    REQUIRE(paths.size() == 8);  // the file, then the directory's seven
    CHECK(paths[0] == kLogs + "/keras_csvlogger.csv");

    // A listed path that does not exist is named with the list's file and line.
    std::ofstream(list) << "# one\n" << kLogs << "/keras_csvlogger.csv\nmissing.csv\n";
    CHECK(test::has(test::error_of([&] { features::expand_trace_paths({}, list); }),
                    "list.txt:3: no trace file 'missing.csv'"));
    // A binary file given as the list: refused at the line of its first NUL byte.
    std::ofstream(list, std::ios::binary) << std::string("a.csv\nb\0c\n", 9);
    const std::string nul =
        test::error_of<ConfigError>([&] { features::expand_trace_paths({}, list); });
    CHECK(test::has(nul, "list.txt:2: "));
    CHECK(test::has(nul, "NUL"));
    // A device, a directory or a missing file as the list: refused before anything is read.
    for (const std::string& bad :
         std::vector<std::string>{"/dev/zero", dir.path.string(), dir.file("none.txt")})
      CHECK(test::has(test::error_of<ConfigError>([&] { features::expand_trace_paths({}, bad); }),
                      "list of traces"));
  }
}
