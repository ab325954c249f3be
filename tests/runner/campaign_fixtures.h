#pragma once
// Shared by the planning and coordinator tests (test_campaign): what they hand the torch-free
// campaign library in place of runner::library_versions_json(), which only the torch side can
// compute, so that these tests build and link without LibTorch.
#include <string>

#include "runner/campaign.h"

namespace fixtures {

/// A library-versions record in the shape runner::library_versions_json() writes.
inline const std::string kLibraries =
    R"({"libtorch":"1.13.0","onednn":"2.6.3","openblas":"0.3.21 DYNAMIC_ARCH"})";

/// runner::store_plan's options with kLibraries as this build's library versions.
inline dynfault::runner::StorePlanOptions plan_options(bool allow_numeric_change = false) {
  dynfault::runner::StorePlanOptions o;
  o.allow_numeric_change = allow_numeric_change;
  o.libraries = kLibraries;
  return o;
}

}  // namespace fixtures
