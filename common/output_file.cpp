#include "common/output_file.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "common/check.h"
#include "common/input_file.h"

namespace dynfault::files {

namespace fs = std::filesystem;

namespace {

// --- the files this process must not replace ---------------------------------------------------

struct Protected {
  uint64_t id = 0;
  fs::path path;  ///< absolute
  dev_t dev = 0;
  ino_t ino = 0;
  bool identified = false;  ///< dev/ino are known
};

std::mutex g_protected_mutex;
std::vector<Protected> g_protected;
uint64_t g_next_id = 1;

constexpr const char* kDatabaseSuffixes[] = {"", "-wal", "-shm", "-journal"};

bool same_file(const struct stat& a, dev_t dev, ino_t ino) {
  return a.st_dev == dev && a.st_ino == ino;
}

/// "the database 'x.db'" (or its -wal file, ...) when `target` is one of the protected files.
std::optional<std::string> protected_match(const fs::path& target) {
  struct stat t {};
  const bool exists = ::stat(target.c_str(), &t) == 0;  // through symbolic links: same file
  std::error_code ec;
  const fs::path canonical_target = fs::weakly_canonical(fs::absolute(target), ec);
  std::lock_guard<std::mutex> lock(g_protected_mutex);
  for (const auto& p : g_protected) {
    for (const char* suffix : kDatabaseSuffixes) {
      const fs::path file = p.path.string() + suffix;
      const std::string name = *suffix ? "the " + std::string(suffix + 1) + " file '" +
                                             file.string() + "' of the database"
                                       : "the database '" + p.path.string() + "'";
      if (exists) {
        struct stat s {};
        if (*suffix == '\0' && p.identified && same_file(t, p.dev, p.ino)) return name;
        if (::stat(file.c_str(), &s) == 0 && same_file(t, s.st_dev, s.st_ino)) return name;
      } else {
        // Not there yet (a journal SQLite creates later): compare the resolved names.
        std::error_code e2;
        if (!ec && fs::weakly_canonical(file, e2) == canonical_target && !e2) return name;
      }
    }
  }
  return std::nullopt;
}

mode_t current_umask() {
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

fs::path directory_of(const fs::path& p) {
  return p.parent_path().empty() ? fs::path(".") : p.parent_path();
}

void require_parent_directory(const std::string& path, const std::string& what) {
  const fs::path dir = directory_of(fs::path(path));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(what + ": the directory of '" + path + "' ('" + dir.string() + "') does not exist");
}

/// Moves `from` to `to` in one step, replacing `to` only when `replace`.
int rename_into_place(const fs::path& from, const fs::path& to, bool replace) {
  if (replace) return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  // A file system without RENAME_NOREPLACE: link() refuses an existing name just as well.
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());
  return 0;
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // best effort: the rename is durable once the directory is
  ::close(fd);
}

}  // namespace

// --- ProtectedFile ------------------------------------------------------------------------------

ProtectedFile::ProtectedFile(const std::string& path) {
  Protected p;
  std::error_code ec;
  p.path = fs::absolute(path, ec);
  if (ec) p.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    p.dev = st.st_dev;
    p.ino = st.st_ino;
    p.identified = true;
  }
  std::lock_guard<std::mutex> lock(g_protected_mutex);
  p.id = id_ = g_next_id++;
  g_protected.push_back(std::move(p));
}

ProtectedFile::~ProtectedFile() {
  std::lock_guard<std::mutex> lock(g_protected_mutex);
  for (auto it = g_protected.begin(); it != g_protected.end(); ++it) {
    if (it->id == id_) {
      g_protected.erase(it);
      break;
    }
  }
}

// --- checks -------------------------------------------------------------------------------------

std::string describe_write_error(int err, const std::string& path) {
  if (err == ENOSPC || err == EDQUOT) {
    std::error_code ec;
    const fs::path dir = fs::absolute(directory_of(fs::path(path)), ec);
    return std::string("disk full (") + std::strerror(err) + " on the file system of '" +
           dir.string() + "')";
  }
  return std::strerror(err);
}

void check_output_file(const std::string& path, bool force, const std::string& what) {
  if (path.empty()) throw Error(what + ": no file name given");
  if (const auto db = protected_match(path))
    throw Error("refusing to write the " + what + " to '" + path + "': it is " + *db +
                " this command has open");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode))
      throw Error("'" + path + "' is a symbolic link; refusing to write the " + what +
                  " through it or to replace it (give the path of a regular file)");
    if (!S_ISREG(st.st_mode))
      throw Error("'" + path + "' is a " + file_type_name(st.st_mode) +
                  "; refusing to replace it with the " + what);
    if (!force) throw Error("'" + path + "' exists; give --force to overwrite it");
  } else if (errno != ENOENT) {
    throw Error("cannot check '" + path + "': " + std::strerror(errno));
  }
  require_parent_directory(path, what);
}

