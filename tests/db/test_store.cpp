#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/version.h"
#include "db/database.h"
#include "db/schema.h"
#include "db/store.h"
#include "tests/test_files.h"

namespace {

using dynfault::db::Database;
using dynfault::db::DbError;
using dynfault::db::EvaluationRow;
using dynfault::db::FeatureTable;
using dynfault::db::LabelRow;
using dynfault::db::MetricPoint;
using dynfault::db::OpenMode;
using dynfault::db::RunResult;
using dynfault::db::RunSpec;
using dynfault::db::SplitRow;
using dynfault::db::Store;
using dynfault::db::Transaction;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// A scratch directory of this file's tests.
struct TempDir : dynfault::test::ScratchDir {
  TempDir() : ScratchDir("dynfault_db") {}
};

using dynfault::test::read_bytes;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The message of the DbError `f` throws ("" if it throws nothing).
std::string db_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DbError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string uuid(int i) {
  char buffer[33];
  std::snprintf(buffer, sizeof buffer, "%032x", static_cast<unsigned>(i));
  return buffer;
}

RunSpec spec(int i, const std::string& campaign = "c1") {
  RunSpec s;
  s.run_uuid = uuid(i);
  s.campaign = campaign;
  s.program = "mlp_" + std::to_string(i % 3);
  s.family = "mlp";
  s.task = "multiclass";
  s.faults_json = R"([{"mutator":"lr_scale","params":{"factor":10}}])";
  s.fault_ids = "lr_scale";
  s.seed = 1000 + i;
  s.repetition = i % 2;
  s.recipe_json = R"({"epochs":3})";
  s.timeout_s = 12.5;
  return s;
}

std::vector<RunSpec> specs(int first, int count, const std::string& campaign = "c1") {
  std::vector<RunSpec> out;
  for (int i = first; i < first + count; ++i) out.push_back(spec(i, campaign));
  return out;
}

/// `points` metric points over a few keys, grouped by key as the runner records them.
RunResult result_with(const std::string& run_uuid, int points) {
  RunResult r;
  r.run_uuid = run_uuid;
  r.start_time = 1'700'000'000'000;
  r.end_time = r.start_time + 5'000;
  const char* keys[] = {"train/loss", "time/step_ms", "grad/global_norm", "epoch/val_loss"};
  const int per_key = points / 4;
  for (const char* key : keys) {
    for (int s = 0; s < per_key; ++s) {
      r.metrics.push_back({key, s, 1.0 / (1 + s), r.start_time + s});
    }
  }
  return r;
}

/// Equal doubles, NaN equal to NaN. -0.0 equals 0.0: SQLite stores an integral REAL as an
/// integer, so the sign of a zero does not survive.
bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b;
}

