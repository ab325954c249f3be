#pragma once
/// Fault operators. A mutator is a pure function Recipe -> Recipe with a permanent id, a fault
/// category, a parameter schema, an applicability check, and a record of what it changed (the
/// FaultRecord appended to Recipe::faults, which is the run's ground truth).
///
/// Adding a fault type = one .cpp that defines a Mutator subclass and ends with
/// `DYNFAULT_REGISTER(mutator_registry(), "<id>", std::make_shared<ClassName>());`
/// (common/registry.h; the id is the one id() returns, checked by the registry contract test);
/// one entry in configs/mutators.yaml; one test.
#include <memory>
#include <string>
#include <vector>

#include "common/registry.h"
#include "programs/recipe.h"

namespace dynfault::mutators {

using programs::Json;
using programs::Recipe;

/// One declared parameter of a mutator. (The NOLINT: clang-tidy 14 reports the implicit noexcept
/// move constructor as possibly throwing from inside nlohmann::json's own noexcept move; every
/// member's move is noexcept, so it cannot.)
struct ParamSpec {  // NOLINT(bugprone-exception-escape)
  enum class Type { kNumber, kInteger, kString, kBool };
  std::string name;
  Type type = Type::kNumber;
  Json default_value;   ///< null = required
  double min = -1e300;  ///< inclusive bounds for numbers and integers
  double max = 1e300;
  std::vector<std::string> choices;  ///< allowed strings (empty = any)
  std::string doc;
};

class Mutator {
 public:
  virtual ~Mutator() = default;
  /// Permanent snake_case id, `<target>_<change>`, used unchanged in YAML, CLI, DB and docs.
  virtual std::string id() const = 0;
  /// Fault category (learning_rate, optimizer, loss, activation, weights, regularisation, ...).
  virtual std::string category() const = 0;
  /// One sentence: what it changes.
  virtual std::string description() const = 0;
  /// The symptom to expect in the trace.
  virtual std::string symptom() const = 0;
  virtual std::vector<ParamSpec> params() const { return {}; }
  /// Empty when the mutator applies to `r` with (validated) parameters `p`; else the reason.
  virtual std::string not_applicable(const Recipe& r, const Json& p) const = 0;
  /// Returns the mutated recipe with a FaultRecord appended. Precondition: applicable.
  virtual Recipe mutate(Recipe r, const Json& p) const = 0;

  /// Checks applicability (throws dynfault::Error with the reason) and calls mutate().
  Recipe apply(const Recipe& r, const Json& p) const;
};

/// Fills defaults and checks every parameter against the schema. Throws dynfault::ConfigError
/// whose key() is the parameter and value() the bad value (file and line are left to the caller);
/// unknown parameters are errors too.
Json validate_params(const Mutator& m, const Json& given);

/// Every registered operator by id (stateless objects, shared).
Registry<std::shared_ptr<const Mutator>>& mutator_registry();
/// Sorted ids.
std::vector<std::string> mutator_ids();
bool has_mutator(const std::string& id);
/// Throws dynfault::Error naming the closest and the known ids when unknown.
const Mutator& mutator(const std::string& id);

/// Appends the fault record for `m` with parameters `p` and a description of the change.
void record_fault(Recipe& r, const Mutator& m, const Json& p, const std::string& change);

}  // namespace dynfault::mutators
