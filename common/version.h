#pragma once
namespace dynfault {
/// Version of the tool; stored in every database's `info` table.
inline constexpr const char* kVersion = "0.1.0";
/// Bumped whenever training semantics change so that old run ids never alias new traces.
inline constexpr int kRecipeVersion = 1;
}  // namespace dynfault
