#pragma once
/// Temporaries beside an output: a file or directory named `.<target>.tmp-<pid>-<random>` in the
/// target's directory, locked (flock) by its writer for its whole life. It is removed when the
/// writer fails (destructor), when the writer is stopped by SIGINT, SIGTERM or SIGHUP (a signal
/// handler removes every live temporary, then lets the signal end the process as it would have),
/// and, after a SIGKILL or a power cut, by the next write of the same target, which removes the
/// temporaries whose writer is gone (no live process holds their lock).
#include <filesystem>
#include <string>
#include <vector>

namespace dynfault::files {

/// A temporary file or directory beside `target`; see the file comment.
class Temporary {
 public:
  enum class Kind { kFile, kDirectory };
  /// Creates it (mode 0600 for a file, 0700 for a directory) and takes its lock. Throws
  /// dynfault::Error naming `what` when the target's directory cannot hold it.
  Temporary(const std::filesystem::path& target, Kind kind, const std::string& what);
  /// Removes the temporary unless `release()`d; never throws.
  ~Temporary();
  Temporary(const Temporary&) = delete;
  Temporary& operator=(const Temporary&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// The open descriptor: the file to write, or the directory (holding the lock).
  int fd() const { return fd_; }
  /// The temporary now lives under another name (it was renamed into place): stop guarding
  /// it and close the descriptor.
  void release();

 private:
  std::filesystem::path path_;
  Kind kind_;
  int fd_ = -1;
  int slot_ = -1;
};

/// Removes the temporaries beside `target` whose writer is gone: its process no longer exists
/// and nobody holds its lock (temporaries of older dynfault versions, named `.<target>.tmp-XXXXXX`,
/// count as gone when unlocked). Returns one line per removed temporary, for the user.
std::vector<std::string> remove_stale_temporaries(const std::filesystem::path& target);

}  // namespace dynfault::files
