#include "common/yaml_util.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <set>
#include <sstream>
#include <vector>

#include "common/input_file.h"
#include "common/text.h"

namespace dynfault::yaml {

namespace {

/// Walks the parser's events (aliases stay references, so an alias bomb costs nothing) and
/// refuses a key given twice in one mapping: yaml-cpp would keep the first value silently.
class DuplicateKeyCheck : public YAML::EventHandler {
 public:
  explicit DuplicateKeyCheck(const std::string& file) : file_(file) {}

  int documents = 0;
  int second_document_line = 0;
  std::map<int, int> empty_value_lines;  ///< see Doc

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second_document_line = mark.line + 1;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    if (!frames_.empty() && frames_.back().map && !frames_.back().expecting_key)
      empty_value_lines[mark.pos] = frames_.back().key_line;
    item(mark, "~", true);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { item(mark, "", false); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    item(mark, value, true);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    item(mark, "", false);
    frames_.push_back(Frame{false, {}, true});
  }
  void OnSequenceEnd() override { frames_.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    item(mark, "", false);
    frames_.push_back(Frame{true, {}, true});
  }
  void OnMapEnd() override { frames_.pop_back(); }

 private:
  struct Frame {
    bool map = false;
    std::set<std::string> keys;
    bool expecting_key = true;
    int key_line = 0;  ///< line of the key whose value comes next
  };

  /// One node inside the current collection: in a mapping, keys and values alternate.
  void item(const YAML::Mark& mark, const std::string& text, bool comparable) {
    if (frames_.empty() || !frames_.back().map) return;
    Frame& f = frames_.back();
    if (f.expecting_key) f.key_line = mark.line + 1;
    if (f.expecting_key && comparable && !f.keys.insert(text).second)
      throw ConfigError(file_, mark.line + 1, text, "",
                        "key given twice in one mapping (YAML keeps only one of the values)");
    f.expecting_key = !f.expecting_key;
  }

  std::string file_;
  std::vector<Frame> frames_;
};

/// Throws ConfigError at the first byte that no configuration may hold: NUL (a name would be
/// cut short) and invalid UTF-8 (names reach HTML reports and MLflow experiments).
void check_bytes(const std::string& text, const std::string& name) {
  const size_t nul = text.find('\0');
  const size_t bad = text::first_invalid_utf8(text);
  if (nul == std::string::npos && bad == std::string::npos) return;
  const bool is_nul = nul != std::string::npos && (bad == std::string::npos || nul <= bad);
  const size_t at = is_nul ? nul : bad;
  const auto pos = text::position_of(text, at);
  char byte[8];
  std::snprintf(byte, sizeof byte, "\\x%02x", static_cast<unsigned char>(text[at]));
  throw ConfigError(
      name, pos.line, "", "",
      std::string(is_nul ? "a NUL byte" : "a byte that is not UTF-8 (" + std::string(byte) + ")") +
          " at column " + std::to_string(pos.column) + "; YAML files must be UTF-8 text");
}

}  // namespace

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
  check_bytes(text, name);
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DuplicateKeyCheck check(name);
    while (parser.HandleNextDocument(check)) {
      if (check.documents > 1)
        throw ConfigError(name, check.second_document_line, "", "",
                          "a second YAML document ('---'); a file holds exactly one");
    }
    return Doc{name, YAML::Load(text), std::move(check.empty_value_lines)};
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name, e.mark.line + 1, "", "", "malformed YAML: " + e.msg);
  }
}

Doc load_file(const std::string& path) {
  return load_string(files::read_input_file(path, "YAML file", files::kMaxConfigBytes), path);
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
