#include "common/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"

namespace dynfault::files {

namespace {

std::string bytes_text(uint64_t n) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return std::to_string(n) + " bytes";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

/// Closes a descriptor at scope exit.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string file_type_name(unsigned mode) {
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISFIFO(mode)) return "FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISLNK(mode)) return "symbolic link";
  return "special file";
}

std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  if (path.empty()) throw ConfigError("no " + what + " given (empty path)");
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    throw ConfigError(path, 0, "", "", "cannot open the " + what + ": " + std::strerror(err));
  }
  FdGuard guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw ConfigError(path, 0, "", "", "cannot stat the " + what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw ConfigError(path, 0, "", "",
                      "is a " + file_type_name(st.st_mode) + ", not a regular file; a " + what +
                          " must be a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  const auto too_big = [&](uint64_t seen) {
    return ConfigError(path, 0, "", "",
                       "the " + what + " is " + bytes_text(seen) + (seen > size ? " or more" : "") +
                           "; the limit for a " + what + " is " + bytes_text(max_bytes));
  };
  if (size > max_bytes) throw too_big(size);
  std::string out;
  out.resize(static_cast<size_t>(size));
  size_t have = 0;
  char extra[4096];
  while (true) {
    // Read into the string while it has room, then into a side buffer: a file that grows while
    // it is read is still capped.
    const bool room = have < out.size();
    const ssize_t n =
        room ? ::read(fd, out.data() + have, out.size() - have) : ::read(fd, extra, sizeof extra);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ConfigError(path, 0, "", "", "cannot read the " + what + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    if (!room) {
      if (have + static_cast<size_t>(n) > max_bytes) throw too_big(have + static_cast<size_t>(n));
      out.append(extra, static_cast<size_t>(n));
    }
    have += static_cast<size_t>(n);
  }
  out.resize(have);
  return out;
}

}  // namespace dynfault::files
