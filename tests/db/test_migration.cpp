// Schema 2 upgrades a database written by schema 1 in place, keeping every row; a refused upgrade
// leaves the file byte for byte as it was. The fixture tests/db/fixtures/schema1.db was written
// by dynfault 0.1.0 at commit 23da83b (schema 1) from tests/db/fixtures/schema1.yaml:
//   dynfault plan schema1.yaml --db schema1.db
//   dynfault run --db schema1.db --max-steps 4 --limit 3 && dynfault labels --db schema1.db
//   sqlite3 schema1.db VACUUM
// (three FINISHED runs with 550 metric rows and 21 labels, one SCHEDULED run).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "db/database.h"
#include "db/execution.h"
#include "db/schema.h"
#include "db/store.h"
#include "tests/test_check.h"
#include "tests/test_files.h"

using dynfault::test::error_of;

namespace {

namespace fs = std::filesystem;
using dynfault::db::Database;
using dynfault::db::DbError;
using dynfault::db::OpenMode;
using dynfault::db::Store;
using dynfault::test::read_bytes;

const fs::path kFixture = fs::path(DYNFAULT_SOURCE_DIR) / "tests/db/fixtures/schema1.db";

/// A copy of the fixture in a scratch directory (world-readable, for the read-only case).
struct FixtureCopy {
  fs::path dir, db;
  FixtureCopy() {
    std::string pattern = (fs::temp_directory_path() / "dynfault_migration_XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
    db = dir / "schema1.db";
    fs::copy_file(kFixture, db);
  }
  ~FixtureCopy() {
    std::error_code ignored;
    fs::permissions(dir, fs::perms::owner_all, ignored);
    fs::remove_all(dir, ignored);
  }
};

int64_t count(Database& db, const std::string& sql) {
  auto s = db.prepare(sql);
  REQUIRE(s.step());
  const int64_t n = s.column_int64(0);
  s.reset();
  return n;
}

}  // namespace

TEST_SUITE("db") {
  TEST_CASE("The schema-1 fixture is what it says") {
    REQUIRE(fs::exists(kFixture));
    // A copy: the fixture is in WAL mode, and even a read-only open would leave -shm and -wal
    // files beside it in the source tree.
    const FixtureCopy copy;
    Database db(copy.db.string(), OpenMode::kReadOnly);
    CHECK(db.user_version() == 1);
    CHECK(count(db, "SELECT count(*) FROM runs") == 4);
    CHECK(count(db, "SELECT count(*) FROM runs WHERE status = 'FINISHED'") == 3);
    CHECK(count(db, "SELECT count(*) FROM metrics") == 550);
    CHECK(count(db, "SELECT count(*) FROM labels") == 21);
    CHECK(count(db, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'exec_build'") ==
          0);
  }

  TEST_CASE("A schema-1 database is upgraded in place, every row kept") {
    FixtureCopy copy;
    {
      Store store = Store::open(copy.db.string(), /*create=*/false);
      Database& db = store.database();
      CHECK(db.user_version() == 2);
      CHECK(store.info("migrated_from") == std::optional<std::string>("1"));
      CHECK(store.info("schema_version") == std::optional<std::string>("2"));
      CHECK(count(db, "SELECT count(*) FROM runs") == 4);
      CHECK(count(db, "SELECT count(*) FROM metrics") == 550);
      CHECK(count(db, "SELECT count(*) FROM labels") == 21);
      // Nothing was recorded before schema 2, and nothing is made up now.
      CHECK(count(db, "SELECT count(*) FROM runs WHERE exec_build IS NOT NULL") == 0);
      CHECK(count(db, "SELECT count(*) FROM campaigns WHERE numeric_json IS NULL") == 1);
      for (const auto& r : store.runs()) CHECK_FALSE(r.execution.recorded());
      const auto summaries = dynfault::db::execution_summaries(store);
      REQUIRE(summaries.size() == 1);
      CHECK(summaries[0].campaign == "legacy");
      CHECK(summaries[0].environment.empty());
      CHECK(summaries[0].finished == 3);
      CHECK(summaries[0].recorded == 0);
      CHECK(store.check_integrity(/*full=*/true) == "ok");
    }
    // Read-only openers accept it now.
    Store reader = Store::open_read_only(copy.db.string());
    CHECK(reader.traces().size() == 3);
  }

  TEST_CASE("A refused upgrade leaves the schema-1 file byte for byte as it was") {
    FixtureCopy copy;
    const std::string original = read_bytes(copy.db);
    REQUIRE(original == read_bytes(kFixture));

    SUBCASE("a read-only opener (replay, export) does not migrate") {
      const std::string why = error_of<DbError>([&] { Store::open_read_only(copy.db.string()); });
      CHECK(why.find("schema version 1, this build reads version 2") != std::string::npos);
    }
    SUBCASE("a migration step that fails rolls back") {
      Database db(copy.db.string(), OpenMode::kReadWrite);
      auto steps = dynfault::db::migrations();
      steps.push_back({3, "broken", "ALTER TABLE runs ADD COLUMN exec_build TEXT;"});
      CHECK(error_of<DbError>([&] {
              dynfault::db::apply_migrations(db, steps);
            }).find("duplicate column") != std::string::npos);
      CHECK(db.user_version() == 1);
    }
    SUBCASE("a read-only file") {
      fs::permissions(copy.db,
                      fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
      // Root writes read-only files: the attempt runs as nobody (uid 65534) then.
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
        try {
          Store::open(copy.db.string(), /*create=*/false);
        } catch (const DbError&) {
          ::_exit(0);  // refused (it cannot write the file, nor its directory)
        }
        ::_exit(1);  // opened and migrated: the test fails below
      }
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
    }
    CHECK(read_bytes(copy.db) == original);
  }
}
