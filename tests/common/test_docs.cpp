// docs/extending.md shows the four extension paths with code quoted from the tests that define
// and exercise each extension (between `// docs:begin <name>` and `// docs:end <name>`): the
// page cannot drift from code that compiles and passes.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read ", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_SUITE("common") {
  TEST_CASE("docs/extending.md quotes the tests of its four extension paths verbatim") {
    const std::string root = DYNFAULT_SOURCE_DIR;
    const std::string doc = read(root + "/docs/extending.md");
    const std::string marker = "<!-- quoted: ";
    std::set<std::string> regions;
    for (size_t at = doc.find(marker); at != std::string::npos; at = doc.find(marker, at + 1)) {
      const size_t end = doc.find(" -->\n", at);
      REQUIRE(end != std::string::npos);
      std::istringstream ref(doc.substr(at + marker.size(), end - at - marker.size()));
      std::string file, name;
      ref >> file >> name;
      CAPTURE(file);
      CAPTURE(name);
      const std::string open = "```cpp\n";
      REQUIRE(doc.compare(end + 5, open.size(), open) == 0);
      const size_t body = end + 5 + open.size();
      const size_t close = doc.find("```\n", body);
      REQUIRE(close != std::string::npos);
      const std::string quoted = doc.substr(body, close - body);

      const std::string source = read(root + "/" + file);
      const std::string begin = "// docs:begin " + name + "\n";
      const size_t b = source.find(begin);
      const size_t e = source.find("// docs:end " + name, b);
      REQUIRE(b != std::string::npos);
      REQUIRE(e != std::string::npos);
      CHECK(quoted == source.substr(b + begin.size(), e - b - begin.size()));
      regions.insert(name);
    }
    CHECK(regions == std::set<std::string>{"custom-operator", "custom-program",
                                           "custom-feature-set", "custom-diagnoser"});
  }
}
