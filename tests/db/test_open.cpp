// Opening a database is where the file is judged, once, for every command: a damaged file is
// refused before any write (and said to be damaged to readers); --db is always a file name and
// only a regular file; an empty file becomes a database only where one is being created; a
// read-only place can still be read; an open database is protected from every output; and an
// interrupted attempt of a run is given back.
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/output_file.h"
#include "db/database.h"
#include "db/schema.h"
#include "db/store.h"
#include "tests/test_check.h"
#include "tests/test_files.h"

namespace fs = std::filesystem;
using dynfault::db::Database;
using dynfault::db::DbError;
using dynfault::db::IntegrityCheck;
using dynfault::db::OpenMode;
using dynfault::db::RunResult;
using dynfault::db::RunSpec;
using dynfault::db::Store;
using dynfault::test::error_of;
using dynfault::test::has;
using dynfault::test::read_bytes;

namespace {

struct Dir : dynfault::test::ScratchDir {
  Dir() : ScratchDir("dynfault-open") {}
};

/// Runs `f` with `dir` as the working directory.
void in_directory(const fs::path& dir, const std::function<void()>& f) {
  const fs::path before = fs::current_path();
  fs::current_path(dir);
  try {
    f();
  } catch (...) {
    fs::current_path(before);
    throw;
  }
  fs::current_path(before);
}

RunSpec spec(int i, const std::string& campaign = "c1") {
  RunSpec s;
  char id[33];
  std::snprintf(id, sizeof id, "%032x", static_cast<unsigned>(i));
  s.run_uuid = id;
  s.campaign = campaign;
  s.program = "mlp";
  s.recipe_json = R"({"epochs":3})";
  return s;
}

/// A database of 40 finished runs with metrics: many pages, so one can be damaged.
void fill(const std::string& path) {
  Store store = Store::open(path);
  store.upsert_campaign("c1", "name: c1\n", "h1");
  std::vector<RunSpec> runs;
  for (int i = 0; i < 40; ++i) runs.push_back(spec(i));
  store.insert_runs(runs);
  for (const auto& r : runs) {
    RunResult res;
    res.run_uuid = r.run_uuid;
    res.status = "FINISHED";
    res.outcome = "completed";
    for (int s = 0; s < 100; ++s) res.metrics.push_back({"train/loss", s, 1.0 / (s + 1), s});
    store.write_result(res);
  }
}

}  // namespace

