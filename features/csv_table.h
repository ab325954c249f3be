#pragma once
/// A comma-separated table as the trace readers see it (features/trace_csv.h): metadata lines `#
/// key: value` before the header, one header line, then rows, each with its line number. One linear
/// pass; RFC 4180 quoting ("a,b", "say ""x""") is understood, blank lines skipped.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dynfault::features {

struct CsvTable {
  std::vector<std::pair<std::string, std::string>> meta;  ///< '# key: value' before the header
  std::vector<int> meta_lines;
  std::vector<std::string> header;
  int header_line = 0;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> row_lines;
};

/// Reads `text`. Throws dynfault::ConfigError naming `name`, the line and the column for an
/// unterminated quote, a row whose cell count differs from the header's, or no header at all.
CsvTable read_csv_table(const std::string& text, const std::string& name);

/// `s` for a message: bytes that are not printable ASCII or valid UTF-8 as \xNN, at most 80.
std::string shown(std::string_view s);

/// A cell as a number: decimal, nan, inf, -inf, infinity (any case). False when it is none.
bool parse_number(const std::string& cell, double& v);

}  // namespace dynfault::features
