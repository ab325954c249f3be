#pragma once
/// Reading the files a user hands to dynfault (campaign and label YAML, per-epoch trace CSVs,
/// model files): one linear pass, a size cap per kind of input, and only regular files. A
/// directory, a device such as /dev/zero, a FIFO or a socket is refused before a byte is read,
/// so that no input can hang a command or make it allocate without bound.
///
/// Example:
///   const std::string text = files::read_input_file(path, "campaign file", kMaxConfigBytes);
#include <cstdint>
#include <string>

namespace dynfault::files {

/// Cap of a YAML configuration (campaign, taxonomies, thresholds): ours are a few kB.
inline constexpr uint64_t kMaxConfigBytes = 4ull << 20;
/// Cap of a per-epoch trace CSV: a million epochs of a hundred columns fit.
inline constexpr uint64_t kMaxTraceCsvBytes = 1ull << 30;
/// Cap of a list of paths (`diagnose --traces-from`): a million paths of 60 characters fit.
inline constexpr uint64_t kMaxPathListBytes = 64ull << 20;
/// Cap of a saved model file (a k-NN model holds its training matrix as text).
inline constexpr uint64_t kMaxModelBytes = 4ull << 30;

/// Reads the regular file `path` whole. Throws dynfault::ConfigError naming the file and `what`
/// (e.g. "campaign file") when it is missing or unreadable, is not a regular file (named:
/// directory, character device, FIFO, ...; symbolic links are followed), or holds more than
/// `max_bytes` (the message gives both sizes).
std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes);

/// A short name of the file type in `st_mode` ("directory", "character device", "FIFO", ...).
std::string file_type_name(unsigned mode);

}  // namespace dynfault::files
