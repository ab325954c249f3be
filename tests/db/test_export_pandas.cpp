// docs/export.md promises that pandas reads the CSV export back exactly: this runs the pandas
// block of that page, as written there, on an export of 20,000 random doubles (NaN and +-inf
// included) and compares every value bit for bit. Skipped, with a message, where no python3 can
// import pandas (Debian: python3-pandas, which scripts/setup.sh installs).
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "db/export.h"
#include "db/store.h"

namespace fs = std::filesystem;
using namespace dynfault;

namespace {

std::string python_with_pandas() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    const std::string cmd = std::string(py) + " -c 'import pandas' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

std::string run(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = ::pclose(p);
  return out;
}

bool bitwise(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_SUITE("db") {
  TEST_CASE("pandas reads the CSV export back bit for bit with the documented snippet") {
    const std::string py = python_with_pandas();
    if (py.empty()) {
      MESSAGE(
          "SKIPPED: no python3 with pandas (apt-get install python3-pandas); the "
          "docs/export.md pandas block was not run");
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "dynfault_pandas_XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    const fs::path tmp = pattern;

    // 50 runs x 400 features of random doubles over 60 orders of magnitude, a few NaN and inf.
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto draw = [&] {
      const double u = unit(rng);
      if (u < 0.01) return std::numeric_limits<double>::quiet_NaN();
      if (u < 0.015) return (u < 0.0125 ? 1 : -1) * std::numeric_limits<double>::infinity();
      return (unit(rng) < 0.5 ? -1 : 1) * std::exp(unit(rng) * 140 - 70);
    };
    db::Store store = db::Store::memory();
    store.upsert_campaign("c", "name: c\n", "h");
    std::vector<db::RunSpec> specs;
    db::FeatureTable table;
    table.feature_set = "deepfd";
    for (int c = 0; c < 400; ++c) table.names.push_back("f" + std::to_string(c));
    std::map<std::string, std::vector<double>> stored_metrics;
    for (int r = 0; r < 50; ++r) {
      db::RunSpec s;
      char id[33];
      std::snprintf(id, sizeof id, "%032x", r + 1);
      s.run_uuid = id;
      s.campaign = "c";
      s.program = "toy";
      s.family = "mlp";
      s.task = "multiclass";
      s.faults_json = "[]";
      s.recipe_json = "{}";
      specs.push_back(s);
      table.run_uuids.push_back(id);
      table.rows.emplace_back();
      for (int c = 0; c < 400; ++c) table.rows.back().push_back(draw());
    }
    store.insert_runs(specs);
    for (const auto& s : specs) {
      db::RunResult res;
      res.run_uuid = s.run_uuid;
      for (int k = 0; k < 20; ++k) res.metrics.push_back({"train/loss", k, draw(), 1000 + k});
      store.write_result(res);
    }
    store.write_features(table);
    db::ExportOptions o;
    o.out_dir = (tmp / "out").string();
    db::export_store(store, o);

    // The stored values in the export's order: features by run, metrics by row.
    std::map<std::string, std::vector<double>> features;
    for (size_t r = 0; r < table.run_uuids.size(); ++r)
      features[table.run_uuids[r]] = table.rows[r];
    std::vector<double> metrics;
    {
      std::ifstream in(tmp / "out" / "metrics.csv");
      std::string line;
      std::getline(in, line);  // header
      while (std::getline(in, line)) {
        // run_uuid,key,value,step,timestamp: the stored value of that point.
        std::vector<std::string> cells;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
        REQUIRE(cells.size() == 5);
        const db::Trace t = store.trace(cells[0]);
        metrics.push_back(t.find(cells[1])->values[static_cast<size_t>(std::stoll(cells[3]))]);
      }
    }
    REQUIRE(metrics.size() == 1000);

    for (const bool documented : {true, false}) {
      CAPTURE(documented);
      int status = 0;
      const std::string out =
          run(py + " '" + std::string(DYNFAULT_SOURCE_DIR) + "/tests/python/export_pandas.py' '" +
                  std::string(DYNFAULT_SOURCE_DIR) + "/docs/export.md' '" + (tmp / "out").string() +
                  "'" + (documented ? "" : " default") + " 2>&1",
              status);
      INFO(out.substr(0, 2000));
      REQUIRE(status == 0);
      std::istringstream lines(out);
      size_t compared = 0, differing = 0;
      for (std::string kind; lines >> kind;) {
        std::string hex;
        double stored = 0;
        if (kind == "features") {
          std::string run_id;
          size_t col = 0;
          lines >> run_id >> col >> hex;
          stored = features.at(run_id).at(col);
        } else {
          size_t row = 0;
          lines >> row >> hex;
          stored = metrics.at(row);
        }
        const double read = std::strtod(hex.c_str(), nullptr);
        ++compared;
        differing += bitwise(read, stored) ? 0 : 1;
      }
      CHECK(compared == 20000 + 1000);
      const std::string how =
          documented ? "float_precision=\"round_trip\"" : "pandas' default parser";
      MESSAGE(how << ": " << differing << " of " << compared
                  << " values differ from the stored doubles");
      if (documented) {
        CHECK(differing == 0);
      } else {
        CHECK(differing > 0);  // the option matters
      }
    }
    fs::remove_all(tmp);
  }
}
