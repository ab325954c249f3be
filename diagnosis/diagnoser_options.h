#pragma once
/// Hyperparameters of the diagnosers, declared once per diagnoser (name, range, help; the default
/// is the options struct's own member initialiser) next to its registration, and set from a file
/// (configs/diagnosers.yaml, `--diagnoser-config`) or in code. An option a file does not name
/// keeps its declared default, so the shipped file is documentation the code checks: a test holds
/// its values equal to the declarations.
///
/// The learner seeds and the tree learners' bin count are evaluation settings, not options of one
/// diagnoser (LearnerSettings): the file sets them once at its top level (`learner_seeds`, `bins`)
/// and the command line's `--learner-seeds` / `--bins` override the file.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace dynfault::diagnosis {

/// A value of a diagnoser option: a number (integer and real options) or a word (choices).
using OptionValue = std::variant<double, std::string>;
/// Option values by option name.
using OptionValues = std::map<std::string, OptionValue>;
/// Option values by diagnoser name: what a configuration file sets. A diagnoser it does not list
/// uses its defaults.
using DiagnoserConfig = std::map<std::string, OptionValues>;

enum class OptionType { integer, real, choice };

/// One declared option of a diagnoser.
struct OptionSpec {
  std::string name;
  OptionType type = OptionType::real;
  OptionValue default_value;
  double min = 0;  ///< integer and real options: closed range
  double max = 0;
  std::vector<std::string> choices;  ///< choice options: the allowed words
  std::string help;
};

/// "" when `value` suits `spec` (type, range, choice), else why not ("expected an integer in
/// [1, 1000]").
std::string option_problem(const OptionSpec& spec, const OptionValue& value);

/// A value as text: "5", "0.0001", "standard" (numbers in the fewest digits that read back
/// exactly).
std::string option_text(const OptionValue& value);

/// The options of a struct with DYNFAULT_ARG fields, declared once: each option names its field
/// through DYNFAULT_OPTION_FIELD, and its default is read from the struct passed to the
/// constructor (the struct's own defaults unless a diagnoser starts from other ones).
///
/// Example:
///   OptionSchema<KnnOptions>()
///       .integer("k", 1, 1e6, "neighbours", DYNFAULT_OPTION_FIELD(k))
///       .real("clip_quantile", 0, 0.49, "winsorising", DYNFAULT_OPTION_FIELD(clip_quantile));
template <typename O>
class OptionSchema {
 public:
  explicit OptionSchema(O defaults = O{}) : defaults_(std::move(defaults)) {}

  /// An integer option in [min, max].
  template <typename Get, typename Set>
  OptionSchema& integer(std::string name, double min, double max, std::string help, Get get,
                        Set set) {
    add(
        OptionType::integer, std::move(name), min, max, {}, std::move(help),
        [get](const O& o) { return OptionValue(static_cast<double>(get(o))); },
        [set](O& o, const OptionValue& v) { set(o, static_cast<int64_t>(std::get<double>(v))); });
    return *this;
  }

  /// A real option in [min, max].
  template <typename Get, typename Set>
  OptionSchema& real(std::string name, double min, double max, std::string help, Get get, Set set) {
    add(
        OptionType::real, std::move(name), min, max, {}, std::move(help),
        [get](const O& o) { return OptionValue(static_cast<double>(get(o))); },
        [set](O& o, const OptionValue& v) { set(o, std::get<double>(v)); });
    return *this;
  }

  /// A word out of `choices`; `get` returns and `set` takes the word.
  template <typename Get, typename Set>
  OptionSchema& choice(std::string name, std::vector<std::string> choices, std::string help,
                       Get get, Set set) {
    add(
        OptionType::choice, std::move(name), 0, 0, std::move(choices), std::move(help),
        [get](const O& o) { return OptionValue(std::string(get(o))); },
        [set](O& o, const OptionValue& v) { set(o, std::get<std::string>(v)); });
    return *this;
  }

  /// The declared options in declaration order, with their defaults.
  std::vector<OptionSpec> specs() const {
    std::vector<OptionSpec> out;
    for (const auto& f : fields_) out.push_back(f.spec);
    return out;
  }

  /// The default struct with `values` applied; `values` are complete and checked by the caller
  /// (resolve_options in diagnoser.h).
  O build(const OptionValues& values) const {
    O o = defaults_;
    for (const auto& f : fields_)
      if (auto it = values.find(f.spec.name); it != values.end()) f.set(o, it->second);
    return o;
  }

 private:
  struct Field {
    OptionSpec spec;
    std::function<void(O&, const OptionValue&)> set;
  };

  void add(OptionType type, std::string name, double min, double max,
           std::vector<std::string> choices, std::string help,
           const std::function<OptionValue(const O&)>& get,
           std::function<void(O&, const OptionValue&)> set) {
    OptionSpec spec;
    spec.name = std::move(name);
    spec.type = type;
    spec.default_value = get(defaults_);
    spec.min = min;
    spec.max = max;
    spec.choices = std::move(choices);
    spec.help = std::move(help);
    fields_.push_back(Field{std::move(spec), std::move(set)});
  }

  O defaults_;
  std::vector<Field> fields_;
};

/// What a diagnoser configuration file holds (load_diagnoser_config).
struct DiagnoserConfigFile {
  std::string path;
  std::optional<int> learner_seeds;  ///< top-level `learner_seeds` (absent = not set)
  std::optional<int> bins;           ///< top-level `bins`
  DiagnoserConfig diagnosers;        ///< `diagnosers:` <name>: {<option>: <value>}
};

/// Reads a diagnoser configuration file strictly: an unknown key or diagnoser, an undeclared
/// option, a value of the wrong type or out of its range throws ConfigError naming file, line, key
/// and value. Nothing is applied on error (the caller gets no half-read configuration).
DiagnoserConfigFile load_diagnoser_config(const std::string& path);
/// The same, on text parsed as the file `name` (tests).
DiagnoserConfigFile parse_diagnoser_config(const std::string& text, const std::string& name);

}  // namespace dynfault::diagnosis

/// The getter and setter of the DYNFAULT_ARG field `name` of an options struct, for OptionSchema.
#define DYNFAULT_OPTION_FIELD(name) \
  [](const auto& o) { return o.name(); }, [](auto& o, const auto& v) { o.name(v); }
