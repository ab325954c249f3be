#pragma once
// Helpers shared by the torch-free data tests: temporary directories and environment, small
// files written by the tests themselves, and error capture.
#include <doctest/doctest.h>
#include <stdlib.h>  // mkdtemp, setenv, unsetenv (POSIX)
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "programs/data.h"
#include "tests/test_check.h"

namespace fixtures {

namespace P = dynfault::programs;
namespace fs = std::filesystem;
using dynfault::test::error_of;

/// A fresh directory under /tmp, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dynfault_test_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Sets an environment variable for the scope, restoring the previous value afterwards.
class EnvGuard {
 public:
  EnvGuard(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    setenv(name_.c_str(), value.c_str(), 1);
  }
  ~EnvGuard() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

inline void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

inline void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

/// IDX bytes: big-endian magic, dimensions, then the payload.
inline std::string idx(uint32_t magic, const std::vector<uint32_t>& dims,
                       const std::vector<int>& data) {
  std::string s = be32(magic);
  for (uint32_t d : dims) s += be32(d);
  for (int v : data) s += static_cast<char>(static_cast<unsigned char>(v));
  return s;
}

/// Writes a tiny Fashion-MNIST lookalike: n_train / n_test images of 3 x 2 pixels whose pixel p
/// of image i is 10 * i + p, labels i % 3.
inline void write_tiny_fashion(const std::string& dir, uint32_t n_train, uint32_t n_test) {
  for (const auto& [prefix, n] : {std::pair<std::string, uint32_t>{"train", n_train},
                                  std::pair<std::string, uint32_t>{"t10k", n_test}}) {
    std::vector<int> pixels, labels;
    for (uint32_t i = 0; i < n; ++i) {
      for (int p = 0; p < 6; ++p) pixels.push_back(static_cast<int>(10 * i) + p);
      labels.push_back(static_cast<int>(i % 3));
    }
    write_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", idx(2051, {n, 3, 2}, pixels));
    write_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", idx(2049, {n}, labels));
  }
}

inline P::DataSpec spec_of(const std::string& name) {
  P::DataSpec s;
  s.name = name;
  return s;
}

inline std::vector<int> class_counts(const P::Dataset& d) {
  std::vector<int> c(static_cast<size_t>(d.num_classes));
  for (float y : d.y) ++c[static_cast<size_t>(y)];
  return c;
}

}  // namespace fixtures
