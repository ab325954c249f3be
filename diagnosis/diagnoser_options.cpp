#include "diagnosis/diagnoser_options.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "common/registry.h"
#include "common/yaml_util.h"
#include "diagnosis/diagnoser.h"

namespace dynfault::diagnosis {
namespace {

// The shortest text that reads back as `v` (0.3, not 0.29999999999999999).
std::string number_text(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::string text;
  for (int digits = 1; digits <= 17; ++digits) {
    std::ostringstream os;
    os.precision(digits);
    os << v;
    text = os.str();
    if (std::strtod(text.c_str(), nullptr) == v) break;
  }
  return text;
}

std::string range_text(const OptionSpec& spec) {
  return "[" + number_text(spec.min) + ", " + number_text(spec.max) + "]";
}

// The YAML scalar `node` as a value of `spec`; ConfigError (file, line, key, value) when it is
// not one.
OptionValue read_value(const yaml::Doc& doc, const YAML::Node& node, const OptionSpec& spec,
                       const std::string& key) {
  if (!node.IsScalar())
    throw ConfigError(doc.file, yaml::line_of(node), key, yaml::render(node), "expected a scalar");
  OptionValue value;
  if (spec.type == OptionType::choice) {
    value = node.Scalar();
  } else if (spec.type == OptionType::integer) {
    // yaml-cpp reads "2.5" as int 2 with no error through some paths; parse the text strictly.
    const std::string& text = node.Scalar();
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      throw ConfigError(doc.file, yaml::line_of(node), key, text, "expected an integer");
    value = static_cast<double>(v);
  } else {
    value = yaml::as<double>(doc, node, key);
  }
  const std::string problem = option_problem(spec, value);
  if (!problem.empty())
    throw ConfigError(doc.file, yaml::line_of(node), key, yaml::render(node), problem);
  return value;
}

int read_setting(const yaml::Doc& doc, const YAML::Node& node, const std::string& key, int min,
                 int max) {
  const int v = yaml::as<int>(doc, node, key);
  if (node.Scalar().find_first_not_of("+-0123456789") != std::string::npos || v < min || v > max)
    throw ConfigError(
        doc.file, yaml::line_of(node), key, yaml::render(node),
        "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return v;
}

OptionValues read_diagnoser(const yaml::Doc& doc, const std::string& name, const YAML::Node& node) {
  OptionValues values;
  if (node.IsNull()) return values;  // `knn:` alone = its defaults
  yaml::require_map(doc, node, name);
  const auto& specs = diagnoser_options(name);
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const auto it = std::find_if(specs.begin(), specs.end(),
                                 [&](const OptionSpec& s) { return s.name == key; });
    if (it == specs.end()) {
      std::vector<std::string> known;
      for (const auto& s : specs) known.push_back(s.name);
      throw ConfigError(doc.file, yaml::line_of(kv.first), name + "." + key,
                        yaml::render(kv.second),
                        known.empty() ? "diagnoser '" + name + "' declares no options"
                                      : unknown_name_message("option", key, known));
    }
    values[key] = read_value(doc, kv.second, *it, name + "." + key);
  }
  return values;
}

DiagnoserConfigFile read_config(const yaml::Doc& doc) {
  DiagnoserConfigFile out;
  out.path = doc.file;
  if (doc.root.IsNull()) return out;
  yaml::require_map(doc, doc.root, "(top level)");
  yaml::require_known_keys(doc, doc.root, {"bins", "diagnosers", "learner_seeds"}, "");
  if (const YAML::Node n = doc.root["learner_seeds"])
    out.learner_seeds = read_setting(doc, n, "learner_seeds", 1, 1000);
  if (const YAML::Node n = doc.root["bins"]) out.bins = read_setting(doc, n, "bins", 2, 255);
  const YAML::Node all = doc.root["diagnosers"];
  if (!all || all.IsNull()) return out;
  yaml::require_map(doc, all, "diagnosers");
  const std::vector<std::string> known = diagnoser_names();
  for (const auto& kv : all) {
    const std::string name = kv.first.as<std::string>();
    if (!std::binary_search(known.begin(), known.end(), name))
      throw ConfigError(doc.file, yaml::line_of(kv.first), "diagnosers." + name, "",
                        unknown_name_message("diagnoser", name, known));
    out.diagnosers[name] = read_diagnoser(doc, name, kv.second);
  }
  return out;
}

}  // namespace

std::string option_problem(const OptionSpec& spec, const OptionValue& value) {
  if (spec.type == OptionType::choice) {
    const auto* word = std::get_if<std::string>(&value);
    std::string list;
    for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
    if (!word || std::find(spec.choices.begin(), spec.choices.end(), *word) == spec.choices.end())
      return "expected one of " + list;
    return "";
  }
  const auto* v = std::get_if<double>(&value);
  const bool integer = spec.type == OptionType::integer;
  const std::string expected = std::string(integer ? "expected an integer" : "expected a number") +
                               " in " + range_text(spec);
  if (!v || !std::isfinite(*v) || *v < spec.min || *v > spec.max) return expected;
  if (integer && std::floor(*v) != *v) return expected;
  return "";
}

std::string option_text(const OptionValue& value) {
  if (const auto* word = std::get_if<std::string>(&value)) return *word;
  return number_text(std::get<double>(value));
}

DiagnoserConfigFile load_diagnoser_config(const std::string& path) {
  return read_config(yaml::load_file(path));
}

DiagnoserConfigFile parse_diagnoser_config(const std::string& text, const std::string& name) {
  return read_config(yaml::load_string(text, name));
}

}  // namespace dynfault::diagnosis
