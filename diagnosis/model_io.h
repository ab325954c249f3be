#pragma once
/// The versioned text stream every diagnoser saves to: a first line `<name> <version>`, then
/// tagged records. Numbers are written with 17 significant digits (exact round trip), strings
/// and blobs length-prefixed (any bytes round-trip). Readers name the diagnoser and the record
/// in their errors; a stream of another format version is refused, never half-read.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace dynfault::diagnosis::model_io {

/// Writes `<name> <version>\n`.
void write_header(std::ostream& out, const std::string& name, int version);
/// Reads the header and throws dynfault::Error unless it is `name` at exactly `version`
/// ("<name>: model format version 2 is not supported (this build reads version 1)").
void read_header(std::istream& in, const std::string& name, int version);

void write_vector(std::ostream& out, const std::string& tag, const std::vector<double>& v);
/// Reads `<tag> v1 ... vn` (n values); throws naming `who` and the tag on any mismatch.
std::vector<double> read_vector(std::istream& in, const std::string& tag, size_t n,
                                const std::string& who);
/// Reads `<tag> n` then n values (the count written by write_sized_vector).
void write_sized_vector(std::ostream& out, const std::string& tag, const std::vector<double>& v);
std::vector<double> read_sized_vector(std::istream& in, const std::string& tag,
                                      const std::string& who);

void write_int(std::ostream& out, const std::string& tag, int64_t v);
int64_t read_int(std::istream& in, const std::string& tag, const std::string& who);

/// `<tag> n` then n length-prefixed strings, one a line.
void write_strings(std::ostream& out, const std::string& tag, const std::vector<std::string>& v);
std::vector<std::string> read_strings(std::istream& in, const std::string& tag,
                                      const std::string& who);

/// `<tag> nbytes\n` then the raw bytes and a newline.
void write_blob(std::ostream& out, const std::string& tag, const std::string& bytes);
std::string read_blob(std::istream& in, const std::string& tag, const std::string& who);

/// Reads the closing `end` tag.
void read_end(std::istream& in, const std::string& who);

}  // namespace dynfault::diagnosis::model_io
