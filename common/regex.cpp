#include "common/regex.h"

#include <algorithm>

#include "common/check.h"
#include "common/text.h"

namespace dynfault {

std::regex bounded_regex(const std::string& pattern, const std::string& what) {
  const auto refuse = [&](const std::string& why) {
    const std::string shown = pattern.size() > 60 ? pattern.substr(0, 57) + "..." : pattern;
    return ConfigError("", 0, what, text::printable(shown), why);
  };
  if (pattern.size() > kMaxRegexLength)
    throw refuse("a regular expression of " + std::to_string(pattern.size()) +
                 " characters; the limit is " + std::to_string(kMaxRegexLength));
  int depth = 0, deepest = 0;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;  // an escaped character never opens or closes anything
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ')') {
      --depth;
    }
  }
  if (deepest > kMaxRegexNesting)
    throw refuse("groups nested " + std::to_string(deepest) + " deep; the limit is " +
                 std::to_string(kMaxRegexNesting));
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw refuse(std::string("not a regular expression: ") + e.what());
  }
}

}  // namespace dynfault
