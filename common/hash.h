#pragma once
/// Stable content hashes (XXH3-128) used for run ids and config fingerprints.
#include <string>
#include <string_view>

namespace dynfault {

/// 32 lowercase hex characters of XXH3-128 over `bytes`; stable across platforms and versions.
std::string hash128_hex(std::string_view bytes);

}  // namespace dynfault
