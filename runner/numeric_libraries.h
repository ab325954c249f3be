#pragma once
/// What this process's numeric libraries (LibTorch, OpenBLAS, oneDNN) are and which kernels and
/// thread counts they use. Reading them needs LibTorch (its configuration report, ATen's context),
/// so this half of the numeric environment is part of dynfault::runner; planning and the
/// coordinator (dynfault::campaign, runner/numeric.h) receive the versions as data
/// (StorePlanOptions::libraries, ExecuteOptions::libraries) from the command that calls them.
/// Torch-free header.
#include <map>
#include <string>

#include "runner/numeric.h"

namespace dynfault::runner {

/// The versions of the numeric libraries this process loaded: {"libtorch": "1.13.0", "openblas":
/// "0.3.21", "onednn": "2.6.3"} (read from the libraries themselves, not from headers; "none"
/// for a library that is not loaded, e.g. a BLAS other than OpenBLAS).
std::map<std::string, std::string> library_versions();
/// library_versions() as canonical JSON text.
std::string library_versions_json();

/// Puts `env` into effect in this process where a library reads it at run time (LibTorch's
/// thread count, oneDNN on or off); the variables() must already have been in the environment
/// when the libraries loaded.
void apply_in_process(const NumericEnv& env);

/// The kernels this process's libraries actually use: `auto` replaced by the library's choice.
NumericEnv effective_numeric_env(const NumericEnv& requested);

/// "" when this process computes in `requested` (every pinned choice in effect); else what
/// differs, e.g. "OpenBLAS uses core Cooperlake, not Haswell" (numeric_difference).
std::string numeric_mismatch(const NumericEnv& requested);

}  // namespace dynfault::runner
