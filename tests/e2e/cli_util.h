// Shared by the end-to-end suites: run the real `dynfault` binary, scratch directories, files.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/test_files.h"

namespace dynfault::e2e {

namespace fs = std::filesystem;

struct Cli {
  int code = -1;
  std::string out;  // stdout and stderr, interleaved
};

/// Runs `[env] dynfault <args>` in `dir` to completion (output is a pipe, not a terminal) and
/// returns its output and exit code (128 when it died of a signal).
inline Cli run_cli(const std::string& args, const fs::path& dir, const std::string& env = "") {
  const std::string cmd = "cd '" + dir.string() + "' && " + env + " '" +
                          std::string(DYNFAULT_BINARY) + "' " + args + " 2>&1";
  Cli r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

/// A fresh directory under the system's temporary directory, named `<prefix>-XXXXXX`, left
/// in place (for fixtures shared by a whole file).
inline fs::path make_temp_dir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

/// A scratch directory removed with everything in it at scope exit.
struct TempDir : dynfault::test::ScratchDir {
  explicit TempDir(const std::string& prefix = "dynfault-e2e") : ScratchDir(prefix) {}
};

using dynfault::test::read_bytes;

}  // namespace dynfault::e2e
