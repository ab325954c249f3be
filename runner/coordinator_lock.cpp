#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "common/check.h"
#include "runner/executor.h"

namespace dynfault::runner {
namespace {

/// The pid holding a flock on the file (device, inode), from /proc/locks; "?" when unknown.
std::string flock_holder(dev_t dev, ino_t ino) {
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%llu", major(dev), minor(dev),
                static_cast<unsigned long long>(ino));
  std::ifstream in("/proc/locks");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string number, kind, mode, access, pid, file;
    words >> number >> kind;
    if (kind == "->") continue;  // a process waiting for the lock, not holding it
    words >> mode >> access >> pid >> file;
    if (kind == "FLOCK" && file == id) return pid;
  }
  return "?";
}

}  // namespace

CoordinatorLock::CoordinatorLock(const std::string& db_path, bool wait,
                                 const std::function<void(const std::string&)>& on_wait,
                                 bool create)
    : path_(db_path) {
  fd_ = ::open(db_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | (create ? O_CREAT : 0), 0644);
  if (fd_ < 0) {
    throw Error("cannot open '" + db_path + "' to lock it: " + std::strerror(errno) +
                (errno == ENOENT ? " (plan a campaign first: dynfault plan --config FILE)" : ""));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error("'" + db_path + "' is not a regular file; a database must be one");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string what = "another dynfault process (pid " + flock_holder(st.st_dev, st.st_ino) +
                             ") is using '" + db_path + "'";
    if (!wait) {
      ::close(fd_);
      throw Error(what + "; wait for it to finish, stop it, or pass --wait");
    }
    if (on_wait) on_wait(what + "; waiting for it to finish");
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int err = errno;
        ::close(fd_);
        throw Error("cannot lock '" + path_ + "': " + std::strerror(err));
      }
    }
  }
}

CoordinatorLock::~CoordinatorLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace dynfault::runner
