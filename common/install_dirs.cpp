#include "common/install_dirs.h"

#include <filesystem>
#include <vector>

#ifndef DYNFAULT_INSTALL_BINDIR
#define DYNFAULT_INSTALL_BINDIR "bin"
#endif
#ifndef DYNFAULT_INSTALL_DATADIR
#define DYNFAULT_INSTALL_DATADIR "share"
#endif

namespace dynfault {

namespace fs = std::filesystem;

std::string executable_path() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

std::string installed_share_dir(const std::string& name) {
  const std::string exe = executable_path();
  if (exe.empty()) return "";
  // <prefix>/<bindir>/dynfault: the executable's directory ends with the components of bindir.
  const fs::path bindir = DYNFAULT_INSTALL_BINDIR;
  if (bindir.is_absolute()) return "";
  fs::path prefix = fs::path(exe).parent_path();
  const std::vector<fs::path> parts(bindir.begin(), bindir.end());
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (prefix.filename() != *it) return "";  // not installed: a build tree
    prefix = prefix.parent_path();
  }
  const fs::path dir = prefix / DYNFAULT_INSTALL_DATADIR / "dynfault" / name;
  std::error_code ec;
  return fs::is_directory(dir, ec) ? dir.string() : "";
}

}  // namespace dynfault
