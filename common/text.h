#pragma once
/// Text checks shared by every reader of user input: UTF-8 validity and a printable rendering
/// of arbitrary bytes for messages, so that a bad file never writes raw control bytes to a
/// terminal or invalid UTF-8 into a report.
#include <cstddef>
#include <string>
#include <string_view>

namespace dynfault::text {

/// Offset of the first byte of `s` that does not start a valid UTF-8 sequence (overlong forms,
/// surrogates and code points above U+10FFFF count as invalid), or std::string_view::npos.
size_t first_invalid_utf8(std::string_view s);

/// `s` with every byte that could disturb a terminal or is not valid UTF-8 written as `\xNN`:
/// control characters other than newline and tab, DEL, and invalid UTF-8. Valid UTF-8 and
/// printable ASCII stay as they are, so ordinary messages are unchanged.
std::string printable(std::string_view s);

/// 1-based line and column (in bytes) of `offset` in `s`.
struct Position {
  int line = 1;
  int column = 1;
};
Position position_of(std::string_view s, size_t offset);

}  // namespace dynfault::text
