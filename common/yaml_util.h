#pragma once
/// Strict YAML reading: unknown keys, wrong types and bad values throw ConfigError naming
/// file, line, key and value.
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "common/check.h"

namespace dynfault::yaml {

/// A YAML document with the file it came from, so that errors can name it.
struct Doc {
  std::string file;
  YAML::Node root;
  /// Line of the key of each empty value (`name:`), by the value's byte offset: yaml-cpp marks
  /// an empty value where the next token starts, often the next line.
  std::map<int, int> empty_value_lines;
};

/// Loads `path` (common/input_file.h: a regular file of at most kMaxConfigBytes) and parses it
/// as `load_string` does.
Doc load_file(const std::string& path);
/// Parses `text` as if it were the file `name` (used by tests and embedded configs). Throws
/// ConfigError with file and line for malformed YAML and for what YAML would otherwise accept
/// silently: a NUL byte or a byte that is not UTF-8, a key given twice in one mapping (YAML
/// keeps one value), and a second document after `---` (YAML readers ignore it).
Doc load_string(const std::string& text, const std::string& name);

/// 1-based line of `node` (0 when unknown).
int line_of(const YAML::Node& node);
/// The scalar text of a node, or a short rendering of a non-scalar, for error messages.
std::string render(const YAML::Node& node);

/// Throws ConfigError for the first key of map `node` not in `allowed`.
void require_known_keys(const Doc& doc, const YAML::Node& node,
                        const std::vector<std::string>& allowed, const std::string& where);
/// Throws unless `node` is a map.
void require_map(const Doc& doc, const YAML::Node& node, const std::string& key);

template <typename T>
constexpr const char* type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "a boolean";
  else if constexpr (std::is_integral_v<T>)
    return "an integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "a number";
  else
    return "a string";
}

/// Reads `node` as T, throwing ConfigError (file, line, key, value) when it does not convert.
/// An empty value (`name:`) is refused for strings too, which yaml-cpp would read as "null".
template <typename T>
T as(const Doc& doc, const YAML::Node& node, const std::string& key) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (node.IsNull()) {
      const auto it = doc.empty_value_lines.find(node.Mark().pos);
      throw ConfigError(doc.file, it != doc.empty_value_lines.end() ? it->second : line_of(node),
                        key, "", "expected a string, got an empty value");
    }
  }
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw ConfigError(doc.file, line_of(node), key, render(node),
                      std::string("expected ") + type_name<T>());
  }
}

/// Reads optional `map[key]` into `out` (left unchanged when absent).
template <typename T>
void read_opt(const Doc& doc, const YAML::Node& map, const std::string& key, T& out) {
  const YAML::Node n = map[key];
  if (n) out = as<T>(doc, n, key);
}

}  // namespace dynfault::yaml
