// The one registry mechanism (common/registry.h) every named kind uses.
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/registry.h"

using dynfault::Registry;

TEST_SUITE("common") {
  TEST_CASE("Registry: items by id, sorted ids, duplicates and empty ids refused") {
    Registry<int> r("widget");
    CHECK(r.add("beta", 2));
    CHECK(r.add("alpha", 1));
    CHECK(r.ids() == std::vector<std::string>{"alpha", "beta"});
    CHECK(r.get("beta") == 2);
    CHECK(r.contains("alpha"));
    CHECK_FALSE(r.contains("gamma"));
    CHECK(r.find("gamma") == nullptr);
    CHECK_THROWS_WITH_AS(r.add("alpha", 3), doctest::Contains("duplicate id 'alpha'"),
                         dynfault::Error);
    CHECK(r.get("alpha") == 1);  // the refused item did not replace the first
    CHECK_THROWS_AS(r.add("", 4), dynfault::Error);
  }

  TEST_CASE("Registry: an unknown id names the kind, the closest id and every known id") {
    Registry<int> r("feature set");
    r.add("deepfd", 1);
    r.add("default", 2);
    r.add("curvature", 3);
    CHECK_THROWS_WITH_AS(
        r.get("defualt"),
        "unknown feature set 'defualt' (did you mean 'default'? known: curvature, deepfd, "
        "default)",
        dynfault::Error);
    // Nothing plausible: no suggestion, still the list.
    CHECK_THROWS_WITH_AS(r.get("xyz"),
                         "unknown feature set 'xyz' (known: curvature, deepfd, default)",
                         dynfault::Error);
  }

  TEST_CASE("Edit distance and the closest match") {
    CHECK(dynfault::edit_distance("", "") == 0);
    CHECK(dynfault::edit_distance("abc", "") == 3);
    CHECK(dynfault::edit_distance("kitten", "sitting") == 3);
    CHECK(dynfault::edit_distance("defualt", "default") == 1);  // an adjacent swap is one edit
    CHECK(dynfault::edit_distance("grad/globalnorm", "grad/global_norm") == 1);
    const std::vector<std::string> keys = {"grad/global_norm", "grad/first_norm", "weight/max_abs"};
    CHECK(dynfault::closest_match("grad/globalnorm", keys) == "grad/global_norm");
    CHECK(dynfault::closest_match("weight/maxabs", keys) == "weight/max_abs");
    CHECK(dynfault::closest_match("act/dead_frac", keys).empty());
    CHECK(dynfault::closest_match("lstm", {"lstm_sine", "iris_mlp"}) == "lstm_sine");
  }

  TEST_CASE("Registry: concurrent registration and lookup are safe") {
    Registry<int> r("item");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&r, t] {
        for (int i = 0; i < 200; ++i) {
          r.add("t" + std::to_string(t) + "_" + std::to_string(i), i);
          (void)r.find("t0_0");
        }
      });
    for (auto& th : threads) th.join();
    CHECK(r.ids().size() == 800);
    CHECK(r.get("t3_199") == 199);
  }
}
