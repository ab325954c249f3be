#include "runner/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/check.h"

namespace dynfault::runner {
namespace {

/// The environment of a worker (executor.h says what it holds): built from scratch, so that no
/// variable of the coordinator's changes which kernels the worker's libraries pick.
std::vector<std::string> worker_environment(const NumericEnv& numeric) {
  std::vector<std::string> env = numeric_process_environment(numeric);
  env.push_back("DYNFAULT_COORDINATOR_PID=" + std::to_string(::getpid()));
  return env;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended (status " + std::to_string(status) + ")";
}

}  // namespace

void Tail::add(const char* p, size_t n, size_t limit) {
  text.append(p, n);
  if (text.size() > limit) text.erase(0, text.size() - limit);
}

std::string Tail::last_lines(int lines) const {
  if (text.empty()) return text;
  size_t pos = text.size();
  for (int i = 0; i <= lines && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

int64_t oom_kill_count() {
  std::ifstream in("/proc/vmstat");
  std::string key;
  int64_t value = 0;
  while (in >> key >> value)
    if (key == "oom_kill") return value;
  return -1;
}

bool killed_from_outside(int status, bool oom_kill_seen) {
  if (!WIFSIGNALED(status)) return false;
  switch (WTERMSIG(status)) {
    case SIGKILL:
      return !oom_kill_seen;
    case SIGTERM:
    case SIGINT:
    case SIGHUP:
    case SIGQUIT:
    case SIGUSR1:
    case SIGUSR2:
    case SIGPWR:
      return true;
    default:
      return false;
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

Worker spawn_worker(const ExecuteOptions& o, const NumericEnv& numeric) {
  int in[2], out[2], err[2];
  DYNFAULT_CHECK(
      ::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0 && ::pipe2(err, O_CLOEXEC) == 0,
      "cannot create worker pipes: ", std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<std::string> args = {o.worker_binary, "worker",    "--db",
                                   o.db_path,       "--numeric", numeric.to_json()};
  if (!o.probes) args.push_back("--no-probes");
  if (o.max_steps > 0) {
    args.push_back("--max-steps");
    args.push_back(std::to_string(o.max_steps));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store = worker_environment(numeric);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  Worker w;
  // SIGINT and SIGTERM reach the whole process group (Ctrl-C, scancel); a worker starts with
  // them blocked and ignores them once running, so that only the coordinator reacts.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &stop_signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const int rc =
      ::posix_spawn(&w.pid, o.worker_binary.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    throw Error("cannot start worker '" + o.worker_binary + "': " + std::strerror(rc));
  }
  w.in = in[1];
  w.out = out[0];
  w.err = err[0];
  w.numeric = numeric.to_json();
  ::fcntl(w.out, F_SETFL, O_NONBLOCK);
  ::fcntl(w.err, F_SETFL, O_NONBLOCK);
  return w;
}

std::string reap(Worker& w, bool kill_first) {
  if (w.pid <= 0) return "not running";
  if (kill_first) ::kill(w.pid, SIGKILL);
  int status = 0;
  while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Drain what is left of its standard error for the report.
  char buf[4096];
  ssize_t n;
  while (w.err >= 0 && (n = ::read(w.err, buf, sizeof buf)) > 0) w.err_tail.add(buf, n);
  close_fd(w.in);
  close_fd(w.out);
  close_fd(w.err);
  w.pid = -1;
  w.exit_status = status;
  return describe_status(status);
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace dynfault::runner
