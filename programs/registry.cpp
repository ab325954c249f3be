#include "programs/registry.h"

#include "common/check.h"

namespace dynfault::programs {

DYNFAULT_DEFINE_REGISTRY(ProgramFactory, program_registry, "program")

std::vector<std::string> program_ids() { return program_registry().ids(); }

bool has_program(const std::string& id) { return program_registry().contains(id); }

Recipe program(const std::string& id) {
  Recipe r = program_registry().get(id)();
  DYNFAULT_CHECK(r.program == id, "program '", id, "' returns a Recipe named '", r.program,
                 "': the registered id and Recipe::program must agree");
  return r;
}

}  // namespace dynfault::programs
