// YAML that would be read silently in a surprising way is an error naming file, line and key:
// duplicate keys, an empty string value, a second document, NUL bytes, bytes that are not UTF-8,
// and a path that is not a regular file.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/check.h"
#include "common/yaml_util.h"

namespace y = dynfault::yaml;

namespace {

std::string error_of(const std::string& text) {
  try {
    const y::Doc doc = y::load_string(text, "c.yaml");
    // A string value read as a string, as every config reader does.
    if (doc.root.IsMap() && doc.root["name"]) y::as<std::string>(doc, doc.root["name"], "name");
  } catch (const dynfault::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("common") {
  TEST_CASE("YAML surprises are errors with file, line and key") {
    CHECK(error_of("name: a\nseed: 1\nname: b\n") ==
          "c.yaml:3: key 'name': key given twice in one mapping (YAML keeps only one of the "
          "values)");
    CHECK(error_of("faults:\n  - mutator: lr_scale\n    params: {factor: 1, factor: 2}\n")
              .rfind("c.yaml:3: key 'factor': key given twice", 0) == 0);
    // Equal keys in different mappings are fine, and so are aliases.
    CHECK(error_of("a: {x: 1}\nb: {x: 1}\nc: &k [1, 2]\nd: *k\n").empty());
    CHECK(error_of("name:\nseed: 1\n") ==
          "c.yaml:1: key 'name': expected a string, got an empty value");
    CHECK(error_of("name: a\n---\nname: b\n") ==
          "c.yaml:2: a second YAML document ('---'); a file holds exactly one");
    CHECK(error_of(std::string("name: ok\0evil\n", 13)) ==
          "c.yaml:1: a NUL byte at column 9; YAML files must be UTF-8 text");
    CHECK(error_of("seed: 1\nname: caf\xe9\n") ==
          "c.yaml:2: a byte that is not UTF-8 (\\xe9) at column 10; YAML files must be UTF-8 "
          "text");
    CHECK(error_of("name: café\n").empty());  // UTF-8 is welcome
    CHECK(error_of("name: 'null'\n").empty());
  }

  TEST_CASE("load_file reads regular files only") {
    const std::string dir = std::filesystem::temp_directory_path().string();
    std::string what;
    try {
      y::load_file(dir);
    } catch (const dynfault::ConfigError& e) {
      what = e.what();
    }
    CHECK(what == dir + ": is a directory, not a regular file; a YAML file must be a regular file");
  }
}
