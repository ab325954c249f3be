#pragma once
/// Every file dynfault writes for the user (HTML reports, model files, per-epoch CSVs, the
/// programs page, export directories) is written through this one mechanism:
///
///   - an existing target is refused unless the command was given --force;
///   - a target that is any database this process has open is refused, --force or not,
///     compared by device and inode (another spelling of the path, a hard link or a symbolic
///     link to it is the same file), its -wal, -shm and -journal files included;
///   - a symbolic link is never written through or replaced, and a directory, device, FIFO or
///     socket is never replaced;
///   - the content goes to a temporary beside the target (common/temporary.h), is flushed to
///     disk, and is renamed over the target in one step: a reader sees the old file or the new
///     one, never half of one, and no temporary is left on any failure or on Ctrl-C;
///   - a full disk is reported as "disk full", with the file system it happened on.
///
/// Example:
///   files::check_output_file(out, force, "report");        // before the long work
///   const auto stale = files::write_output_file(out, html, force, "report");
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/temporary.h"

namespace dynfault::files {

/// While alive, marks the file at `path` (an open database) as one that no output of this
/// process may replace. `db::Database` holds one per connection to a file.
class ProtectedFile {
 public:
  explicit ProtectedFile(const std::string& path);
  ~ProtectedFile();
  ProtectedFile(const ProtectedFile&) = delete;
  ProtectedFile& operator=(const ProtectedFile&) = delete;

 private:
  uint64_t id_ = 0;
};

/// Throws dynfault::Error unless the file `path` may be written now (the rules above); `what`
/// names it in messages ("report", "model file"). Cheap: commands call it before long work, so
/// that a refusal costs nothing; `write_output_file` checks again.
void check_output_file(const std::string& path, bool force, const std::string& what);

/// Writes `contents` to `path` by the rules above. A replaced file keeps its permission bits; a
/// new one gets 0666 less the umask. Returns the stale temporaries of earlier interrupted
/// writes of this target that were removed (one line each, for the user).
std::vector<std::string> write_output_file(const std::string& path, std::string_view contents,
                                           bool force, const std::string& what);

/// Throws dynfault::Error unless `path` may become an output directory: absent, or an empty
/// directory (not a symbolic link), and no open database; its parent must exist.
void check_output_directory(const std::string& path, const std::string& what);

/// The message for a failed write of `path` with errno `err`: "disk full (no space left on the
/// file system of '<dir>')" for ENOSPC and EDQUOT, strerror otherwise.
std::string describe_write_error(int err, const std::string& path);

/// A new file written through a 64 KiB buffer with every error checked (export writes
/// thousands). Created exclusively; never replaces anything.
class OutputStream {
 public:
  OutputStream(const std::filesystem::path& path, const std::string& what);
  /// Closes without checking; call close() to learn about a failed write.
  ~OutputStream();
  OutputStream(const OutputStream&) = delete;
  OutputStream& operator=(const OutputStream&) = delete;

  OutputStream& write(std::string_view bytes);
  OutputStream& operator<<(std::string_view s) { return write(s); }
  OutputStream& operator<<(const std::string& s) { return write(s); }
  OutputStream& operator<<(const char* s) { return write(s); }
  OutputStream& operator<<(char c) { return write(std::string_view(&c, 1)); }
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  OutputStream& operator<<(T value) {
    return write(std::to_string(value));
  }
  /// Flushes and closes; throws dynfault::Error (disk full named as such) on failure.
  void close();

 private:
  void flush();
  std::filesystem::path path_;
  std::string what_;
  std::string buffer_;
  int fd_ = -1;
};

/// A directory filled beside its final place and renamed into it at the end (export): the
/// rules above for directories. Stale temporaries of earlier interrupted writes of the same
/// target are removed first.
class StagingDirectory {
 public:
  /// Checks `final_path` (check_output_directory) and creates the temporary directory.
  StagingDirectory(const std::string& final_path, const std::string& what);
  ~StagingDirectory();
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;

  /// The temporary directory to fill.
  const std::filesystem::path& path() const { return temporary_->path(); }
  /// The absolute final path.
  const std::filesystem::path& final_path() const { return final_; }
  /// Stale temporaries removed when this one was created (one line each).
  const std::vector<std::string>& removed_stale() const { return removed_stale_; }
  /// Flushes the files to disk and renames the directory into place. An existing empty
  /// directory at the final path is replaced, and its permission bits are kept; a new one gets
  /// 0777 less the umask.
  void commit();

 private:
  std::filesystem::path final_;
  std::string what_;
  std::vector<std::string> removed_stale_;
  std::unique_ptr<Temporary> temporary_;
};

}  // namespace dynfault::files
