#include "diagnosis/model_io.h"

#include <cstdio>
#include <cstdlib>
#include <istream>
#include <ostream>

#include "common/check.h"

namespace dynfault::diagnosis::model_io {
namespace {

void expect_tag(std::istream& in, const std::string& tag, const std::string& who) {
  std::string got;
  DYNFAULT_CHECK(static_cast<bool>(in >> got) && got == tag, who, "::load(): expected '", tag,
                 "', got '", got, "'");
}

double read_double(std::istream& in, const std::string& tag, const std::string& who) {
  std::string tok;
  DYNFAULT_CHECK(static_cast<bool>(in >> tok), who, "::load(): missing value in '", tag, "'");
  char* end = nullptr;
  const double v = std::strtod(tok.c_str(), &end);
  DYNFAULT_CHECK(end && *end == '\0', who, "::load(): bad number '", tok, "' in '", tag, "'");
  return v;
}

}  // namespace

void write_header(std::ostream& out, const std::string& name, int version) {
  out << name << ' ' << version << '\n';
}

void read_header(std::istream& in, const std::string& name, int version) {
  std::string got;
  int v = 0;
  DYNFAULT_CHECK(static_cast<bool>(in >> got), name, "::load(): empty model stream");
  DYNFAULT_CHECK(got == name, name, "::load(): the stream holds a '", got, "' model");
  DYNFAULT_CHECK(static_cast<bool>(in >> v), name, "::load(): missing format version");
  DYNFAULT_CHECK(v == version, name, ": model format version ", v,
                 " is not supported (this build reads version ", version, ")");
}

void write_vector(std::ostream& out, const std::string& tag, const std::vector<double>& v) {
  out << tag;
  char buf[40];
  for (double x : v) {
    std::snprintf(buf, sizeof(buf), " %.17g", x);  // 17 digits: exact round trip
    out << buf;
  }
  out << '\n';
}

std::vector<double> read_vector(std::istream& in, const std::string& tag, size_t n,
                                const std::string& who) {
  expect_tag(in, tag, who);
  std::vector<double> v(n);
  for (auto& x : v) x = read_double(in, tag, who);
  return v;
}

void write_sized_vector(std::ostream& out, const std::string& tag, const std::vector<double>& v) {
  write_int(out, tag, static_cast<int64_t>(v.size()));
  write_vector(out, tag + "_values", v);
}

std::vector<double> read_sized_vector(std::istream& in, const std::string& tag,
                                      const std::string& who) {
  const int64_t n = read_int(in, tag, who);
  DYNFAULT_CHECK(n >= 0, who, "::load(): negative size in '", tag, "'");
  return read_vector(in, tag + "_values", static_cast<size_t>(n), who);
}

void write_int(std::ostream& out, const std::string& tag, int64_t v) {
  out << tag << ' ' << v << '\n';
}

int64_t read_int(std::istream& in, const std::string& tag, const std::string& who) {
  expect_tag(in, tag, who);
  int64_t v = 0;
  DYNFAULT_CHECK(static_cast<bool>(in >> v), who, "::load(): bad integer in '", tag, "'");
  return v;
}

void write_strings(std::ostream& out, const std::string& tag, const std::vector<std::string>& v) {
  out << tag << ' ' << v.size() << '\n';
  for (const auto& s : v) out << s.size() << ' ' << s << '\n';
}

std::vector<std::string> read_strings(std::istream& in, const std::string& tag,
                                      const std::string& who) {
  const int64_t n = read_int(in, tag, who);
  DYNFAULT_CHECK(n >= 0, who, "::load(): negative count in '", tag, "'");
  std::vector<std::string> out(static_cast<size_t>(n));
  for (auto& s : out) {
    size_t len = 0;
    DYNFAULT_CHECK(static_cast<bool>(in >> len), who, "::load(): bad string in '", tag, "'");
    in.get();  // the single space after the length
    s.resize(len);
    in.read(s.data(), static_cast<std::streamsize>(len));
    DYNFAULT_CHECK(static_cast<bool>(in), who, "::load(): truncated string in '", tag, "'");
  }
  return out;
}

void write_blob(std::ostream& out, const std::string& tag, const std::string& bytes) {
  out << tag << ' ' << bytes.size() << '\n';
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out << '\n';
}

std::string read_blob(std::istream& in, const std::string& tag, const std::string& who) {
  const int64_t n = read_int(in, tag, who);
  DYNFAULT_CHECK(n >= 0, who, "::load(): negative size in '", tag, "'");
  in.get();  // the newline after the size
  std::string bytes(static_cast<size_t>(n), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  DYNFAULT_CHECK(static_cast<bool>(in), who, "::load(): truncated '", tag, "'");
  return bytes;
}

void read_end(std::istream& in, const std::string& who) { expect_tag(in, "end", who); }

}  // namespace dynfault::diagnosis::model_io
