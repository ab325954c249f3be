#include "common/temporary.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <random>

#include "common/check.h"

namespace dynfault::files {

namespace fs = std::filesystem;

namespace {

// --- removal from a signal handler ---------------------------------------------------------------
// Only async-signal-safe calls below (open, getdents64, unlinkat, close, sigaction, raise): the
// handler may interrupt anything, including malloc.

constexpr int kSlots = 16;
constexpr int kStateFree = 0, kStateFile = 1, kStateDirectory = 2;

struct Slot {
  std::atomic<int> state{kStateFree};
  char path[PATH_MAX] = {};
};
Slot g_slots[kSlots];

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[3];
bool g_installed[3] = {false, false, false};
int g_live = 0;  // registered slots; guarded by g_mutex
std::mutex g_mutex;

/// Removes `name` under `parent` (a file, or a directory with everything in it).
void remove_now(int parent, const char* name, int depth) {
  if (::unlinkat(parent, name, 0) == 0 || errno == ENOENT) return;
  const int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  // Removing entries while reading a directory may skip some: read again until a pass finds
  // nothing left to remove.
  for (int pass = 0; pass < 64; ++pass) {
    bool removed_any = false;
    ::lseek(fd, 0, SEEK_SET);
    alignas(8) char buf[2048];
    for (ssize_t n; (n = ::getdents64(fd, buf, sizeof buf)) > 0;) {
      for (ssize_t off = 0; off < n;) {
        const auto* d = reinterpret_cast<const struct dirent64*>(buf + off);
        off += d->d_reclen;
        const char* e = d->d_name;
        if (e[0] == '.' && (e[1] == '\0' || (e[1] == '.' && e[2] == '\0'))) continue;
        if (depth < 48) remove_now(fd, e, depth + 1);
        removed_any = true;
      }
    }
    if (!removed_any) break;
  }
  ::close(fd);
  ::unlinkat(parent, name, AT_REMOVEDIR);
}

extern "C" void remove_temporaries_on_signal(int sig) {
  const int saved_errno = errno;
  for (auto& slot : g_slots) {
    const int state = slot.state.load(std::memory_order_acquire);
    if (state == kStateFile) {
      ::unlink(slot.path);
    } else if (state == kStateDirectory) {
      remove_now(AT_FDCWD, slot.path, 0);
    }
  }
  // End the process as the signal would have: default action, re-raised (it is blocked while
  // this handler runs, so it is delivered as the handler returns).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  errno = saved_errno;
  ::raise(sig);
}

/// Registers `path` for removal on a signal; installs the handler with the first registration,
/// for the signals whose action is the default (an ignored SIGHUP under nohup stays ignored,
/// and a command with its own handlers keeps them).
int register_slot(const fs::path& path, int state) {
  const std::string text = path.string();
  if (text.size() >= PATH_MAX) return -1;
  std::lock_guard<std::mutex> lock(g_mutex);
  for (int i = 0; i < kSlots; ++i) {
    if (g_slots[i].state.load() != kStateFree) continue;
    std::memcpy(g_slots[i].path, text.c_str(), text.size() + 1);
    g_slots[i].state.store(state, std::memory_order_release);
    if (g_live++ == 0) {
      for (int s = 0; s < 3; ++s) {
        struct sigaction current {};
        ::sigaction(kSignals[s], nullptr, &current);
        g_installed[s] = current.sa_handler == SIG_DFL && !(current.sa_flags & SA_SIGINFO);
        if (!g_installed[s]) continue;
        struct sigaction sa {};
        sa.sa_handler = remove_temporaries_on_signal;
        sigemptyset(&sa.sa_mask);
        for (int other : kSignals) sigaddset(&sa.sa_mask, other);
        ::sigaction(kSignals[s], &sa, &g_previous[s]);
      }
    }
    return i;
  }
  return -1;  // more than kSlots at once: still removed on failure and by the next write
}

void unregister_slot(int slot) {
  if (slot < 0) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_slots[slot].state.store(kStateFree, std::memory_order_release);
  if (--g_live == 0) {
    for (int s = 0; s < 3; ++s)
      if (g_installed[s]) ::sigaction(kSignals[s], &g_previous[s], nullptr);
  }
}

std::string random_suffix() {
  static const char* kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
  static std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(::getpid()));
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  std::string s(6, 'x');
  for (char& c : s) c = kChars[rng() % 36];
  return s;
}

std::string temporary_prefix(const fs::path& target) {
  return "." + target.filename().string() + ".tmp-";
}

bool process_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace

Temporary::Temporary(const fs::path& target, Kind kind, const std::string& what) : kind_(kind) {
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = temporary_prefix(target) + std::to_string(::getpid()) + "-";
  for (int tries = 0; tries < 100; ++tries) {
    path_ = fs::absolute(dir / (prefix + random_suffix()));
    // Registered before it exists: a signal between creation and registration cannot leave it.
    slot_ = register_slot(path_, kind == Kind::kFile ? kStateFile : kStateDirectory);
    int err = 0;
    if (kind == Kind::kFile) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd_ < 0) err = errno;
    } else if (::mkdir(path_.c_str(), 0700) != 0) {
      err = errno;
    } else {
      fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd_ < 0) err = errno;
    }
    if (err == 0) break;
    // Never remove what we did not create: an EEXIST is another writer's name.
    unregister_slot(slot_);
    slot_ = -1;
    if (err == EEXIST) continue;
    if (kind == Kind::kDirectory && err != EEXIST) ::rmdir(path_.c_str());
    throw Error("cannot create a temporary " +
                std::string(kind == Kind::kFile ? "file" : "directory") + " for the " + what +
                " in '" + dir.string() + "': " + std::strerror(err));
  }
  if (fd_ < 0) throw Error("cannot find a free temporary name in '" + dir.string() + "'");
  ::flock(fd_, LOCK_EX);  // ours alone: cannot block; tells the next writer we are alive
}

Temporary::~Temporary() {
  if (fd_ >= 0) ::close(fd_);
  if (slot_ < 0 && path_.empty()) return;
  std::error_code ignored;
  if (!path_.empty()) fs::remove_all(path_, ignored);
  unregister_slot(slot_);
}

void Temporary::release() {
  unregister_slot(slot_);
  slot_ = -1;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  path_.clear();
}

std::vector<std::string> remove_stale_temporaries(const fs::path& target) {
  std::vector<std::string> removed;
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = temporary_prefix(target);
  std::error_code ec;
  std::vector<fs::path> candidates;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0)
      candidates.push_back(it->path());
  }
  for (const auto& p : candidates) {
    const std::string rest = p.filename().string().substr(prefix.size());
    const auto dash = rest.find('-');
    pid_t pid = 0;
    if (dash != std::string::npos && dash > 0) {
      try {
        pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
      } catch (const std::exception&) {
        pid = 0;
      }
    }
    if (process_alive(pid)) continue;
    // Unlocked means no live writer, also on a file system shared with other machines.
    const int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);
    if (!free) continue;
    std::error_code rm;
    const auto n = fs::remove_all(p, rm);
    if (rm) continue;
    removed.push_back(p.string() + " (" + std::to_string(n) + (n == 1 ? " entry" : " entries") +
                      (pid > 0 ? ", left by process " + std::to_string(pid) + ", which is gone)"
                               : ", left by an interrupted write)"));
  }
  return removed;
}

}  // namespace dynfault::files
