// Inputs are read in one linear pass, capped, and only from regular files
// (common/input_file.h); text helpers for messages (common/text.h).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/check.h"
#include "common/input_file.h"
#include "common/regex.h"
#include "common/text.h"
#include "tests/test_check.h"

namespace fs = std::filesystem;
using dynfault::files::read_input_file;
using dynfault::test::has;

namespace {

std::string error_of(const std::string& path, uint64_t cap = 1 << 20) {
  try {
    read_input_file(path, "trace CSV", cap);
  } catch (const dynfault::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("common") {
  TEST_CASE("Only regular files are read: devices, FIFOs and directories are refused at once") {
    CHECK(has(error_of("/dev/zero"), "is a character device, not a regular file"));
    CHECK(has(error_of("/dev/zero"), "trace CSV"));
    std::string tmpl = (fs::temp_directory_path() / "dynfault-in-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    const fs::path dir = tmpl;
    // A FIFO without a writer: opening it must not wait for one.
    REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
    CHECK(has(error_of((dir / "pipe").string()), "is a FIFO"));
    CHECK(has(error_of(dir.string()), "is a directory"));
    CHECK(has(error_of((dir / "missing.csv").string()), "cannot open the trace CSV"));
    std::ofstream(dir / "big.csv") << std::string(5000, 'x');
    const std::string big = error_of((dir / "big.csv").string(), 4096);
    CHECK(has(big, "is 4.9 KiB"));
    CHECK(has(big, "the limit for a trace CSV is 4.0 KiB"));
    std::ofstream(dir / "ok.csv") << "epoch\n0\n";
    CHECK(read_input_file((dir / "ok.csv").string(), "trace CSV", 4096) == "epoch\n0\n");
    fs::create_symlink(dir / "ok.csv", dir / "link.csv");  // links are followed
    CHECK(read_input_file((dir / "link.csv").string(), "trace CSV", 4096) == "epoch\n0\n");
    fs::remove_all(dir);
  }

  TEST_CASE("printable escapes control bytes and invalid UTF-8, and keeps the rest") {
    using dynfault::text::printable;
    CHECK(printable("plain text, ümlaut, 漢字\n\ttab") == "plain text, ümlaut, 漢字\n\ttab");
    CHECK(printable(std::string("a\x1b[31mred\x07") + '\0' + "z") == "a\\x1b[31mred\\x07\\x00z");
    CHECK(printable("\xff\xfe ok \xc3") == "\\xff\\xfe ok \\xc3");
    CHECK(printable("\xc2\x9b"
                    "2J") == "\\xc2\\x9b2J");  // C1 CSI
    using dynfault::text::first_invalid_utf8;
    CHECK(first_invalid_utf8("ok ü 漢 😀") == std::string_view::npos);
    CHECK(first_invalid_utf8("ab\xc0\xaf") == 2);     // overlong '/'
    CHECK(first_invalid_utf8("a\xed\xa0\x80") == 1);  // a surrogate
    CHECK(first_invalid_utf8("abc\xe6\xbc") == 3);    // cut short
    const auto pos = dynfault::text::position_of("ab\ncd\nef", 7);
    CHECK(pos.line == 3);
    CHECK(pos.column == 2);
  }

  TEST_CASE("A regular expression from the command line is bounded before it is compiled") {
    const auto error_of_regex = [](const std::string& pattern) -> std::string {
      try {
        dynfault::bounded_regex(pattern, "--programs");
      } catch (const dynfault::ConfigError& e) {
        return e.what();
      }
      return "";
    };
    // 20,000 '(' crashed `check programs` (std::regex recursed off the stack).
    CHECK(has(error_of_regex(std::string(20000, '(')), "the limit is 512"));
    CHECK(has(error_of_regex(std::string(100, '(') + "a" + std::string(100, ')')),
              "groups nested 100 deep; the limit is 16"));
    CHECK(has(error_of_regex("(a"), "not a regular expression"));
    CHECK(error_of_regex("^(iris|wine)_[a-z]+$").empty());
    CHECK(error_of_regex("[(((((((((((((((((((((]").empty());  // '(' in a class is a character
    CHECK(std::regex_search("iris_mlp", dynfault::bounded_regex("^iris", "--programs")));
  }
}
