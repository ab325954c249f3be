// dynfault merge: shard databases become one; idempotent; refuses what is not the same campaign
// and schema, and never changes a source.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "db/database.h"
#include "db/merge.h"
#include "db/store.h"
#include "tests/test_check.h"
#include "tests/test_files.h"

using dynfault::test::has;

namespace {

namespace fs = std::filesystem;
using dynfault::db::Database;
using dynfault::db::DbError;
using dynfault::db::merge_databases;
using dynfault::db::OpenMode;
using dynfault::db::RunResult;
using dynfault::db::RunSpec;
using dynfault::db::Store;

/// A scratch directory for one test case, removed with its contents afterwards.
struct Scratch : dynfault::test::ScratchDir {
  Scratch() : ScratchDir("dynfault_merge") {}
  std::string operator()(const std::string& name) const { return file(name); }
};

std::string run_id(int i) {
  char id[33];
  std::snprintf(id, sizeof id, "%08x%024x", 0xabc00000u + static_cast<unsigned>(i), 0u);
  return id;
}

RunSpec planned(int i) {
  RunSpec s;
  s.run_uuid = run_id(i);
  s.campaign = "camp";
  s.program = i % 2 ? "iris_mlp" : "lstm_sine";
  s.faults_json = "[]";
  s.seed = i;
  s.recipe_json = "{}";
  return s;
}

/// A shard as a job-array task leaves it: the whole plan, `finished` of it executed. Metric keys
/// are recorded in an order that depends on `key_order`, so key ids differ between shards.
void make_shard(const std::string& path, const std::vector<int>& finished, int key_order,
                const std::string& config_hash = "hash-1") {
  Store store = Store::open(path);
  store.upsert_campaign("camp", "name: camp\n", config_hash);
  std::vector<RunSpec> specs;
  for (int i = 0; i < 6; ++i) specs.push_back(planned(i));
  store.insert_runs(specs);
  const std::vector<std::string> keys = key_order == 0
                                            ? std::vector<std::string>{"train/loss", "grad/norm"}
                                            : std::vector<std::string>{"grad/norm", "train/loss"};
  for (int i : finished) {
    REQUIRE(store.mark_running(run_id(i), 1000));
    RunResult r;
    r.run_uuid = run_id(i);
    r.start_time = 1000;
    r.end_time = 2000 + i;
    r.outcome = i == 3 ? "nan_loss" : "completed";
    for (const auto& key : keys)
      for (int step = 0; step < 3; ++step) {
        const double v = i == 3 && step == 2 ? std::numeric_limits<double>::quiet_NaN()
                                             : (key == "train/loss" ? 1.0 : 2.0) / (1 + step + i);
        r.metrics.push_back({key, step, v, 1000 + step});
      }
    store.write_result(r);
  }
  if (!finished.empty())
    store.write_labels("fault_type/default4", {{run_id(finished[0]), "lr", ""}});
}

/// Everything a merge may change, as text: runs, metrics by key name, labels, campaigns.
std::string dump(const std::string& path) {
  Database db(path, OpenMode::kReadOnly);
  std::ostringstream out;
  for (const char* sql :
       {"SELECT run_uuid, campaign, status, outcome, attempts, end_time FROM runs ORDER BY 1",
        "SELECT run_uuid, key, step, quote(value), is_nan FROM v_metrics ORDER BY 1, 2, 3",
        "SELECT run_uuid, task, label FROM labels ORDER BY 1, 2",
        "SELECT name, config_hash FROM campaigns ORDER BY 1", "SELECT key FROM metric_keys"}) {
    auto s = db.prepare(sql);
    while (s.step()) {
      for (int c = 0; c < s.column_count(); ++c) out << s.column_text(c) << '|';
      out << '\n';
    }
  }
  return out.str();
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string refusal(Store& target, const std::vector<std::string>& sources) {
  try {
    merge_databases(target, sources);
  } catch (const DbError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("db") {
  TEST_CASE("Shards merge into the union of their finished runs, metrics and labels") {
    Scratch dir;
    make_shard(dir("a.db"), {0, 2, 4}, 0);
    make_shard(dir("b.db"), {1, 3, 5}, 1);
    const std::string a_bytes = bytes_of(dir("a.db")), b_bytes = bytes_of(dir("b.db"));
    {
      Store target = Store::open(dir("m.db"));
      const auto report = merge_databases(target, {dir("a.db"), dir("b.db")});
      REQUIRE(report.sources.size() == 2);
      CHECK(report.sources[0].runs_new == 6);       // the whole plan, 3 of it finished
      CHECK(report.sources[1].runs_replaced == 3);  // finished in b, scheduled in the target
      CHECK(report.sources[1].runs_kept == 3);
      CHECK(report.sources[1].metric_points == 18);
      for (const auto& r : target.runs()) CHECK(r.status == "FINISHED");
      // Values arrive under their key names although the two shards numbered keys differently.
      const auto t3 = target.trace(run_id(3));
      REQUIRE(t3.find("train/loss") != nullptr);
      CHECK(t3.find("train/loss")->values[0] == 1.0 / 4);
      CHECK(t3.find("grad/norm")->values[1] == 2.0 / 5);
      CHECK(std::isnan(t3.find("train/loss")->values[2]));  // NaN stays NaN
      CHECK(target.labels("fault_type/default4").size() == 2);
      CHECK(target.check_integrity(true) == "ok");
    }
    // Sources are only read.
    CHECK(bytes_of(dir("a.db")) == a_bytes);
    CHECK(bytes_of(dir("b.db")) == b_bytes);
  }

  TEST_CASE("Merging twice, or in the other order, equals merging once") {
    Scratch dir;
    make_shard(dir("a.db"), {0, 1, 2}, 0);
    make_shard(dir("b.db"), {2, 3}, 1);
    {
      Store once = Store::open(dir("once.db"));
      merge_databases(once, {dir("a.db"), dir("b.db")});
    }
    {
      Store twice = Store::open(dir("twice.db"));
      merge_databases(twice, {dir("a.db"), dir("b.db")});
      const auto again = merge_databases(twice, {dir("b.db"), dir("a.db")});
      for (const auto& s : again.sources) {
        CHECK(s.runs_new == 0);
        CHECK(s.runs_replaced == 0);
        CHECK(s.metric_points == 0);
      }
    }
    CHECK(dump(dir("once.db")) == dump(dir("twice.db")));
  }

  TEST_CASE("A finished run in the target is never replaced; a further one replaces a failed") {
    Scratch dir;
    make_shard(dir("t.db"), {0}, 0);
    make_shard(dir("s.db"), {0, 1}, 1);
    {
      Store source = Store::open(dir("s.db"));
      RunResult changed;  // not what a deterministic run does: shows which copy wins
      changed.run_uuid = run_id(0);
      changed.metrics.push_back({"train/loss", 0, 99.0, 1});
      source.write_result(changed);
    }
    {
      Store target = Store::open(dir("t.db"));
      REQUIRE(target.mark_running(run_id(1), 5));
      RunResult failed;
      failed.run_uuid = run_id(1);
      failed.status = "FAILED";
      failed.outcome = "crashed";
      REQUIRE(target.finish_running(failed));
    }
    Store target = Store::open(dir("t.db"));
    merge_databases(target, {dir("s.db")});
    CHECK(target.trace(run_id(0)).find("train/loss")->values[0] == 1.0);  // the target's
    CHECK(target.run(run_id(1))->status == "FINISHED");                   // the source's
    CHECK(target.run(run_id(1))->outcome == "completed");
  }

  TEST_CASE("Merging refuses other campaigns, other schemas, damaged files and the target") {
    Scratch dir;
    make_shard(dir("t.db"), {0}, 0);
    make_shard(dir("good.db"), {1}, 0);
    make_shard(dir("other.db"), {2}, 0, "hash-2");  // same name, different config
    const std::string before = dump(dir("t.db"));
    Store target = Store::open(dir("t.db"));
    std::string why;

    SUBCASE("a campaign of the same name with another config") {
      why = refusal(target, {dir("good.db"), dir("other.db")});
      CHECK(has(why, "different campaign"));
    }
    SUBCASE("two sources that disagree with each other") {
      Store empty = Store::open(dir("empty.db"));
      why = refusal(empty, {dir("other.db"), dir("good.db")});
      CHECK(has(why, "different campaign"));
      CHECK(empty.runs().empty());
    }
    SUBCASE("the target itself") {
      why = refusal(target, {dir("good.db"), dir("t.db")});
      CHECK(has(why, "itself"));
    }
    SUBCASE("a newer schema version") {
      { Database(dir("good.db"), OpenMode::kReadWrite).set_user_version(3); }
      why = refusal(target, {dir("good.db")});
      CHECK(has(why, "schema version 3"));
    }
    SUBCASE("a file that is not a database, and a missing one") {
      std::ofstream(dir("notes.db")) << "not a database\n";
      CHECK(has(refusal(target, {dir("notes.db")}), "refusing to merge"));
      why = refusal(target, {dir("missing.db")});
      CHECK(has(why, "no such database"));
    }
    SUBCASE("a damaged database") {
      std::string bytes = bytes_of(dir("good.db"));
      REQUIRE(bytes.size() > 3 * 4096);
      for (size_t i = 2 * 4096 + 16; i < 3 * 4096; ++i) bytes[i] = static_cast<char>(0x5A);
      std::ofstream(dir("good.db"), std::ios::binary | std::ios::trunc) << bytes;
      why = refusal(target, {dir("good.db")});
      CHECK(has(why, "refusing to merge"));
    }
    INFO(why);
    CHECK_FALSE(why.empty());
    CHECK(dump(dir("t.db")) == before);  // nothing merged when any source is refused
  }
}
