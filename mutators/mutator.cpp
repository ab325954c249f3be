#include "mutators/mutator.h"

#include <cmath>
#include <map>

#include "common/check.h"

namespace dynfault::mutators {
namespace {
std::string type_name(ParamSpec::Type t) {
  switch (t) {
    case ParamSpec::Type::kNumber:
      return "a number";
    case ParamSpec::Type::kInteger:
      return "an integer";
    case ParamSpec::Type::kString:
      return "a string";
    case ParamSpec::Type::kBool:
      return "a boolean";
  }
  return "?";
}
}  // namespace

DYNFAULT_DEFINE_REGISTRY(std::shared_ptr<const Mutator>, mutator_registry, "mutator")

std::vector<std::string> mutator_ids() { return mutator_registry().ids(); }

bool has_mutator(const std::string& id) { return mutator_registry().contains(id); }

const Mutator& mutator(const std::string& id) { return *mutator_registry().get(id); }

Json validate_params(const Mutator& m, const Json& given) {
  DYNFAULT_CHECK(given.is_null() || given.is_object(), "mutator '", m.id(),
                 "': parameters must be a mapping, got ", given.dump());
  const auto specs = m.params();
  if (given.is_object()) {
    for (const auto& [k, v] : given.items()) {
      bool known = false;
      for (const auto& s : specs) known = known || s.name == k;
      if (!known) {
        std::string list;
        for (const auto& s : specs) list += (list.empty() ? "" : ", ") + s.name;
        throw ConfigError("", 0, k, v.dump(),
                          "unknown parameter of mutator '" + m.id() +
                              "' (known: " + (list.empty() ? "none" : list) + ")");
      }
    }
  }
  Json out = Json::object();
  for (const auto& s : specs) {
    Json v = (given.is_object() && given.contains(s.name)) ? given.at(s.name) : s.default_value;
    if (v.is_null())
      throw ConfigError("", 0, s.name, "", "parameter of mutator '" + m.id() + "' is required");
    // Errors quote the value as given, before any integer/number normalisation.
    const std::string as_given = v.is_string() ? v.get<std::string>() : v.dump();
    const auto bad = [&](const std::string& why) {
      return ConfigError("", 0, s.name, as_given, "mutator '" + m.id() + "': " + why);
    };
    switch (s.type) {
      case ParamSpec::Type::kNumber:
      case ParamSpec::Type::kInteger: {
        if (!v.is_number()) throw bad("expected " + type_name(s.type));
        const double d = v.get<double>();
        if (!std::isfinite(d)) throw bad("must be finite");
        if (s.type == ParamSpec::Type::kInteger) {
          if (std::floor(d) != d) throw bad("expected an integer");
          v = static_cast<int64_t>(d);
        } else {
          v = d;
        }
        if (d < s.min || d > s.max)
          throw bad("out of range [" + Json(s.min).dump() + ", " + Json(s.max).dump() + "]");
        break;
      }
      case ParamSpec::Type::kString: {
        if (!v.is_string()) throw bad("expected a string");
        if (!s.choices.empty()) {
          bool ok = false;
          std::string list;
          for (const auto& c : s.choices) {
            ok = ok || c == v.get<std::string>();
            list += (list.empty() ? "" : ", ") + c;
          }
          if (!ok) throw bad("not one of: " + list);
        }
        break;
      }
      case ParamSpec::Type::kBool:
        if (!v.is_boolean()) throw bad("expected a boolean");
        break;
    }
    out[s.name] = v;
  }
  return out;
}

Recipe Mutator::apply(const Recipe& r, const Json& p) const {
  const std::string why = not_applicable(r, p);
  if (!why.empty())
    throw Error("mutator '" + id() + "' does not apply to program '" + r.program + "': " + why);
  return mutate(r, p);
}

void record_fault(Recipe& r, const Mutator& m, const Json& p, const std::string& change) {
  programs::FaultRecord f;
  f.mutator = m.id();
  f.category = m.category();
  f.params = p;
  f.change = change;
  r.faults.push_back(std::move(f));
}

}  // namespace dynfault::mutators
