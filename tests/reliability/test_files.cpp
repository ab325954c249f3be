// Nothing lost, nothing corrupted, no hang (issue 15), for the files around a campaign, through
// the real `dynfault` binary: no output replaces the database or anything it must not (1), a
// damaged database is never written and never read as if sound (2), --db is a file name (5),
// inputs are regular files read in linear time (7), exports leave no debris (8), read-only places
// can be read (9), and messages say what is wrong (11). The numbers are the issue's classes.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "db/database.h"
#include "db/store.h"
#include "tests/e2e/cli_util.h"
#include "tests/test_check.h"

namespace fs = std::filesystem;
using dynfault::db::Store;
using dynfault::e2e::Cli;
using dynfault::e2e::read_bytes;
using dynfault::test::has;

namespace {

const char* kCampaign = R"(name: rel
seed: 5
repetitions: 2
timeout_s: 120
programs: [iris_mlp, wine_logreg]
faults:
  - mutator: lr_scale
    params: {factor: 1000.0}
  - mutator: optimizer_change
    params: {to: adagrad}
)";

Cli cli(const std::string& args, const fs::path& dir, const std::string& env = "") {
  return dynfault::e2e::run_cli(args, dir, env);
}

/// 12 runs of two programs with labels, deepfd features, an evaluation and a trained model:
/// built once for this file, copied by every test.
struct Corpus {
  fs::path dir = dynfault::e2e::make_temp_dir("dynfault-files");
  std::string run;  // a FINISHED run
  Corpus() {
    std::ofstream(dir / "c.yaml") << kCampaign;
    for (const char* step :
         {"run c.yaml --db t.db --jobs 2 --max-steps 12", "labels --db t.db",
          "features --db t.db --sets deepfd",
          "evaluate --db t.db --sets deepfd --diagnosers logistic_regression --bootstrap 0 "
          "--folds 2",
          "train --db t.db --features deepfd --out m.model"}) {
      const auto r = cli(step, dir);
      INFO(step << "\n" << r.out);
      REQUIRE(r.code == 0);
    }
    run = Store::open_read_only((dir / "t.db").string()).runs({"", "FINISHED"}).at(0).spec.run_uuid;
  }
  ~Corpus() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

const Corpus& corpus() {
  static const Corpus c;
  return c;
}

/// A scratch directory with copies of the corpus files.
struct Work : dynfault::e2e::TempDir {
  fs::path dir = path;
  std::string run = corpus().run;
  Work() : dynfault::e2e::TempDir("dynfault-files") {
    for (const char* f : {"t.db", "c.yaml", "m.model"}) fs::copy_file(corpus().dir / f, dir / f);
  }
  /// Names in the directory that look like temporaries.
  std::vector<std::string> temporaries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (has(e.path().filename().string(), ".tmp")) out.push_back(e.path().string());
    return out;
  }
};

