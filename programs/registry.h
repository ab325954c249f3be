#pragma once
/// Self-registering program catalogue. A program is one .cpp that defines a function returning its
/// Recipe and registers it with DYNFAULT_REGISTER_PROGRAM; nothing else needs to change.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "programs/recipe.h"

namespace dynfault::programs {

using ProgramFactory = std::function<Recipe()>;

/// Adds a program; throws on a duplicate id. Called by DYNFAULT_REGISTER_PROGRAM at start-up.
bool register_program(const std::string& id, ProgramFactory factory);
/// Sorted ids of every registered program.
std::vector<std::string> program_ids();
/// The Recipe of `id`; throws dynfault::Error naming the id and the known ids when unknown.
Recipe program(const std::string& id);
bool has_program(const std::string& id);

}  // namespace dynfault::programs

#define DYNFAULT_PROGRAM_CONCAT_(a, b) a##b
#define DYNFAULT_PROGRAM_CONCAT(a, b) DYNFAULT_PROGRAM_CONCAT_(a, b)
/// Registers `fn` (a function returning Recipe) under `id`.
#define DYNFAULT_REGISTER_PROGRAM(id, fn)                                                 \
  static const bool DYNFAULT_PROGRAM_CONCAT(dynfault_program_registered_, __LINE__) =    \
      ::dynfault::programs::register_program(id, fn)