TEST_SUITE("db") {
  TEST_CASE("A damaged page is refused by every open, and the file stays byte-identical") {
    Dir dir;
    const std::string path = dir.file("d.db");
    fill(path);
    std::string bytes = read_bytes(path);
    REQUIRE(bytes.size() > 20 * 4096);
    for (size_t i = 12 * 4096; i < 13 * 4096; ++i) bytes[i] = static_cast<char>(0x3C);
    { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }
    for (const bool create : {false, true}) {
      const std::string e = error_of([&] { Store::open(path, create); });
      CHECK(has(e, "failed its integrity check (integrity_check: "));
      CHECK(has(e, "refusing to write to it"));
      CHECK(has(e, "damaged"));
    }
    const std::string r = error_of([&] { Store::open_read_only(path); });
    CHECK(has(r, "failed its integrity check"));
    CHECK(has(r, "refusing to read it"));
    CHECK(has(r, "damaged"));
    CHECK(read_bytes(path) == bytes);
    // A worker trusts the check its coordinator made under its lock.
    CHECK(error_of([&] { Store::open(path, false, IntegrityCheck::kTrusted); }).empty());
  }

  TEST_CASE("--db is a file name: never an SQLite URI, and only a regular file") {
    Dir dir;
    in_directory(dir.path, [&] {
      const std::string uri = "file:m.db?mode=memory";
      { Store::open(uri).insert_runs({spec(1)}); }
      CHECK(fs::is_regular_file(dir.path / uri));  // a file of that very name
      CHECK(Store::open(uri, false).runs().size() == 1);
      CHECK(Store::open_read_only(uri).runs().size() == 1);
      { Store::open(":memory:").insert_runs({spec(2)}); }
      CHECK(fs::is_regular_file(dir.path / ":memory:"));
    });
    for (const std::string special : {"/dev/null", "/dev/zero"}) {
      CHECK(has(error_of([&] { Store::open(special); }),
                special + ": is a character device, not a database file"));
      CHECK(has(error_of([&] { Store::open_read_only(special); }), "character device"));
    }
    CHECK_FALSE(fs::exists("/dev/null-journal"));
    CHECK_FALSE(fs::exists("/dev/null-wal"));
    CHECK(has(error_of([&] { Store::open(dir.path.string()); }), "is a directory"));
  }

  TEST_CASE("An empty file becomes a database only where one is being created") {
    Dir dir;
    const std::string zero = dir.file("zero.db");
    { std::ofstream touch(zero); }
    for (const auto& open : std::vector<std::function<void()>>{
             [&] { Store::open(zero, /*create=*/false); }, [&] { Store::open_read_only(zero); }}) {
      const std::string e = error_of(open);
      CHECK(has(e, "an empty file, not a dynfault database"));
    }
    CHECK(fs::file_size(zero) == 0);
    CHECK(Store::open(zero, /*create=*/true).database().user_version() ==
          dynfault::db::kSchemaVersion);
  }

  TEST_CASE("A newer schema is not offered a migration it cannot have") {
    Dir dir;
    const std::string path = dir.file("newer.db");
    { Store::open(path).insert_runs({spec(1)}); }
    { Database(path, OpenMode::kReadWrite).set_user_version(7); }
    const std::string e = error_of([&] { Store::open_read_only(path); });
    CHECK(has(e, "written by a newer dynfault: schema version 7"));
    CHECK_FALSE(has(e, "status"));
  }

  TEST_CASE("A database in a read-only place is read, and a refusal never blames damage") {
    Dir dir;
    const fs::path mnt = dir.path / "ro";
    fs::create_directory(mnt);
    if (::geteuid() != 0 || ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=8m") != 0) {
      MESSAGE("skipped: mounting a read-only tmpfs needs root (CAP_SYS_ADMIN)");
      return;
    }
    const std::string path = (mnt / "r.db").string();
    fill(path);  // closed cleanly: no -wal or -shm file left
    REQUIRE(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    {
      Store store = Store::open_read_only(path);
      CHECK(store.runs().size() == 40);
      CHECK(store.trace(spec(3).run_uuid).series.at("train/loss").size() == 100);
    }
    const std::string e = error_of([&] { Store::open(path, false); });
    CHECK_FALSE(e.empty());
    CHECK_FALSE(has(e, "corrupt"));
    CHECK_FALSE(has(e, "damaged"));
    ::umount2(mnt.c_str(), MNT_DETACH);
  }

  TEST_CASE("An open database cannot be the target of any output of the same process") {
    Dir dir;
    const std::string path = dir.file("v.db");
    {
      Store store = Store::open(path);
      CHECK(has(error_of([&] { dynfault::files::check_output_file(path, true, "report"); }),
                "it is the database"));
      Store reader = Store::open_read_only(path);
      CHECK(
          has(error_of([&] { dynfault::files::check_output_file(path + "-wal", true, "report"); }),
              "wal file"));
    }
    CHECK(error_of([&] { dynfault::files::check_output_file(path, true, "report"); }).empty());
  }

  TEST_CASE("An attempt interrupted from outside is given back when the run is requeued") {
    Store store = Store::memory();
    store.insert_runs({spec(1), spec(2)});
    const std::string a = spec(1).run_uuid, b = spec(2).run_uuid;
    REQUIRE(store.mark_running(a, 1000));
    CHECK(store.run(a)->attempts == 1);
    // The coordinator died: its RUNNING run is requeued, the attempt not counted.
    CHECK(store.requeue_stale(2000) == 1);
    CHECK(store.run(a)->attempts == 0);
    // A worker killed from outside: KILLED, requeued, not counted either.
    REQUIRE(store.mark_running(a, 3000));
    RunResult killed;
    killed.run_uuid = a;
    killed.status = "KILLED";
    killed.error = "worker killed by signal 9";
    CHECK(store.finish_running(killed));
    CHECK(store.requeue_unfinished("", 3) == 1);
    CHECK(store.run(a)->attempts == 0);
    // The run's own crash counts, up to the cap.
    for (int attempt = 1; attempt <= 3; ++attempt) {
      REQUIRE(store.mark_running(a, 4000 + attempt));
      RunResult crashed;
      crashed.run_uuid = a;
      crashed.status = "FAILED";
      crashed.outcome = "crashed";
      CHECK(store.finish_running(crashed));
      CHECK(store.run(a)->attempts == attempt);
      CHECK(store.requeue_unfinished("c1", 3) == (attempt < 3 ? 1 : 0));
    }
    CHECK(store.run(a)->status == "FAILED");
    CHECK(store.run(b)->attempts == 0);
  }

  TEST_CASE("A misspelt campaign is an error that lists the known ones") {
    Store store = Store::memory();
    store.upsert_campaign("quick", "name: quick\n", "h");
    store.insert_runs({spec(1, "quick"), spec(2, "merged_only")});
    CHECK(error_of([&] { store.require_campaign("quik"); }) ==
          "no campaign 'quik' in :memory: (it has: quick, merged_only)");
    CHECK(error_of([&] { store.require_campaign("merged_only"); }).empty());  // known by runs
    CHECK(error_of([&] { store.require_campaign(""); }).empty());             // "" = any
    Store none = Store::memory();
    CHECK(error_of([&] { none.require_campaign("x"); }) ==
          "no campaign 'x' in :memory: (it has none)");
  }
}
