#include "common/yaml_util.h"

#include <fstream>
#include <sstream>

namespace dynfault::yaml {

int line_of(const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return m.line >= 0 ? m.line + 1 : 0;
}

std::string render(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  std::string s = out.c_str();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

Doc load_string(const std::string& text, const std::string& name) {
  try {
    return Doc{name, YAML::Load(text)};
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name, e.mark.line + 1, "", "", "malformed YAML: " + e.msg);
  }
}

Doc load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, "", "", "cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path);
}

void require_map(const Doc& doc, const YAML::Node& node, const std::string& key) {
  if (!node.IsMap())
    throw ConfigError(doc.file, line_of(node), key, render(node), "expected a mapping");
}

void require_known_keys(const Doc& doc, const YAML::Node& node,
                        const std::vector<std::string>& allowed, const std::string& where) {
  require_map(doc, node, where);
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == k;
    if (!ok) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw ConfigError(doc.file, line_of(kv.first), where.empty() ? k : where + "." + k, "",
                        "unknown key (known: " + list + ")");
    }
  }
}

}  // namespace dynfault::yaml
