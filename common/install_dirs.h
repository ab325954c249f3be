#pragma once
/// Where an installed dynfault keeps what it reads at run time (`cmake --install`: configs/ and
/// the vendored data sets under `<prefix>/share/dynfault/`), found from the running executable,
/// so that the installed binary works from any directory, without the source tree.
#include <string>

namespace dynfault {

/// The running executable (/proc/self/exe); "" when it cannot be read.
std::string executable_path();

/// `<prefix>/<datadir>/dynfault/<name>` when the running executable is `<prefix>/<bindir>/...`
/// of an installed dynfault and that directory exists; "" otherwise (e.g. in a build tree).
std::string installed_share_dir(const std::string& name);

}  // namespace dynfault
