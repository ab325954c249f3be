// Nothing lost, nothing corrupted, no hang (issue 15), for campaigns, through the real
// `dynfault` binary: an attempt interrupted from outside is not the run's failure and a run never
// ends the campaign silently FAILED (3), the single-coordinator lock holds whatever names the
// database (4), work is bounded before it starts (6), and YAML surprises are errors (10). The
// numbers are the issue's classes.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
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

// 6 short runs of iris_mlp: clean and 2 faults, 2 repetitions.
const char* kCampaign = R"(name: attempts
seed: 3
repetitions: 2
timeout_s: 60
programs: [iris_mlp]
faults:
  - mutator: lr_scale
    params: {factor: 10.0}
  - mutator: optimizer_change
    params: {to: adam}
)";
const std::string kSteps = " --max-steps 40";

Cli cli(const std::string& args, const fs::path& dir, const std::string& env = "") {
  return dynfault::e2e::run_cli(args, dir, env);
}

/// The last non-empty line of `text`.
std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

/// Starts `dynfault <args>` in `dir` as the leader of a new process group, output to `log`.
pid_t start(const std::string& args, const fs::path& dir, const std::string& env = "") {
  const std::string cmd = env + " exec '" + std::string(DYNFAULT_BINARY) + "' " + args + " >'" +
                          (dir / "log.txt").string() + "' 2>&1";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

dynfault::db::RunRow row(const fs::path& db, const std::string& id) {
  return *Store::open_read_only(db.string()).run(id);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Waits until run `id` of `db` was started (again) at or after `since_ms` and is RUNNING.
void wait_running(const fs::path& db, const std::string& id, int64_t since_ms) {
  for (int i = 0; i < 3000; ++i) {
    {
      dynfault::db::Database d(db.string(), dynfault::db::OpenMode::kReadOnly);
      auto s = d.prepare("SELECT status, coalesce(start_time, 0) FROM runs WHERE run_uuid = ?1");
      s.bind(1, id);
      if (s.step() && s.column_text(0) == "RUNNING" && s.column_int64(1) >= since_ms) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("run " << id << " never started");
}

/// The worker processes of coordinator `pid`.
std::vector<pid_t> children(pid_t pid) {
  std::vector<pid_t> out;
  const fs::path p = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  std::istringstream in(read_bytes(p));
  for (pid_t c; in >> c;) out.push_back(c);
  return out;
}

/// A directory with the campaign planned into p.db; `ids` are its runs in dispatch order.
struct Planned : dynfault::e2e::TempDir {
  fs::path dir = path;
  std::vector<std::string> ids;
  Planned() : dynfault::e2e::TempDir("dynfault-runs") {
    std::ofstream(dir / "c.yaml") << kCampaign;
    REQUIRE(cli("plan c.yaml --db p.db", dir).code == 0);
    for (const auto& r : Store::open_read_only((dir / "p.db").string()).runs())
      ids.push_back(r.spec.run_uuid);
    REQUIRE(ids.size() == 6);
  }
  std::string hang(const std::string& id) const {
    return "DYNFAULT_TEST_CRASH_RUN=" + id.substr(0, 12) + ":hang";
  }
};

}  // namespace

TEST_SUITE("reliability") {
  TEST_CASE("3: coordinator and worker killed from outside cost the run no attempt") {
    Planned p;
    const std::string x = p.ids[0];  // dispatched first (runs go in run_uuid order)
    // Three coordinators killed (with their workers) while run x is in flight ...
    for (int kill = 0; kill < 3; ++kill) {
      const int64_t since = now_ms();
      const pid_t pid = start("run --db p.db --jobs 1" + kSteps, p.dir, p.hang(x));
      wait_running(p.dir / "p.db", x, since);
      ::kill(-pid, SIGKILL);
      wait_exit(pid);
    }
    // ... then its worker alone, killed from outside: the run is KILLED, not FAILED.
    const int64_t since = now_ms();
    const pid_t pid = start("run --db p.db --jobs 1" + kSteps, p.dir, p.hang(x));
    wait_running(p.dir / "p.db", x, since);
    std::vector<pid_t> workers;
    for (int i = 0; i < 200 && workers.empty(); ++i) {
      workers = children(pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(workers.size() == 1);
    ::kill(workers[0], SIGKILL);
    CHECK(wait_exit(pid) == 0);
    const std::string log = read_bytes(p.dir / "log.txt");
    INFO(log);
    const auto killed = row(p.dir / "p.db", x);
    CHECK(killed.status == "KILLED");
    CHECK(has(killed.error, "from outside dynfault"));
    CHECK(has(last_line(log), "1 run KILLED"));
    // A plain `dynfault run` then completes the campaign; the run was started 5 times, of which
    // one ended on its own.
    const auto r = cli("run --db p.db --jobs 1" + kSteps, p.dir);
    INFO(r.out);
    CHECK(r.code == 0);
    CHECK(Store::open_read_only((p.dir / "p.db").string()).runs({"", "FINISHED"}).size() == 6);
    CHECK(row(p.dir / "p.db", x).attempts == 1);
  }

  TEST_CASE("3: a run never ends the campaign FAILED unsaid; status names it and the retry") {
    Planned p;
    const std::string y = p.ids[1];
    const auto r = cli("run --db p.db --jobs 1 --max-attempts 1" + kSteps, p.dir,
                       "DYNFAULT_TEST_CRASH_RUN=" + y.substr(0, 12) + ":segv");
    INFO(r.out);
    CHECK(r.code == 0);  // a crashed run is an outcome, not an error of the command
    const std::string last = last_line(r.out);
    CHECK(has(last, "1 run FAILED"));
    CHECK(has(last, "dynfault run --db p.db --max-attempts 2"));
    const auto again = cli("run --db p.db --jobs 1 --max-attempts 1" + kSteps, p.dir);
    CHECK(has(again.out, "executed 0 runs"));
    CHECK(has(last_line(again.out), "1 run FAILED"));
    const auto status = cli("status --db p.db", p.dir);
    INFO(status.out);
    CHECK(has(status.out, y));
    CHECK(has(status.out, "crashed"));
    CHECK(has(status.out, "signal 11"));
    CHECK(has(status.out, "dynfault run --db p.db --max-attempts 2"));
    CHECK(cli("run --db p.db --jobs 1 --max-attempts 2" + kSteps, p.dir).code == 0);
    CHECK(row(p.dir / "p.db", y).status == "FINISHED");
  }

  TEST_CASE("4: the coordinator lock holds for a symbolic link, a hard link or another spelling") {
    Planned p;
    const std::string x = p.ids[0];
    // The first coordinator holds the lock while its first run hangs (until it is stopped).
    const int64_t since = now_ms();
    const pid_t first = start("run --db p.db --jobs 1" + kSteps, p.dir, p.hang(x));
    wait_running(p.dir / "p.db", x, since);
    fs::create_symlink("p.db", p.dir / "link.db");
    fs::create_hard_link(p.dir / "p.db", p.dir / "hard.db");
    fs::create_directory(p.dir / "sub");
    for (const std::string& db : std::vector<std::string>{"link.db", "hard.db", "./sub/../p.db",
                                                          (p.dir / "p.db").string()}) {
      const auto r = cli("run --db " + db + " --jobs 1" + kSteps, p.dir);
      CAPTURE(db);
      INFO(r.out);
      CHECK(r.code == 1);
      CHECK(has(r.out, "another dynfault process (pid " + std::to_string(first) + ")"));
    }
    ::kill(-first, SIGTERM);
    CHECK(wait_exit(first) == 1);  // "interrupted by signal 15"
    const auto after = row(p.dir / "p.db", x);
    CHECK(after.status == "KILLED");  // still the first coordinator's: never requeued, run twice
    CHECK(after.attempts == 1);
  }

  TEST_CASE("6: work is bounded before it starts: grids, threads, resamples, limits, regexes") {
    Planned p;
    std::string grid =
        "name: g\nprograms: [iris_mlp]\nfaults:\n  - mutator: lr_scale\n"
        "    params:\n";
    for (int k = 0; k < 12; ++k)
      grid += "      fact" + std::to_string(k) + ": [1,2,3,4,5,6,7,8,9,10]\n";
    std::ofstream(p.dir / "g.yaml") << grid;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"plan g.yaml --db g.db", "g.yaml:6: key 'faults[0].params.fact0'"},
        {"features --db p.db --threads 100000", "--threads"},
        {"evaluate --db p.db --threads 100000", "--threads"},
        {"evaluate --db p.db --bootstrap 100000000", "--bootstrap"},
        {"run c.yaml --db new.db --limit -1", "--limit must be >= 0"},
        {"run --db p.db --max-steps -5", "--max-steps must be >= 0"},
        {"check programs --programs '" + std::string(20000, '(') + "'", "the limit is 512"}};
    for (const auto& [cmd, message] : cases) {
      const auto r = cli(cmd, p.dir, "timeout 120");
      CAPTURE(cmd.substr(0, 80));
      INFO(r.out.substr(0, 2000));
      CHECK((r.code == 1 || r.code == 2));  // an error, not a crash (128 + signal) or a timeout
      CHECK(has(r.out, message));
    }
    CHECK_FALSE(fs::exists(p.dir / "g.db"));
    CHECK_FALSE(fs::exists(p.dir / "new.db"));  // checked before planning
  }

  TEST_CASE("10: YAML that would be read in a surprising way is an error with file:line:key") {
    Planned p;
    fs::create_directory(p.dir / "thresholds");
    const std::vector<std::pair<std::string, std::string>> files = {
        {"name: a\nprograms: [iris_mlp]\nrepetitions: 2\nrepetitions: 3\n",
         "d.yaml:4: key 'repetitions': key given twice"},
        {"name:\nprograms: [iris_mlp]\n", "d.yaml:1: key 'name': expected a string"},
        {"name: a\nprograms: [iris_mlp]\n---\nname: b\n", "d.yaml:3: a second YAML document"},
        {std::string("name: ok\0evil\nprograms: [iris_mlp]\n", 35), "d.yaml:1: a NUL byte"},
        {"name: caf\xe9\nprograms: [iris_mlp]\n", "d.yaml:1: a byte that is not UTF-8"}};
    for (const auto& [text, message] : files) {
      std::ofstream(p.dir / "d.yaml", std::ios::binary | std::ios::trunc) << text;
      const auto r = cli("plan d.yaml --db d.db", p.dir);
      CAPTURE(message);
      INFO(r.out);
      CHECK(r.code == 1);
      CHECK(has(r.out, message));
    }
    CHECK_FALSE(fs::exists(p.dir / "d.db"));
    const auto dir = cli("labels --db p.db --thresholds thresholds", p.dir);
    CHECK(dir.code == 1);
    CHECK(has(dir.out, "thresholds: is a directory, not a regular file"));
  }
}