int64_t count(Store& store, const std::string& sql) {
  auto s = store.database().prepare(sql);
  REQUIRE(s.step());
  return s.column_int64(0);
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

TEST_SUITE("db") {
  TEST_CASE("A new database has the current schema version and its info rows") {
    Store store = Store::memory();
    CHECK(store.database().user_version() == dynfault::db::kSchemaVersion);
    CHECK(dynfault::db::kSchemaVersion == 2);
    CHECK(store.info("schema") == std::optional<std::string>("dynfault"));
    CHECK(store.info("schema_version") == std::optional<std::string>("2"));
    CHECK(store.info("tool_version") == std::optional<std::string>(dynfault::kVersion));
    REQUIRE(store.info("created_ms").has_value());
    CHECK(std::stoll(*store.info("created_ms")) > 1'600'000'000'000LL);
    CHECK_FALSE(store.info("no such key").has_value());
    store.set_info("git_sha", "abc");
    store.set_info("git_sha", "def");
    CHECK(store.info("git_sha") == std::optional<std::string>("def"));

    REQUIRE(!dynfault::db::migrations().empty());
    CHECK(dynfault::db::migrations().back().version == dynfault::db::kSchemaVersion);
    CHECK(dynfault::db::migrations().front().sql == dynfault::db::schema_v1_sql());
  }

  TEST_CASE("A new database file is created in WAL mode and reopens unchanged") {
    TempDir dir;
    const std::string path = dir.file("new.db");
    std::string created;
    {
      Store store = Store::open(path);
      CHECK(store.path() == path);
      auto mode = store.database().prepare("PRAGMA journal_mode");
      REQUIRE(mode.step());
      CHECK(mode.column_text(0) == "wal");
      mode.reset();  // a statement in progress would block the commits below
      CHECK(count(store, "PRAGMA foreign_keys") == 1);
      CHECK(count(store, "PRAGMA synchronous") == 1);  // NORMAL
      created = *store.info("created_ms");
      store.insert_runs(specs(0, 2));
    }
    Store again = Store::open(path, /*create=*/false);
    CHECK(again.database().user_version() == dynfault::db::kSchemaVersion);
    CHECK(*again.info("created_ms") == created);
    CHECK(again.runs().size() == 2);
  }

  TEST_CASE("Opening a missing file without create is refused") {
    TempDir dir;
    const std::string path = dir.file("missing.db");
    const std::string error = db_error_of([&] { Store::open(path, /*create=*/false); });
    CHECK(contains(error, "no such database"));
    CHECK(contains(error, path));
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK(contains(db_error_of([&] { Store::open(dir.file("no/such/dir.db")); }), "dir.db"));
  }

  TEST_CASE("A database written by a newer schema is refused and left untouched") {
    TempDir dir;
    const std::string path = dir.file("newer.db");
    {
      Store store = Store::open(path);
      store.insert_runs(specs(0, 3));
    }
    {
      Database raw(path, OpenMode::kReadWrite);
      raw.set_user_version(99);
    }
    const std::string before = read_bytes(path);
    REQUIRE(before.size() > 0);
    const std::string error = db_error_of([&] { Store::open(path); });
    CHECK(contains(error, path));
    CHECK(contains(error, "written by a newer dynfault: schema version 99, this build knows 2"));
    CHECK(read_bytes(path) == before);
  }

  TEST_CASE("A file that is not SQLite is refused and left untouched") {
    TempDir dir;
    SUBCASE("a text file") {
      const std::string path = dir.file("notes.db");
      const std::string text = "run_uuid,label\nabc,loss\nthis is a CSV file, not a database\n";
      write_bytes(path, text);
      const std::string error = db_error_of([&] { Store::open(path); });
      CHECK(contains(error, path));
      CHECK(contains(error, "not an SQLite database"));
      CHECK(read_bytes(path) == text);
    }
    SUBCASE("a file shorter than the header") {
      const std::string path = dir.file("short.db");
      write_bytes(path, "SQLite");
      CHECK(contains(db_error_of([&] { Store::open(path); }), "not an SQLite database"));
      CHECK(read_bytes(path) == "SQLite");
    }
    SUBCASE("a directory") {
      CHECK(contains(db_error_of([&] { Store::open(dir.file("")); }), "directory"));
    }
  }

  TEST_CASE("A foreign SQLite database is refused and left untouched") {
    TempDir dir;
    const std::string path = dir.file("foreign.db");
    SUBCASE("with its own tables") {
      Database raw(path, OpenMode::kReadWriteCreate);
      raw.exec(
          "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
          "INSERT INTO users (name) VALUES ('ada'), ('grace');");
    }
    SUBCASE("with an info table but no dynfault marker") {
      Database raw(path, OpenMode::kReadWriteCreate);
      raw.exec(
          "CREATE TABLE info (key TEXT PRIMARY KEY, value TEXT);"
          "INSERT INTO info VALUES ('schema', 'mlflow');");
    }
    SUBCASE("with a user_version and no tables") {
      Database raw(path, OpenMode::kReadWriteCreate);
      raw.exec("CREATE TABLE t (x); DROP TABLE t;");
      raw.set_user_version(70);
    }
    const std::string before = read_bytes(path);
    const std::string error = db_error_of([&] { Store::open(path); });
    CHECK(contains(error, path));
    CHECK(contains(error, "not a dynfault database"));
    CHECK(read_bytes(path) == before);
  }

  TEST_CASE("A corrupt database is refused and left untouched") {
    TempDir dir;
    const std::string path = dir.file("corrupt.db");
    SUBCASE("garbage after a valid header") {
      std::string bytes("SQLite format 3\0", 16);
      for (int i = 0; i < 8192; ++i) bytes += static_cast<char>((i * 131 + 7) % 251);
      write_bytes(path, bytes);
    }
    SUBCASE("a dynfault database whose schema page is damaged") {
      { Store::open(path).insert_runs(specs(0, 50)); }
      std::string bytes = read_bytes(path);
      REQUIRE(bytes.size() > 4096);
      for (size_t i = 100; i < 4096; ++i) bytes[i] = static_cast<char>(0xA5);
      write_bytes(path, bytes);
    }
    const std::string before = read_bytes(path);
    const std::string error = db_error_of([&] { Store::open(path); });
    CHECK(contains(error, path));
    CHECK(contains(error, "refusing"));
    CHECK(read_bytes(path) == before);
  }

  TEST_CASE("An empty file and an empty SQLite database are initialised where one is created") {
    TempDir dir;
    const std::string path = dir.file("empty.db");
    SUBCASE("zero bytes") { write_bytes(path, ""); }
    SUBCASE("an SQLite file without tables") {
      Database raw(path, OpenMode::kReadWriteCreate);
      raw.exec("CREATE TABLE t (x); DROP TABLE t;");
    }
    const std::string before = read_bytes(path);
    CHECK(contains(db_error_of([&] { Store::open(path, /*create=*/false); }), "refusing"));
    CHECK(read_bytes(path) == before);  // only a command that creates databases initialises
    Store store = Store::open(path, /*create=*/true);
    CHECK(store.database().user_version() == dynfault::db::kSchemaVersion);
    CHECK(store.info("schema") == std::optional<std::string>("dynfault"));
  }

  TEST_CASE("An older schema is migrated in one transaction") {
    using dynfault::db::Migration;
    TempDir dir;
    const std::string path = dir.file("old.db");
    { Store::open(path).insert_runs(specs(0, 2)); }
    Database db(path, OpenMode::kReadWrite);
    std::vector<Migration> steps = dynfault::db::migrations();
    const Migration next{3, "add notes", "CREATE TABLE notes (run_uuid TEXT, note TEXT);"};
    steps.push_back(next);
    dynfault::db::apply_migrations(db, steps);
    CHECK(db.user_version() == 3);
    auto info = db.prepare(
        "SELECT group_concat(key || '=' || value, ',') FROM "
        "(SELECT key, value FROM info WHERE key IN "
        "('migrated_from', 'schema_version') ORDER BY key)");
    REQUIRE(info.step());
    CHECK(info.column_text(0) == "migrated_from=2,schema_version=3");
    info.reset();
    dynfault::db::apply_migrations(db, steps);  // already there: nothing to do
    CHECK(db.user_version() == 3);

    // A failing step rolls back every step of the call, and the stamp.
    steps.push_back(Migration{4, "add extra", "CREATE TABLE extra (x);"});
    steps.push_back(Migration{5, "broken", "CREATE TABLE more (y); CREATE TABLE notes (again);"});
    CHECK(contains(db_error_of([&] { dynfault::db::apply_migrations(db, steps); }),
                   "already exists"));
    CHECK(db.user_version() == 3);
    auto tables =
        db.prepare("SELECT count(*) FROM sqlite_schema WHERE name IN ('notes', 'extra', 'more')");
    REQUIRE(tables.step());
    CHECK(tables.column_int64(0) == 1);
    tables.reset();

    // This build (schema 2) refuses the migrated file.
    const std::string before = read_bytes(path);
    CHECK(
        contains(db_error_of([&] { Store::open(path); }), "schema version 3, this build knows 2"));
    CHECK(read_bytes(path) == before);
  }

  TEST_CASE("Inserting the same runs twice adds nothing the second time") {
    Store store = Store::memory();
    CHECK(store.insert_runs(specs(0, 3)) == 3);
    CHECK(store.insert_runs(specs(0, 4)) == 1);
    CHECK(store.insert_runs(specs(0, 4)) == 0);
    CHECK(store.insert_runs(specs(10, 2, "c2")) == 2);
    const auto rows = store.runs();
    REQUIRE(rows.size() == 6);
    for (const auto& row : rows) CHECK(row.status == "SCHEDULED");
    const auto& first = rows.front();
    const RunSpec expected = spec(0);
    CHECK(first.spec.run_uuid == expected.run_uuid);
    CHECK(first.spec.campaign == expected.campaign);
    CHECK(first.spec.program == expected.program);
    CHECK(first.spec.family == expected.family);
    CHECK(first.spec.task == expected.task);
    CHECK(first.spec.faults_json == expected.faults_json);
    CHECK(first.spec.fault_ids == expected.fault_ids);
    CHECK(first.spec.seed == expected.seed);
    CHECK(first.spec.repetition == expected.repetition);
    CHECK(first.spec.recipe_json == expected.recipe_json);
    CHECK(first.spec.timeout_s == expected.timeout_s);
    CHECK(first.attempts == 0);
    CHECK(first.start_time == 0);
    CHECK(first.outcome.empty());

    CHECK(store.runs({"c2", ""}).size() == 2);
    CHECK(store.runs({"c1", "SCHEDULED"}).size() == 4);
    CHECK(store.runs({"", "RUNNING"}).empty());
    CHECK(store.run(uuid(3)).has_value());
    CHECK_FALSE(store.run(uuid(99)).has_value());

    RunSpec bad = spec(50);
    bad.run_uuid = "ABC";
    CHECK(contains(db_error_of([&] { store.insert_runs({spec(51), bad}); }), "ABC"));
    CHECK_FALSE(store.run(uuid(51)).has_value());  // the whole batch was refused
  }

  TEST_CASE("Runs move through mark_running, heartbeat and the requeues") {
    Store store = Store::memory();
    store.insert_runs(specs(0, 4));
    CHECK(store.mark_running(uuid(0), 1000));
    CHECK_FALSE(store.mark_running(uuid(0), 1001));   // already claimed
    CHECK_FALSE(store.mark_running(uuid(99), 1001));  // no such run
    CHECK(store.mark_running(uuid(1), 1000));
    auto row = *store.run(uuid(0));
    CHECK(row.status == "RUNNING");
    CHECK(row.attempts == 1);
    CHECK(row.start_time == 1000);
    CHECK(row.heartbeat_time == 1000);

    store.heartbeat({uuid(0), uuid(2)}, 5000);  // run 2 is not running: untouched
    CHECK(store.run(uuid(0))->heartbeat_time == 5000);
    CHECK(store.run(uuid(2))->heartbeat_time == 0);

    CHECK(store.requeue_stale(4000) == 1);  // run 1's heartbeat (1000) is stale
    CHECK(store.run(uuid(1))->status == "SCHEDULED");
    CHECK(store.run(uuid(1))->attempts == 0);  // its coordinator died: the attempt is given back
    CHECK(store.run(uuid(0))->status == "RUNNING");
    CHECK(store.mark_running(uuid(1), 6000));
    CHECK(store.run(uuid(1))->attempts == 1);

    RunResult failed;
    failed.run_uuid = uuid(1);
    failed.status = "FAILED";
    failed.outcome = "crashed";
    failed.error = "worker died";
    store.write_result(failed);
    RunResult killed;
    killed.run_uuid = uuid(2);
    killed.status = "KILLED";
    killed.outcome = "timeout";
    store.write_result(killed);
    CHECK(store.run(uuid(1))->error == "worker died");
    CHECK(store.run(uuid(1))->start_time == 6000);  // kept: the result had no start time

    const auto counts = store.status_counts("c1");
    const std::vector<std::pair<std::string, int64_t>> expected = {
        {"FAILED", 1}, {"KILLED", 1}, {"RUNNING", 1}, {"SCHEDULED", 1}};
    CHECK(counts == expected);
    CHECK(store.status_counts("other").empty());

    CHECK(store.requeue_unfinished("other") == 0);
    CHECK(store.requeue_unfinished("c1") == 2);
    CHECK(store.runs({"", "SCHEDULED"}).size() == 3);
    CHECK(store.mark_running(uuid(1), 7000));
    row = *store.run(uuid(1));
    CHECK(row.attempts == 2);    // one failed attempt (its own crash) and this one
    CHECK(row.outcome.empty());  // a new attempt starts clean
    CHECK(row.error.empty());
  }

  TEST_CASE("A trace round-trips through write_result, NaN and infinities included") {
    Store store = Store::memory();
    store.insert_runs(specs(0, 3));
    RunResult r;
    r.run_uuid = uuid(1);
    r.outcome = "nan_loss";
    r.start_time = 100;
    r.end_time = 200;
    const std::vector<double> losses = {
        2.5, kNaN, kInf, -kInf, -0.0, 1e308, -1e308, 4.9e-324, std::numeric_limits<double>::max()};
    for (size_t s = 0; s < losses.size(); ++s) {
      r.metrics.push_back({"train/loss", static_cast<int64_t>(s), losses[s], 1000 + int64_t(s)});
    }
    r.metrics.push_back({"epoch/val_metric", 0, 0.5, 2000});
    r.metrics.push_back({"epoch/val_metric", 1, 0.25, 2001});
    r.metrics.push_back({"epoch/val_metric", 1, 0.75, 2002});  // duplicate step: last wins
    r.metrics.push_back({"grad/fc1.weight/norm", 0, kNaN, 3000});
    store.write_result(r);

    const auto row = *store.run(uuid(1));
    CHECK(row.status == "FINISHED");
    CHECK(row.outcome == "nan_loss");
    CHECK(row.start_time == 100);
    CHECK(row.end_time == 200);

    const auto trace = store.trace(uuid(1));
    CHECK(trace.run_uuid == uuid(1));
    CHECK(trace.program == spec(1).program);
    CHECK(trace.family == "mlp");
    CHECK(trace.task == "multiclass");
    CHECK(trace.fault_ids == "lr_scale");
    CHECK(trace.faults_json == spec(1).faults_json);
    CHECK(trace.recipe_json == spec(1).recipe_json);
    CHECK(trace.outcome == "nan_loss");
    REQUIRE(trace.series.size() == 3);
    const auto* loss = trace.find("train/loss");
    REQUIRE(loss != nullptr);
    REQUIRE(loss->size() == losses.size());
    for (size_t s = 0; s < losses.size(); ++s) {
      CAPTURE(s);
      CHECK(loss->steps[s] == static_cast<int64_t>(s));
      CHECK(same(loss->values[s], losses[s]));
    }
    CHECK(std::isinf(loss->values[2]));
    CHECK(loss->values[2] > 0);
    CHECK(loss->values[3] < 0);
    const auto* metric = trace.find("epoch/val_metric");
    REQUIRE(metric != nullptr);
    CHECK(metric->steps == std::vector<int64_t>{0, 1});
    CHECK(metric->values == std::vector<double>{0.5, 0.75});
    REQUIRE(trace.find("grad/fc1.weight/norm") != nullptr);
    CHECK(std::isnan(trace.find("grad/fc1.weight/norm")->values.at(0)));
    CHECK(trace.find("no/such/key") == nullptr);
    CHECK(count(store, "SELECT count(*) FROM metrics WHERE is_nan = 1 AND value IS NULL") == 2);

    // Only FINISHED runs are traces; a run without metrics still has one.
    RunResult empty;
    empty.run_uuid = uuid(2);
    store.write_result(empty);
    const auto traces = store.traces("c1");
    REQUIRE(traces.size() == 2);
    CHECK(traces[0].run_uuid == uuid(1));
    CHECK(traces[0].series.size() == 3);
    CHECK(traces[1].run_uuid == uuid(2));
    CHECK(traces[1].series.empty());
    CHECK(same(traces[0].find("train/loss")->values[1], kNaN));
    CHECK(store.traces("other").empty());
    CHECK(store.traces().size() == 2);

    // Writing again replaces the metrics.
    store.write_result(result_with(uuid(1), 8));
    const auto replaced = store.trace(uuid(1));
    CHECK(replaced.series.size() == 4);
    CHECK(replaced.find("train/loss")->size() == 2);
    CHECK(replaced.find("epoch/val_metric") == nullptr);
    CHECK(replaced.outcome == "completed");

    CHECK(contains(db_error_of([&] { store.trace(uuid(77)); }), "no run"));
  }

  TEST_CASE("write_result writes everything or nothing") {
    Store store = Store::memory();
    store.insert_runs(specs(0, 2));
    RunResult good = result_with(uuid(0), 40);
    store.write_result(good);
    const int64_t keys_before = count(store, "SELECT count(*) FROM metric_keys");

    SUBCASE("a status the schema refuses") {
      RunResult bad = result_with(uuid(0), 12);
      bad.metrics.push_back({"only/in/failed", 0, 1.0, 0});
      bad.status = "DONE";
      CHECK(contains(db_error_of([&] { store.write_result(bad); }), "CHECK constraint failed"));
    }
    SUBCASE("a run that does not exist") {
      RunResult bad = result_with(uuid(42), 12);
      bad.metrics.push_back({"only/in/failed", 0, 1.0, 0});
      CHECK(contains(db_error_of([&] { store.write_result(bad); }), "no run"));
    }
    SUBCASE("an empty metric key") {
      RunResult bad = result_with(uuid(0), 12);
      bad.metrics.insert(bad.metrics.begin(), {"only/in/failed", 0, 1.0, 0});
      bad.metrics.push_back({"", 0, 1.0, 0});
      CHECK(contains(db_error_of([&] { store.write_result(bad); }), "empty key"));
    }
    // The earlier result is intact, and the failed write left no key behind.
    const auto trace = store.trace(uuid(0));
    CHECK(trace.series.size() == 4);
    CHECK(trace.find("train/loss")->size() == 10);
    CHECK(trace.find("only/in/failed") == nullptr);
    CHECK(store.run(uuid(0))->status == "FINISHED");
    CHECK(count(store, "SELECT count(*) FROM metric_keys") == keys_before);
    CHECK(count(store, "SELECT count(*) FROM metrics") == 40);

    // The key cache was not poisoned by the rolled-back id.
    RunResult next = result_with(uuid(1), 4);
    next.metrics.push_back({"only/in/failed", 3, 9.0, 0});
    store.write_result(next);
    CHECK(store.trace(uuid(1)).find("only/in/failed")->values == std::vector<double>{9.0});
    CHECK(count(store, "SELECT count(*) FROM v_metrics WHERE key = 'only/in/failed'") == 1);
  }

  TEST_CASE("Campaigns and programs are upserted") {
    Store store = Store::memory();
    store.upsert_campaign("c1", "programs: [mlp]", "hash-a");
    store.upsert_campaign("c1", "programs: [mlp]  # same", "hash-a");
    store.upsert_campaign("c2", "programs: [cnn]", "hash-b");
    CHECK(store.campaigns() == std::vector<std::string>{"c1", "c2"});
    const std::string error =
        db_error_of([&] { store.upsert_campaign("c1", "programs: [rnn]", "hash-z"); });
    CHECK(contains(error, "'c1'"));
    CHECK(contains(error, "hash-a"));
    CHECK(contains(error, "hash-z"));
    CHECK(contains(error, "different campaign"));
    CHECK(count(store, "SELECT count(*) FROM campaigns WHERE config_text = 'programs: [mlp]'") ==
          1);

    dynfault::db::ProgramRow p{"mnist_mlp",      "mlp",          "multiclass", "mnist",
                               "keras examples", "fewer epochs", "accuracy",   0.9};
    store.upsert_program(p);
    p.satisfactory = 0.95;
    store.upsert_program(p);
    store.upsert_program({"boston_mlp", "mlp", "regression", "boston", "", "", "r2", kNaN});
    const auto programs = store.programs();
    REQUIRE(programs.size() == 2);
    CHECK(programs[0].id == "boston_mlp");
    CHECK(std::isnan(programs[0].satisfactory));
    CHECK(programs[1].id == "mnist_mlp");
    CHECK(programs[1].dataset == "mnist");
    CHECK(programs[1].source == "keras examples");
    CHECK(programs[1].changes == "fewer epochs");
    CHECK(programs[1].metric == "accuracy");
    CHECK(programs[1].satisfactory == 0.95);
  }

  TEST_CASE("Labels, features, splits and evaluations round-trip with NaN") {
    Store store = Store::memory();
    store.insert_runs(specs(0, 4));

    store.write_labels("instability", {{uuid(0), "stable", "{}"}, {uuid(1), "diverged", ""}});
    store.write_labels("instability", {{uuid(2), "oscillating", R"({"cv":0.4})"},
                                       {uuid(3), "", "{}"}});  // replaces the task's labels
    store.write_labels("fault_type/default4", {{uuid(2), "loss", "{}"}});
    const auto labels = store.labels("instability");
    REQUIRE(labels.size() == 2);
    CHECK(labels[0].run_uuid == uuid(2));
    CHECK(labels[0].label == "oscillating");
    CHECK(labels[0].details == R"({"cv":0.4})");
    CHECK(labels[1].label.empty());
    CHECK(store.labels("fault_type/default4").size() == 1);
    CHECK(store.labels("none").empty());
    CHECK(contains(db_error_of([&] { store.write_labels("x", {{uuid(9), "a", ""}}); }), uuid(9)));
    CHECK(store.labels("instability").size() == 2);  // the failed write changed nothing

    FeatureTable table;
    table.feature_set = "curves";
    table.names = {"loss_last", "loss_slope", "acc_max"};
    table.run_uuids = {uuid(3), uuid(1)};
    table.rows = {{1.5, kNaN, kInf}, {-kInf, -0.0, 0.125}};
    store.write_features(table);
    store.write_features(table);  // idempotent
    const auto read = store.features("curves");
    CHECK(read.feature_set == "curves");
    CHECK(read.names == table.names);
    REQUIRE(read.run_uuids == std::vector<std::string>{uuid(1), uuid(3)});  // by run_uuid
    REQUIRE(read.rows.size() == 2);
    for (size_t j = 0; j < 3; ++j) {
      CHECK(same(read.rows[0][j], table.rows[1][j]));
      CHECK(same(read.rows[1][j], table.rows[0][j]));
    }
    CHECK(store.feature_sets() == std::vector<std::string>{"curves"});
    CHECK(contains(db_error_of([&] { store.features("deepfd"); }), "never extracted"));
    FeatureTable ragged = table;
    ragged.rows[1].pop_back();
    CHECK(contains(db_error_of([&] { store.write_features(ragged); }), "2 values for 3"));
    FeatureTable empty;
    empty.feature_set = "empty";
    store.write_features(empty);
    CHECK(store.features("empty").rows.empty());
    CHECK(count(store, "SELECT count(*) FROM v_features WHERE feature_set = 'curves'") == 6);

    store.write_splits("e1", "instability", "heldout", {{uuid(0), 0}, {uuid(1), 1}});
    store.write_splits("e1", "instability", "within", {{uuid(2), 3}});
    store.write_splits("e1", "instability", "heldout", {{uuid(3), 2}, {uuid(1), 1}});
    const auto splits = store.splits("e1", "instability", "heldout");
    REQUIRE(splits.size() == 2);
    CHECK(splits[0].run_uuid == uuid(1));
    CHECK(splits[0].fold == 1);
    CHECK(splits[1].run_uuid == uuid(3));
    CHECK(splits[1].fold == 2);
    CHECK(store.splits("e1", "instability", "within").size() == 1);
    CHECK(store.splits("e2", "instability", "within").empty());

    CHECK(store.evaluation().empty());
    EvaluationRow e;
    e.evaluation_id = "e1";
    e.task = "instability";
    e.protocol = "heldout";
    e.diagnoser = "logreg";
    e.feature_set = "curves";
    e.metric = "balanced_accuracy";
    e.value = 0.61;
    e.ci_low = kNaN;
    e.ci_high = kNaN;
    e.n = 40;
    e.details = R"({"classes":["stable","diverged"]})";
    EvaluationRow recall = e;
    recall.metric = "recall/diverged";
    recall.value = kNaN;
    recall.ci_low = 0.1;
    recall.ci_high = 0.9;
    store.write_evaluation({e, recall});
    EvaluationRow later = e;
    later.evaluation_id = "e2";
    later.value = 0.7;
    store.write_evaluation({later});
    const auto rows = store.evaluation("e1");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].metric == "balanced_accuracy");
    CHECK(rows[0].value == 0.61);
    CHECK(std::isnan(rows[0].ci_low));
    CHECK(std::isnan(rows[0].ci_high));
    CHECK(rows[0].n == 40);
    CHECK(rows[0].details == e.details);
    CHECK(rows[0].diagnoser == "logreg");
    CHECK(rows[0].feature_set == "curves");
    CHECK(rows[0].protocol == "heldout");
    CHECK(rows[0].task == "instability");
    CHECK(std::isnan(rows[1].value));
    CHECK(rows[1].ci_low == 0.1);
    CHECK(rows[1].ci_high == 0.9);
    const auto latest = store.evaluation();
    REQUIRE(latest.size() == 1);
    CHECK(latest[0].evaluation_id == "e2");
    CHECK(latest[0].value == 0.7);
  }

  TEST_CASE("The views have MLflow's columns and one row per point or run") {
    Store store = Store::memory();
    store.insert_runs(specs(0, 3));
    RunResult r;
    r.run_uuid = uuid(0);
    r.metrics = {{"train/loss", 0, 1.5, 11}, {"train/loss", 1, kNaN, 12}, {"epoch/lr", 0, 0.1, 13}};
    store.write_result(r);
    store.write_labels("fault_type/default4", {{uuid(0), "loss", "{}"}});
    store.write_labels("instability", {{uuid(0), "diverged", "{}"}, {uuid(1), "stable", "{}"}});

    auto metrics = store.database().prepare("SELECT * FROM v_metrics ORDER BY run_uuid, key, step");
    CHECK(metrics.column_names() ==
          std::vector<std::string>{"run_uuid", "key", "value", "step", "timestamp", "is_nan"});
    REQUIRE(metrics.step());
    CHECK(metrics.column_text(1) == "epoch/lr");
    REQUIRE(metrics.step());
    CHECK(metrics.column_text(1) == "train/loss");
    CHECK(metrics.column_double(2) == 1.5);
    CHECK(metrics.column_int64(4) == 11);
    REQUIRE(metrics.step());
    CHECK(metrics.column_is_null(2));
    CHECK(metrics.column_int64(3) == 1);
    CHECK(metrics.column_int64(5) == 1);
    CHECK_FALSE(metrics.step());

    auto runs = store.database().prepare(
        "SELECT run_uuid, campaign, program_id, family, task, fault_ids, faults_json, seed, "
        "repetition, status, outcome, start_time, end_time, fault_type, labels_json "
        "FROM v_runs ORDER BY run_uuid");
    REQUIRE(runs.step());
    CHECK(runs.column_text(0) == uuid(0));
    CHECK(runs.column_text(9) == "FINISHED");
    CHECK(runs.column_text(13) == "loss");
    CHECK(runs.column_text(14) == R"({"fault_type/default4":"loss","instability":"diverged"})");
    REQUIRE(runs.step());
    CHECK(runs.column_text(0) == uuid(1));
    CHECK(runs.column_is_null(13));
    CHECK(runs.column_text(14) == R"({"instability":"stable"})");
    REQUIRE(runs.step());
    CHECK(runs.column_text(14) == "{}");
    CHECK(runs.column_text(9) == "SCHEDULED");
    CHECK_FALSE(runs.step());
  }

  TEST_CASE("The database wrapper checks every return code") {
    TempDir dir;
    const std::string path = dir.file("raw.db");
    Database db(path, OpenMode::kReadWriteCreate);
    const std::string error = db_error_of([&] { db.prepare("SELEC nonsense"); });
    CHECK(contains(error, path));
    CHECK(contains(error, "syntax error"));
    CHECK(contains(db_error_of([&] { db.exec("INSERT INTO missing VALUES (1)"); }), "missing"));
    CHECK(contains(db_error_of([&] { db.prepare("SELECT 1; SELECT 2"); }), "more than one"));
    db.exec("CREATE TABLE t (a INTEGER, b REAL, c TEXT, d BLOB, e)");
    auto insert = db.prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)");
    CHECK(contains(db_error_of([&] { insert.bind(6, 1); }), "parameter 6"));
    const unsigned char blob[] = {0, 1, 2, 255};
    insert.bind(1, int64_t{1} << 40).bind(2, 2.5).bind(3, std::string("x")).bind_null(5);
    insert.bind_blob(4, blob, sizeof blob);
    insert.step_and_reset();
    insert.bind_all(7, 0.5f, "", nullptr, true).step_and_reset();
    auto select = db.prepare("SELECT a, b, c, d, e FROM t ORDER BY a DESC");
    CHECK(select.column_names() == std::vector<std::string>{"a", "b", "c", "d", "e"});
    REQUIRE(select.step());
    CHECK(select.column_int64(0) == int64_t{1} << 40);
    CHECK(select.column_double(1) == 2.5);
    CHECK(select.column_text(2) == "x");
    CHECK(select.column_blob(3) == std::vector<unsigned char>(blob, blob + 4));
    CHECK(select.column_is_null(4));
    REQUIRE(select.step());
    CHECK(select.column_int64(0) == 7);
    CHECK_FALSE(select.column_is_null(2));  // "" stays text, not NULL
    CHECK(select.column_text(2).empty());
    CHECK(select.column_is_null(3));
    CHECK(select.column_int64(4) == 1);
    CHECK_FALSE(select.step());
    select.reset();

    // Transactions: rolled back unless committed; nested ones become savepoints.
    {
      Transaction tx(db);
      db.exec("INSERT INTO t (a) VALUES (100)");
    }
    {
      Transaction outer(db);
      db.exec("INSERT INTO t (a) VALUES (200)");
      {
        Transaction inner(db);
        db.exec("INSERT INTO t (a) VALUES (201)");
        inner.commit();
      }
      {
        Transaction inner(db);
        db.exec("INSERT INTO t (a) VALUES (202)");
      }
      outer.commit();
    }
    auto a_values = db.prepare("SELECT group_concat(a) FROM (SELECT a FROM t ORDER BY a)");
    REQUIRE(a_values.step());
    CHECK(a_values.column_text(0) == "7,200,201,1099511627776");
    a_values.reset();
    CHECK_FALSE(db.in_transaction());

    auto& cached = db.prepared("SELECT count(*) FROM t WHERE a > ?1");
    CHECK(&db.prepared("SELECT count(*) FROM t WHERE a > ?1") == &cached);
    REQUIRE(cached.bind(1, 100).step());
    CHECK(cached.column_int64(0) == 3);
    cached.reset();
    db.set_user_version(5);
    CHECK(db.user_version() == 5);
    db.exec("DELETE FROM t WHERE a > 100");
    CHECK(db.last_changes() == 3);
  }

  TEST_CASE("Two connections write one file concurrently") {
    TempDir dir;
    const std::string path = dir.file("shared.db");
    { Store::open(path); }
    constexpr int kShared = 40;
    constexpr int kOwn = 30;
    std::atomic<int64_t> inserted{0};
    std::atomic<int> claimed{0};
    std::vector<std::string> errors(2);
    auto worker = [&](int w) {
      try {
        Store store = Store::open(path, /*create=*/false);
        inserted += store.insert_runs(specs(0, kShared, "shared"));
        inserted += store.insert_runs(specs(1000 * (w + 1), kOwn, "own"));
        std::vector<RunSpec> mine = specs(1000 * (w + 1), kOwn, "own");
        std::vector<RunSpec> all = specs(0, kShared, "shared");
        all.insert(all.end(), mine.begin(), mine.end());
        for (const auto& s : all) {
          if (!store.mark_running(s.run_uuid, 1)) continue;
          ++claimed;
          store.heartbeat({s.run_uuid}, 2);
          store.write_result(result_with(s.run_uuid, 200));
          (void)store.traces("shared");  // readers run alongside the writers
        }
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(w)] = e.what();
      }
    };
    std::thread a(worker, 0);
    std::thread b(worker, 1);
    a.join();
    b.join();
    CHECK(errors[0] == "");
    CHECK(errors[1] == "");
    CHECK(inserted == kShared + 2 * kOwn);
    CHECK(claimed == kShared + 2 * kOwn);  // every run claimed exactly once
    Store store = Store::open(path);
    CHECK(store.runs({"", "FINISHED"}).size() == kShared + 2 * kOwn);
    const auto traces = store.traces();
    REQUIRE(traces.size() == kShared + 2 * kOwn);
    for (const auto& t : traces) {
      CHECK(t.series.size() == 4);
      CHECK(t.find("train/loss")->size() == 50);
    }
    CHECK(count(store, "SELECT count(*) FROM metric_keys") == 4);
  }

  TEST_CASE("A worker process and the coordinator write one file at once") {
    TempDir dir;
    const std::string path = dir.file("processes.db");
    constexpr int kRuns = 60;
    { Store::open(path).insert_runs(specs(0, kRuns)); }
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The child never returns into doctest.
      int status = 0;
      try {
        Store store = Store::open(path, /*create=*/false);
        for (int i = 0; i < kRuns; ++i) {
          if (!store.mark_running(uuid(i), 1)) continue;
          usleep(1000);  // "training"
          store.write_result(result_with(uuid(i), 400));
        }
      } catch (...) {
        status = 1;
      }
      _exit(status);
    }
    int mine = 0;
    {
      Store store = Store::open(path, /*create=*/false);
      for (int i = kRuns - 1; i >= 0; --i) {
        if (!store.mark_running(uuid(i), 1)) continue;
        ++mine;
        usleep(1000);
        store.write_result(result_with(uuid(i), 400));
      }
    }
    int status = -1;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    Store store = Store::open(path);
    CHECK(store.runs({"", "FINISHED"}).size() == kRuns);
    CHECK(count(store, "SELECT count(*) FROM metrics") == kRuns * 400);
    CHECK(count(store, "SELECT max(attempts) FROM runs") == 1);
    MESSAGE("the coordinator ran " << mine << " of " << kRuns << " runs");
  }

  TEST_CASE("Writing and reading traces is fast (measured, not asserted)") {
    TempDir dir;
    Store store = Store::open(dir.file("speed.db"));
    constexpr int kRuns = 200;
    constexpr int kPoints = 5000;
    store.insert_runs(specs(0, kRuns));
    // Realistic keys: ~60 series of ~83 points.
    auto result = [&](int i) {
      RunResult r;
      r.run_uuid = uuid(i);
      for (int k = 0; k < 60; ++k) {
        const std::string key = "grad/layer" + std::to_string(k) + "/norm";
        for (int s = 0; s < kPoints / 60 + (k < kPoints % 60 ? 1 : 0); ++s) {
          r.metrics.push_back({key, s, s % 97 == 0 ? kNaN : 0.5 * s, 1'700'000'000'000 + s});
        }
      }
      return r;
    };
    REQUIRE(result(0).metrics.size() == kPoints);
    std::vector<double> times;
    for (int i = 0; i < kRuns; ++i) {
      const RunResult r = result(i);
      const auto start = std::chrono::steady_clock::now();
      store.write_result(r);
      times.push_back(elapsed_ms(start));
    }
    std::sort(times.begin(), times.end());
    MESSAGE("write_result of " << kPoints << " points: median " << times[times.size() / 2]
                               << " ms, max " << times.back() << " ms (first run "
                               << "includes key creation)");
    const auto start = std::chrono::steady_clock::now();
    const auto traces = store.traces();
    MESSAGE("traces(): " << traces.size() << " traces of " << kPoints << " points in "
                         << elapsed_ms(start) << " ms");
    REQUIRE(traces.size() == kRuns);
    const auto one_by_one = std::chrono::steady_clock::now();
    size_t points = 0;
    for (int i = 0; i < kRuns; ++i) points += store.trace(uuid(i)).series.size();
    MESSAGE("trace() one run at a time: " << kRuns << " traces in " << elapsed_ms(one_by_one)
                                          << " ms");
    CHECK(points == kRuns * 60);
    CHECK(traces.back().series.size() == 60);
    CHECK(std::isnan(traces.back().find("grad/layer0/norm")->values[0]));

    FeatureTable table;
    table.feature_set = "wide";
    for (int j = 0; j < 100; ++j) table.names.push_back("f" + std::to_string(j));
    for (int i = 0; i < kRuns; ++i) {
      table.run_uuids.push_back(uuid(i));
      table.rows.emplace_back(100, i * 0.5);
    }
    const auto features_start = std::chrono::steady_clock::now();
    store.write_features(table);
    const double write_features_ms = elapsed_ms(features_start);
    const auto read_start = std::chrono::steady_clock::now();
    CHECK(store.features("wide").rows.size() == kRuns);
    MESSAGE("features: " << kRuns << " x 100 written in " << write_features_ms << " ms, read in "
                         << elapsed_ms(read_start) << " ms");
  }
}
