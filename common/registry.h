#pragma once
/// One registry mechanism for everything that has a name: programs, data loaders, mutators,
/// feature sets, diagnosers. Each kind owns one `Registry<T>` (a function-local static, see
/// DYNFAULT_DEFINE_REGISTRY) and its items register themselves at the bottom of their own .cpp
/// with DYNFAULT_REGISTER, google/benchmark style: no central table, no enum.
///
/// Self-registration needs every registering object file in the link: the libraries holding
/// registered items are CMake OBJECT libraries (programs, mutators, features, diagnosis), and an
/// executable that needs a catalogue links that library directly.
///
/// Example:
///   // features/feature_set.h
///   Registry<FeatureSet>& feature_set_registry();
///   // features/curves.cpp, last line
///   DYNFAULT_REGISTER(feature_set_registry(), "curves", make_curves_feature_set());
#include <algorithm>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"

namespace dynfault {

/// Edit distance between `a` and `b` (insertions, deletions, substitutions, adjacent swaps).
size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate closest to `name` by edit_distance when it is plausibly a misspelling (at most
/// a third of the longer name's characters differ, or one name contains the other); "" if none.
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);

/// "unknown <kind> '<name>' (did you mean '<closest>'? known: a, b, c)".
std::string unknown_name_message(const std::string& kind, const std::string& name,
                                 const std::vector<std::string>& known);

/// Items of one kind by id. Thread-safe; items are never removed, so references stay valid.
template <typename T>
class Registry {
 public:
  /// @param kind what an item is called in messages ("program", "feature set", ...)
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Adds `item` under `id`; throws dynfault::Error for an empty or duplicate id. Returns true
  /// so that it can initialise a static (DYNFAULT_REGISTER).
  bool add(const std::string& id, T item) {
    DYNFAULT_CHECK(!id.empty(), "register ", kind_, ": empty id");
    std::lock_guard<std::mutex> lock(mutex_);
    DYNFAULT_CHECK(items_.count(id) == 0, "register ", kind_, ": duplicate id '", id, "'");
    items_.emplace(id, std::move(item));
    return true;
  }

  /// The item called `id`; throws dynfault::Error naming the closest id and listing the known
  /// ones when there is none.
  const T& get(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = items_.find(id);
    if (it == items_.end()) throw Error(unknown_name_message(kind_, id, ids_locked()));
    return it->second;
  }

  /// The item called `id`, or nullptr.
  const T* find(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = items_.find(id);
    return it == items_.end() ? nullptr : &it->second;
  }

  bool contains(const std::string& id) const { return find(id) != nullptr; }

  /// Sorted ids.
  std::vector<std::string> ids() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return ids_locked();
  }

  const std::string& kind() const { return kind_; }

 private:
  std::vector<std::string> ids_locked() const {
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& kv : items_) out.push_back(kv.first);
    return out;
  }

  std::string kind_;
  mutable std::mutex mutex_;
  std::map<std::string, T> items_;
};

}  // namespace dynfault

#define DYNFAULT_REGISTRY_CONCAT_IMPL(a, b) a##b
#define DYNFAULT_REGISTRY_CONCAT(a, b) DYNFAULT_REGISTRY_CONCAT_IMPL(a, b)

/// Defines `Registry<T>& fn()`, the one registry of a kind. It is never destroyed, so lookups
/// stay valid during static teardown.
#define DYNFAULT_DEFINE_REGISTRY(T, fn, kind)                  \
  ::dynfault::Registry<T>& fn() {                              \
    static auto* registry = new ::dynfault::Registry<T>(kind); \
    return *registry;                                          \
  }

/// Registers `item` under `id` in `registry` (an expression yielding a Registry&) when the
/// program starts. Use at namespace scope, once per item, in the item's own .cpp.
#define DYNFAULT_REGISTER(registry, id, item)                                  \
  static const bool DYNFAULT_REGISTRY_CONCAT(dynfault_registered_, __LINE__) = \
      (registry).add(id, item)
