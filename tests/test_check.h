// Shared by the test suites: the message of the error a call throws, and substring checks.
#pragma once

#include <string>
#include <utility>

#include "common/check.h"

namespace dynfault::test {

/// The message of the E that `f` throws (dynfault::Error unless said), or "" when it returns.
/// Any other exception propagates, so that a test sees a failure of the wrong kind as such.
template <typename E = dynfault::Error, typename F>
std::string error_of(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

/// Whether `text` contains `part`.
inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace dynfault::test