/// A tmpfs at `where` when this process may mount one (root); `ok` says whether it did.
struct Tmpfs {
  fs::path dir;
  bool ok = false;
  Tmpfs(const fs::path& where, const std::string& options) : dir(where) {
    fs::create_directories(dir);
    ok = ::geteuid() == 0 && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~Tmpfs() {
    if (ok) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

/// Overwrites one page in the middle of the file: integrity_check fails, opening still works.
void damage(const fs::path& db) {
  std::string bytes = read_bytes(db);
  REQUIRE(bytes.size() > 60 * 4096);
  for (size_t i = 40 * 4096; i < 41 * 4096; ++i) bytes[i] = static_cast<char>(0x3C);
  std::ofstream(db, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_SUITE("reliability") {
  TEST_CASE("1: no output replaces the database, a link or a special file; --force for the rest") {
    Work w;
    const std::string before = read_bytes(w.dir / "t.db");
    fs::create_symlink("t.db", w.dir / "link.db");
    fs::create_directory(w.dir / "sub");
    // Under any name of the open database, --force or not.
    for (const std::string& out : std::vector<std::string>{
             "t.db", "link.db --force", "sub/../t.db --force", "t.db-wal --force"}) {
      const auto r = cli("report --db t.db --out " + out, w.dir);
      CAPTURE(out);
      INFO(r.out);
      CHECK(r.code == 1);
      CHECK(has(r.out, "refusing to write the report to '" + out.substr(0, out.find(' ')) + "'"));
    }
    for (const std::string& cmd :
         std::vector<std::string>{"train --db t.db --features deepfd --force --out t.db",
                                  "trace-csv " + w.run + " --db t.db --force --out link.db",
                                  "check programs --programs ^iris_mlp$ --markdown t.db"}) {
      const auto r = cli(cmd, w.dir);
      CAPTURE(cmd);
      INFO(r.out);
      CHECK(r.code != 0);
      CHECK((has(r.out, "this command has open") || has(r.out, "exists; give --force")));
    }
    CHECK(read_bytes(w.dir / "t.db") == before);
    // A symbolic link or a special file is never written through or replaced.
    std::ofstream(w.dir / "precious.txt") << "keep";
    fs::create_symlink("precious.txt", w.dir / "r.html");
    const auto link = cli("report --db t.db --force --out r.html", w.dir);
    CHECK(has(link.out, "is a symbolic link"));
    CHECK(read_bytes(w.dir / "precious.txt") == "keep");
    CHECK(has(cli("report --db t.db --force --out /dev/null", w.dir).out, "character device"));
    // An existing file only with --force.
    std::ofstream(w.dir / "old.html") << "old";
    const auto exists = cli("report --db t.db --out old.html", w.dir);
    CHECK(exists.code == 1);
    CHECK(has(exists.out, "exists; give --force"));
    CHECK(read_bytes(w.dir / "old.html") == "old");
    CHECK(cli("report --db t.db --out old.html --force", w.dir).code == 0);
    CHECK(has(read_bytes(w.dir / "old.html"), "<html"));
    CHECK(w.temporaries().empty());
    // The demo's report is named after its database: refused before the campaign starts.
    const auto demo = cli("demo --db d.html --jobs 1", w.dir, "timeout 120");
    CHECK(demo.code == 1);
    CHECK(has(demo.out, "the demo's report would replace its database"));
  }

  TEST_CASE("2: a damaged database is refused byte-identical; readers say it is damaged") {
    Work w;
    damage(w.dir / "t.db");
    const std::string before = read_bytes(w.dir / "t.db");
    for (const std::string& cmd : std::vector<std::string>{
             "labels --db t.db", "features --db t.db --sets deepfd",
             "evaluate --db t.db --sets deepfd --diagnosers logistic_regression --bootstrap 0",
             "plan c.yaml --db t.db", "run --db t.db", "status --db t.db"}) {
      const auto r = cli(cmd, w.dir);
      CAPTURE(cmd);
      INFO(r.out);
      CHECK(r.code == 1);
      CHECK(has(r.out, "t.db: failed its integrity check"));
      CHECK(read_bytes(w.dir / "t.db") == before);
    }
    for (const std::string& cmd : std::vector<std::string>{
             "export --db t.db --out x", "trace-csv " + w.run + " --db t.db",
             "report --db t.db --out r.html", "diagnose --model m.model --db t.db --run " + w.run,
             "train --db t.db --features deepfd --out m2.model"}) {
      const auto r = cli(cmd, w.dir);
      CAPTURE(cmd);
      INFO(r.out);
      CHECK(r.code == 1);
      CHECK(has(r.out, "damaged"));
    }
    CHECK(read_bytes(w.dir / "t.db") == before);
    CHECK_FALSE(fs::exists(w.dir / "x"));
    CHECK_FALSE(fs::exists(w.dir / "r.html"));
  }

  TEST_CASE("5: --db is a file name, never an SQLite URI, and only a regular file") {
    Work w;
    const auto uri = cli("plan c.yaml --db 'file:m.db?mode=memory'", w.dir);
    INFO(uri.out);
    CHECK(uri.code == 0);
    CHECK(fs::is_regular_file(w.dir / "file:m.db?mode=memory"));
    CHECK(has(cli("status --db 'file:m.db?mode=memory'", w.dir).out, "12 runs"));
    const auto null = cli("plan c.yaml --db /dev/null", w.dir);
    CHECK(null.code == 1);
    CHECK(has(null.out, "/dev/null: is a character device, not a database file"));
    CHECK_FALSE(fs::exists("/dev/null-journal"));
    CHECK(has(cli("status --db .", w.dir).out, "is a directory"));
  }

  TEST_CASE("7: inputs are regular files: a device, a FIFO or a directory is refused at once") {
    Work w;
    std::ofstream(w.dir / "x.csv")
        << "epoch,train_loss,train_metric,val_loss,val_metric\n0,1,0,1,0\n";
    REQUIRE(::mkfifo((w.dir / "pipe.csv").c_str(), 0600) == 0);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"diagnose --model /dev/zero --trace x.csv", "/dev/zero: is a character device"},
        {"diagnose --model m.model --trace /dev/zero", "/dev/zero: is a character device"},
        {"diagnose --model m.model --trace pipe.csv", "pipe.csv: is a FIFO"},
        // The list of traces too: std::ifstream on the FIFO waited for a writer for ever.
        {"diagnose --model m.model --traces-from pipe.csv", "pipe.csv: is a FIFO"},
        {"diagnose --model m.model --traces-from /dev/zero", "/dev/zero: is a character device"},
        {"plan /dev/zero --db n.db", "/dev/zero: is a character device"}};
    for (const auto& [cmd, message] : cases) {
      const auto r = cli(cmd, w.dir, "timeout 60");  // /dev/zero hung `diagnose --model`
      CAPTURE(cmd);
      INFO(r.out);
      CHECK(r.code == 1);
      CHECK(has(r.out, message));
    }
  }

  TEST_CASE(
      "8: an export leaves no debris, cleans up after a killed one, keeps a directory's mode") {
    Work w;
    // What a SIGKILL leaves (the writer's pid is gone), and an older version's temporary.
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    const fs::path stale = w.dir / (".out.tmp-" + std::to_string(dead) + "-a1b2c3");
    fs::create_directories(stale / "mlruns" / "1");
    std::ofstream(stale / "mlruns" / "1" / "meta.yaml") << "half";
    fs::create_directory(w.dir / ".out.tmp-Qx81Zp");
    const auto r = cli("export --db t.db --out out --format mlruns", w.dir);
    INFO(r.out);
    CHECK(r.code == 0);
    CHECK(has(r.out, "removed stale temporary"));
    CHECK(has(r.out, "left by process " + std::to_string(dead) + ", which is gone"));
    CHECK(w.temporaries().empty());
    // An existing empty directory is filled and keeps its permission bits.
    fs::create_directory(w.dir / "keep");
    ::chmod((w.dir / "keep").c_str(), 0750);
    REQUIRE(cli("export --db t.db --out keep", w.dir).code == 0);
    struct stat st {};
    REQUIRE(::stat((w.dir / "keep").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0750);
    CHECK(fs::exists(w.dir / "keep" / "metrics.csv"));
  }

  TEST_CASE("8, 11: SIGTERM or Ctrl-C during an export leaves nothing; a full disk is named") {
    Work w;
    // A database large enough for the export to take a moment: 300 runs, 12,000 points each.
    {
      Store store = Store::open((w.dir / "big.db").string());
      std::vector<dynfault::db::RunSpec> specs;
      for (int i = 0; i < 300; ++i) {
        dynfault::db::RunSpec s;
        char id[33];
        std::snprintf(id, sizeof id, "%032x", i + 1);
        s.run_uuid = id;
        s.campaign = "big";
        s.program = "p" + std::to_string(i % 5);
        specs.push_back(s);
      }
      store.insert_runs(specs);
      for (const auto& s : specs) {
        dynfault::db::RunResult res;
        res.run_uuid = s.run_uuid;
        res.status = "FINISHED";
        for (int k = 0; k < 40; ++k)
          for (int step = 0; step < 300; ++step)
            res.metrics.push_back({"m/" + std::to_string(k), step, 0.5 * step, step});
        store.write_result(res);
      }
    }
    int interrupted = 0;
    for (int attempt = 0; attempt < 6 && interrupted < 2; ++attempt) {
      const std::string out = "e" + std::to_string(attempt);
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        if (::chdir(w.dir.c_str()) != 0) ::_exit(127);
        const std::string o = out;
        ::execl(DYNFAULT_BINARY, DYNFAULT_BINARY, "export", "--db", "big.db", "--out", o.c_str(),
                "--format", "mlruns", static_cast<char*>(nullptr));
        ::_exit(127);
      }
      // Wait until its temporary directory exists, then stop it.
      const std::string prefix = "." + out + ".tmp-";
      for (int i = 0; i < 20000; ++i) {
        bool seen = false;
        for (const auto& e : fs::directory_iterator(w.dir))
          seen = seen || e.path().filename().string().rfind(prefix, 0) == 0;
        if (seen) break;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      ::kill(pid, attempt % 2 == 0 ? SIGTERM : SIGINT);
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (WIFSIGNALED(status)) {
        ++interrupted;
        CHECK_FALSE(fs::exists(w.dir / out));
      }
      CHECK(w.temporaries().empty());
    }
    CHECK(interrupted >= 1);

    Tmpfs full(w.dir / "full", "size=16k");
    if (!full.ok) {
      MESSAGE("skipped the full disk: mounting a tmpfs needs root (CAP_SYS_ADMIN)");
      return;
    }
    {  // to the last byte
      std::ofstream filler(full.dir / "filler", std::ios::binary);
      const std::string block(1024, 'x');
      while (filler.write(block.data(), block.size())) {
      }
    }
    for (const std::string& cmd : std::vector<std::string>{
             "export --db t.db --out full/e", "trace-csv " + w.run + " --db t.db --out full/r.csv",
             "train --db t.db --features deepfd --out full/m.model"}) {
      const auto r = cli(cmd, w.dir);
      CAPTURE(cmd);
      INFO(r.out);
      CHECK(r.code == 1);
      CHECK(has(r.out, "disk full"));
    }
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(full.dir)) left.push_back(e.path().filename());
    CHECK(left == std::vector<std::string>{"filler"});
  }

  TEST_CASE("9: a database in a read-only place is read by every reading command") {
    Work w;
    Tmpfs ro(w.dir / "ro", "size=8m");
    if (!ro.ok) {
      MESSAGE("skipped: mounting a read-only tmpfs needs root (CAP_SYS_ADMIN)");
      return;
    }
    fs::copy_file(w.dir / "t.db", ro.dir / "t.db");
    fs::copy_file(w.dir / "m.model", ro.dir / "m.model");
    REQUIRE(::mount("tmpfs", ro.dir.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    for (const std::string& cmd : std::vector<std::string>{
             "export --db ro/t.db --out exported", "trace-csv " + w.run + " --db ro/t.db",
             "train --db ro/t.db --features deepfd --out m2.model",
             "report --db ro/t.db --out r.html",
             "diagnose --model ro/m.model --db ro/t.db --run " + w.run,
             "replay " + w.run + " --db ro/t.db --max-steps 12"}) {
      const auto r = cli(cmd, w.dir);
      CAPTURE(cmd);
      INFO(r.out);
      CHECK(r.code == 0);
    }
    const auto write = cli("labels --db ro/t.db", w.dir);
    CHECK(write.code == 1);
    CHECK(has(write.out, "read-only"));
    CHECK_FALSE(has(write.out, "corrupt"));
  }

  TEST_CASE("11: messages say what is wrong, and nothing is written by mistake") {
    Work w;
    for (const std::string& cmd : std::vector<std::string>{"status --db t.db --campaign rell",
                                                           "labels --db t.db --campaign rell",
                                                           "features --db t.db --campaign rell"}) {
      const auto r = cli(cmd, w.dir);
      CAPTURE(cmd);
      CHECK(r.code == 1);
      CHECK(has(r.out, "no campaign 'rell' in t.db (it has: rel)"));
    }
    // A file that is not a database is not made one by a command that only looks.
    { std::ofstream touch(w.dir / "empty.db"); }
    const auto empty = cli("status --db empty.db", w.dir);
    CHECK(empty.code == 1);
    CHECK(has(empty.out, "an empty file, not a dynfault database"));
    CHECK(fs::file_size(w.dir / "empty.db") == 0);
    // A newer schema is not sent to 'status' for a migration it cannot have.
    fs::copy_file(w.dir / "t.db", w.dir / "newer.db");
    {
      dynfault::db::Database((w.dir / "newer.db").string(), dynfault::db::OpenMode::kReadWrite)
          .set_user_version(9);
    }
    const auto newer = cli("export --db newer.db --out n", w.dir);
    CHECK(has(newer.out, "written by a newer dynfault"));
    CHECK_FALSE(has(newer.out, "status"));
    // Bytes of a bad CSV reach the terminal escaped.
    std::ofstream(w.dir / "bad.csv", std::ios::binary)
        << "epoch,train_loss,train_metric,val_loss,val_metric\n0,\x1b[2J\x07oops,0,1,0\n";
    const auto bad = cli("diagnose --model m.model --trace bad.csv", w.dir);
    CHECK(bad.code == 1);
    CHECK(has(bad.out, "\\x1b[2J\\x07oops"));
    CHECK_FALSE(has(bad.out, "\x1b"));
    // merge: another campaign joins beside the target's, and says so.
    std::ofstream(w.dir / "o.yaml") << "name: other\nprograms: [iris_mlp]\n";
    REQUIRE(cli("plan o.yaml --db o.db", w.dir).code == 0);
    const auto merged = cli("merge --into t.db o.db", w.dir);
    INFO(merged.out);
    CHECK(merged.code == 0);
    CHECK(has(merged.out, "adds campaign 'other' beside 'rel'"));
    CHECK_FALSE(has(cli("--help", w.dir).out, "same campaign only"));
  }
}