void check_output_directory(const std::string& path, const std::string& what) {
  if (path.empty()) throw Error(what + ": no output directory given (--out DIR)");
  if (const auto db = protected_match(path))
    throw Error("refusing to write the " + what + " to '" + path + "': it is " + *db +
                " this command has open");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode))
      throw Error(what + ": '" + path +
                  "' is a symbolic link; refusing to replace it (give a new directory)");
    if (!S_ISDIR(st.st_mode))
      throw Error(what + ": '" + path +
                  "' exists and is not a directory; refusing to overwrite it");
    std::error_code ec;
    if (!fs::is_empty(path, ec) || ec)
      throw Error(what + ": '" + path +
                  "' exists and is not empty; refusing to write into it (give a new directory)");
  } else if (errno != ENOENT) {
    throw Error(what + ": cannot check '" + path + "': " + std::strerror(errno));
  }
  fs::path abs = fs::absolute(path).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();
  std::error_code ec;
  if (!fs::is_directory(abs.parent_path(), ec))
    throw Error(what + ": the parent directory of '" + path + "' ('" + abs.parent_path().string() +
                "') does not exist");
}

// --- write_output_file --------------------------------------------------------------------------

std::vector<std::string> write_output_file(const std::string& path, std::string_view contents,
                                           bool force, const std::string& what) {
  check_output_file(path, force, what);
  const fs::path target(path);
  std::vector<std::string> removed = remove_stale_temporaries(target);
  struct stat old {};
  const bool replacing = ::lstat(path.c_str(), &old) == 0;
  const mode_t mode = replacing ? (old.st_mode & 07777) : (0666 & ~current_umask());

  Temporary tmp(target, Temporary::Kind::kFile, what);
  const auto fail = [&](const std::string& doing, int err) {
    return Error("cannot write the " + what + " '" + path + "': " + doing + ": " +
                 describe_write_error(err, path));
  };
  for (size_t done = 0; done < contents.size();) {
    const ssize_t n = ::write(tmp.fd(), contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw fail("writing " + tmp.path().filename().string(), n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  if (::fchmod(tmp.fd(), mode) != 0) throw fail("setting its permissions", errno);
  if (::fsync(tmp.fd()) != 0) throw fail("flushing it to disk", errno);
  // Again, just before the rename: what appeared meanwhile is refused, not clobbered.
  check_output_file(path, force, what);
  if (const int err = rename_into_place(tmp.path(), target, force))
    throw Error("cannot move the " + what + " into '" + path + "': " + std::strerror(err));
  tmp.release();
  sync_directory(directory_of(target));
  return removed;
}

// --- OutputStream -------------------------------------------------------------------------------

OutputStream::OutputStream(const fs::path& path, const std::string& what)
    : path_(path), what_(what) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd_ < 0)
    throw Error(what + ": cannot create '" + path.string() +
                "': " + describe_write_error(errno, path.string()));
  buffer_.reserve(64 << 10);
}

OutputStream::~OutputStream() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputStream::flush() {
  for (size_t done = 0; done < buffer_.size();) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(what_ + ": cannot write '" + path_.string() +
                  "': " + describe_write_error(n < 0 ? errno : EIO, path_.string()));
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
}

OutputStream& OutputStream::write(std::string_view bytes) {
  if (buffer_.size() + bytes.size() > (64 << 10)) flush();
  if (bytes.size() > (64 << 10)) {
    buffer_.assign(bytes.data(), bytes.size());
    flush();
  } else {
    buffer_.append(bytes.data(), bytes.size());
  }
  return *this;
}

void OutputStream::close() {
  if (fd_ < 0) return;
  flush();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0)
    throw Error(what_ + ": cannot write '" + path_.string() +
                "': " + describe_write_error(errno, path_.string()));
}

// --- StagingDirectory ---------------------------------------------------------------------------

StagingDirectory::StagingDirectory(const std::string& final_path, const std::string& what)
    : what_(what) {
  check_output_directory(final_path, what);
  final_ = fs::absolute(final_path).lexically_normal();
  if (final_.filename().empty()) final_ = final_.parent_path();
  removed_stale_ = remove_stale_temporaries(final_);
  temporary_ = std::make_unique<Temporary>(final_, Temporary::Kind::kDirectory, what);
}

StagingDirectory::~StagingDirectory() = default;

void StagingDirectory::commit() {
  // Every file reaches the disk before the directory takes its final name.
  if (::syncfs(temporary_->fd()) != 0)
    throw Error(what_ + ": cannot flush '" + temporary_->path().string() +
                "' to disk: " + describe_write_error(errno, temporary_->path().string()));
  check_output_directory(final_.string(), what_);
  struct stat existing {};
  const bool exists = ::lstat(final_.c_str(), &existing) == 0;
  const mode_t mode = exists ? (existing.st_mode & 07777) : (0777 & ~current_umask());
  if (::fchmod(temporary_->fd(), mode) != 0)
    throw Error(what_ + ": cannot set the permissions of '" + temporary_->path().string() +
                "': " + std::strerror(errno));
  // An existing (empty) directory is replaced in one step; a new name is never clobbered.
  if (const int err = rename_into_place(temporary_->path(), final_, exists))
    throw Error(what_ + ": cannot move the export into '" + final_.string() +
                "': " + std::strerror(err));
  temporary_->release();
  sync_directory(final_.parent_path());
}

}  // namespace dynfault::files
