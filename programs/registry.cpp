#include "programs/registry.h"

#include "common/check.h"

namespace dynfault::programs {
namespace {
std::map<std::string, ProgramFactory>& table() {
  static std::map<std::string, ProgramFactory> t;
  return t;
}
}  // namespace

bool register_program(const std::string& id, ProgramFactory factory) {
  DYNFAULT_CHECK(table().emplace(id, std::move(factory)).second,
                 "register_program(): duplicate program id '", id, "'");
  return true;
}

std::vector<std::string> program_ids() {
  std::vector<std::string> ids;
  for (const auto& kv : table()) ids.push_back(kv.first);
  return ids;
}

bool has_program(const std::string& id) { return table().count(id) > 0; }

Recipe program(const std::string& id) {
  auto it = table().find(id);
  if (it == table().end()) {
    std::string known;
    for (const auto& kv : table()) known += (known.empty() ? "" : ", ") + kv.first;
    throw Error("unknown program '" + id + "' (known: " + known + ")");
  }
  Recipe r = it->second();
  DYNFAULT_ASSERT(r.program == id);
  return r;
}

}  // namespace dynfault::programs
