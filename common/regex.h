#pragma once
/// Regular expressions from the command line, bounded: std::regex compiles and matches by
/// recursion, so a pattern of 20,000 '(' overflowed the stack (SIGSEGV). A pattern is refused
/// above kMaxRegexLength characters or kMaxRegexNesting nested groups, before it is compiled.
#include <cstddef>
#include <regex>
#include <string>

namespace dynfault {

inline constexpr size_t kMaxRegexLength = 512;
inline constexpr int kMaxRegexNesting = 16;

/// Compiles `pattern` (ECMAScript syntax) or throws ConfigError naming `what` (e.g.
/// "--programs") and the reason: too long, nested too deeply, or not a regular expression.
std::regex bounded_regex(const std::string& pattern, const std::string& what);

}  // namespace dynfault
