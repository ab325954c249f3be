#pragma once
/// The program catalogue. A program is one .cpp that defines a function returning its Recipe and
/// ends with `DYNFAULT_REGISTER(program_registry(), "<id>", <function>);` (common/registry.h);
/// nothing else needs to change.
#include <functional>
#include <string>
#include <vector>

#include "common/registry.h"
#include "programs/recipe.h"

namespace dynfault::programs {

using ProgramFactory = std::function<Recipe()>;

/// Every registered program by id.
Registry<ProgramFactory>& program_registry();

/// Sorted ids of every registered program.
std::vector<std::string> program_ids();
/// The Recipe of `id`; throws dynfault::Error naming the closest and the known ids when unknown.
Recipe program(const std::string& id);
bool has_program(const std::string& id);

}  // namespace dynfault::programs
