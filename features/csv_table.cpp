#include "features/csv_table.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>

#include "common/check.h"

namespace dynfault::features {
namespace {

std::string trim(std::string_view s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string_view::npos) return "";
  const auto b = s.find_last_not_of(" \t\r");
  return std::string(s.substr(a, b - a + 1));
}

}  // namespace

std::string shown(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && out.size() < 80; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0x20 && b < 0x7F) {
      out += static_cast<char>(b);
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out.size() >= 80 && s.size() > 80 ? out + "..." : out;
}

bool parse_number(const std::string& cell, double& v) {
  std::string c = cell;
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (c == "nan" || c == "-nan") {
    v = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (c == "inf" || c == "+inf" || c == "infinity" || c == "+infinity") {
    v = std::numeric_limits<double>::infinity();
    return true;
  }
  if (c == "-inf" || c == "-infinity") {
    v = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (c.empty() || c.find_first_not_of("0123456789+-.e") != std::string::npos) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtod(c.c_str(), &end);
  return end != nullptr && *end == '\0';
}

CsvTable read_csv_table(const std::string& text, const std::string& name) {
  CsvTable t;
  int line = 1;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const int start_line = line;
    if (t.header.empty()) {
      // Metadata or a comment before the header: the raw line, not its cells ("# a, b").
      const size_t first = text.find_first_not_of(" \t", i);
      if (first != std::string::npos && text[first] == '#') {
        size_t end = text.find('\n', i);
        if (end == std::string::npos) end = n;
        const std::string body = trim(std::string_view(text).substr(first + 1, end - first - 1));
        const auto colon = body.find(':');
        if (colon != std::string::npos) {
          t.meta.emplace_back(trim(std::string_view(body).substr(0, colon)),
                              trim(std::string_view(body).substr(colon + 1)));
          t.meta_lines.push_back(start_line);
        }
        i = end + 1;
        ++line;
        continue;
      }
    }
    // One record: cells up to an unquoted newline.
    std::vector<std::string> cells;
    std::string cell;
    bool quoted_cell = false, any = false;
    while (i < n) {
      const char c = text[i];
      if (c == '"' && trim(cell).empty() && !quoted_cell) {
        quoted_cell = true;
        cell.clear();
        ++i;
        while (true) {
          if (i >= n)
            throw ConfigError(name, start_line, "column " + std::to_string(cells.size() + 1), "",
                              "a quoted cell is not closed");
          if (text[i] == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              cell += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          cell += text[i++];
        }
        any = true;
        continue;
      }
      if (c == ',') {
        cells.push_back(quoted_cell ? cell : trim(cell));
        cell.clear();
        quoted_cell = false;
        any = true;
        ++i;
        continue;
      }
      if (c == '\n') {
        ++i;
        ++line;
        break;
      }
      if (!quoted_cell) cell += c;
      any = any || (c != '\r' && c != ' ' && c != '\t');
      ++i;
    }
    cells.push_back(quoted_cell ? cell : trim(cell));
    if (!any) continue;  // a blank line
    if (t.header.empty()) {
      t.header = std::move(cells);
      t.header_line = start_line;
      continue;
    }
    if (cells.size() != t.header.size())
      throw ConfigError(name, start_line, "", "",
                        "row has " + std::to_string(cells.size()) + " cells, the header has " +
                            std::to_string(t.header.size()));
    t.rows.push_back(std::move(cells));
    t.row_lines.push_back(start_line);
  }
  if (t.header.empty()) throw ConfigError(name, 0, "", "", "no header line");
  return t;
}

}  // namespace dynfault::features
