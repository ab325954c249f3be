// The one mechanism every output goes through (common/output_file.h, common/temporary.h): an
// existing file only with --force, never an open database by any name, never through a
// symbolic link or over a special file, no temporary left on a failure or a signal, stale
// temporaries of dead writers removed by the next write, "disk full" said as such.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/output_file.h"
#include "common/temporary.h"
#include "tests/test_check.h"
#include "tests/test_files.h"

namespace fs = std::filesystem;
using dynfault::files::check_output_file;
using dynfault::files::ProtectedFile;
using dynfault::files::write_output_file;
using dynfault::test::error_of;
using dynfault::test::has;
using dynfault::test::read_bytes;

namespace {

struct Scratch : dynfault::test::ScratchDir {
  Scratch() : ScratchDir("dynfault-out") {}
};

/// The pid of a process that has exited (and was reaped): nobody answers to it.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

}  // namespace

TEST_SUITE("common") {
  TEST_CASE("An existing file is replaced only with force, and keeps its permission bits") {
    Scratch s;
    const std::string out = (s.path / "report.html").string();
    write_output_file(out, "first", /*force=*/false, "report");
    CHECK(read_bytes(out) == "first");
    CHECK(has(error_of([&] { write_output_file(out, "second", false, "report"); }),
              "exists; give --force"));
    CHECK(read_bytes(out) == "first");
    fs::permissions(out, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    write_output_file(out, "second", /*force=*/true, "report");
    CHECK(read_bytes(out) == "second");
    CHECK(fs::status(out).permissions() ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
    CHECK(s.names() == std::vector<std::string>{"report.html"});  // no temporary left
  }

  TEST_CASE("An open database is never overwritten, whatever name the output uses") {
    Scratch s;
    const fs::path db = s.path / "victim.db";
    std::ofstream(db) << "SQLite format 3";
    std::ofstream(s.path / "victim.db-wal") << "wal";
    fs::create_symlink(db, s.path / "link.db");
    fs::create_hard_link(db, s.path / "hard.db");
    fs::create_directory(s.path / "sub");
    {
      ProtectedFile open_database(db.string());
      for (const fs::path& name : {db, s.path / "sub" / ".." / "victim.db", s.path / "hard.db",
                                   s.path / "victim.db-wal", s.path / "victim.db-shm"}) {
        CAPTURE(name);
        const std::string e =
            error_of([&] { write_output_file(name.string(), "<html>", /*force=*/true, "report"); });
        CHECK(has(e, "refusing to write the report"));
        CHECK(has(e, "this command has open"));
      }
      // Through the symbolic link too (it is refused twice over).
      CHECK(has(error_of([&] { check_output_file((s.path / "link.db").string(), true, "report"); }),
                "this command has open"));
    }
    CHECK(read_bytes(db) == "SQLite format 3");
    CHECK(read_bytes(s.path / "victim.db-wal") == "wal");
    CHECK_FALSE(fs::exists(s.path / "victim.db-shm"));
    // Closed, it is an ordinary existing file again.
    CHECK(error_of([&] { check_output_file(db.string(), true, "report"); }).empty());
  }

  TEST_CASE("A symbolic link is never written through and a special file never replaced") {
    Scratch s;
    std::ofstream(s.path / "precious.txt") << "keep";
    fs::create_symlink(s.path / "precious.txt", s.path / "out.csv");
    CHECK(has(
        error_of([&] { write_output_file((s.path / "out.csv").string(), "x", true, "CSV file"); }),
        "is a symbolic link"));
    CHECK(read_bytes(s.path / "precious.txt") == "keep");
    CHECK(fs::is_symlink(s.path / "out.csv"));
    REQUIRE(::mkfifo((s.path / "fifo").c_str(), 0600) == 0);
    CHECK(has(error_of([&] { write_output_file((s.path / "fifo").string(), "x", true, "report"); }),
              "is a FIFO"));
    fs::create_directory(s.path / "d");
    CHECK(has(error_of([&] { write_output_file((s.path / "d").string(), "x", true, "report"); }),
              "is a directory"));
    CHECK(has(error_of([] { write_output_file("/dev/null", "x", true, "report"); }),
              "is a character device"));
    CHECK(has(error_of([&] {
                write_output_file((s.path / "no" / "x.html").string(), "x", false, "report");
              }),
              "does not exist"));
    CHECK(s.names() == std::vector<std::string>{"d", "fifo", "out.csv", "precious.txt"});
  }

  TEST_CASE("A failed write leaves no temporary and the old file as it was") {
    Scratch s;
    const std::string out = (s.path / "model.txt").string();
    write_output_file(out, "old", false, "model file");
    // RLIMIT_FSIZE makes the write itself fail (EFBIG), as a full disk would.
    struct rlimit old_limit {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 4096;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    const std::string e =
        error_of([&] { write_output_file(out, std::string(100000, 'x'), true, "model file"); });
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::signal(SIGXFSZ, old_handler);
    CHECK(has(e, "cannot write the model file"));
    CHECK(read_bytes(out) == "old");
    CHECK(s.names() == std::vector<std::string>{"model.txt"});
  }

  TEST_CASE("A full disk is said to be full, and leaves nothing behind") {
    Scratch s;
    const fs::path mnt = s.path / "small";
    fs::create_directory(mnt);
    if (::geteuid() != 0 || ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0) {
      MESSAGE("skipped: mounting a size-limited tmpfs needs root (CAP_SYS_ADMIN)");
      return;
    }
    const std::string e = error_of([&] {
      write_output_file((mnt / "report.html").string(), std::string(1 << 20, 'x'), false, "report");
    });
    CHECK(has(e, "disk full"));
    CHECK(has(e, mnt.string()));
    CHECK(fs::is_empty(mnt));
    ::umount2(mnt.c_str(), MNT_DETACH);
  }

  TEST_CASE("Stale temporaries of dead writers are removed by the next write; live ones stay") {
    Scratch s;
    const pid_t dead = dead_pid();
    const fs::path stale_file = s.path / (".out.csv.tmp-" + std::to_string(dead) + "-abc123");
    const fs::path stale_dir = s.path / (".out.csv.tmp-" + std::to_string(dead) + "-def456");
    const fs::path old_style = s.path / ".out.csv.tmp-Qx81Zp";  // an older dynfault's name
    std::ofstream(stale_file) << "half";
    fs::create_directories(stale_dir / "a" / "b");
    std::ofstream(stale_dir / "a" / "b" / "f") << "x";
    fs::create_directory(old_style);
    dynfault::files::Temporary live(s.path / "out.csv", dynfault::files::Temporary::Kind::kFile,
                                    "CSV file");
    const auto removed = write_output_file((s.path / "out.csv").string(), "new", false, "CSV file");
    CHECK(removed.size() == 3);
    CHECK_FALSE(fs::exists(stale_file));
    CHECK_FALSE(fs::exists(stale_dir));
    CHECK_FALSE(fs::exists(old_style));
    CHECK(fs::exists(live.path()));  // its writer (this process) is alive and holds its lock
    CHECK(read_bytes(s.path / "out.csv") == "new");
  }

  TEST_CASE("SIGTERM and SIGINT remove a writer's temporaries before the process ends") {
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
      CAPTURE(sig);
      Scratch s;
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        ::signal(sig, SIG_DFL);
        dynfault::files::Temporary dir(s.path / "export",
                                       dynfault::files::Temporary::Kind::kDirectory, "export");
        for (int i = 0; i < 50; ++i) {
          fs::create_directories(dir.path() / std::to_string(i % 7) / "metrics");
          std::ofstream(dir.path() / std::to_string(i % 7) / "metrics" / std::to_string(i)) << i;
        }
        dynfault::files::Temporary file(s.path / "r.html", dynfault::files::Temporary::Kind::kFile,
                                        "report");
        ::raise(sig);
        ::_exit(3);  // not reached
      }
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      CHECK(WIFSIGNALED(status));
      CHECK(WTERMSIG(status) == sig);  // the signal still ends the process
      CHECK(s.names().empty());
    }
  }

  TEST_CASE("An output directory: absent or empty, never a link; an empty one keeps its mode") {
    Scratch s;
    fs::create_directory(s.path / "empty");
    fs::permissions(s.path / "empty",
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    {
      dynfault::files::StagingDirectory stage((s.path / "empty").string(), "export");
      std::ofstream(stage.path() / "a.csv") << "x";
      stage.commit();
    }
    CHECK(read_bytes(s.path / "empty" / "a.csv") == "x");
    CHECK(fs::status(s.path / "empty").permissions() ==
          (fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec));
    fs::create_symlink(s.path / "elsewhere", s.path / "link");
    CHECK(has(
        error_of([&] { dynfault::files::StagingDirectory((s.path / "link").string(), "export"); }),
        "symbolic link"));
    {
      dynfault::files::StagingDirectory abandoned((s.path / "new").string(), "export");
      std::ofstream(abandoned.path() / "half.csv") << "x";
    }  // not committed: removed
    CHECK(s.names() == std::vector<std::string>{"empty", "link"});
  }
}
