#include <doctest/doctest.h>

#include "db/trace.h"

using namespace dynfault;

TEST_SUITE("db") {
  TEST_CASE("Trace keys: patterns match their instances and nothing else") {
    CHECK(db::matches_key_pattern("grad/<p>/norm", "grad/fc1.weight/norm"));
    CHECK_FALSE(db::matches_key_pattern("grad/<p>/norm", "grad/global_norm"));
    CHECK_FALSE(db::matches_key_pattern("grad/<p>/norm", "grad//norm"));
    CHECK_FALSE(db::matches_key_pattern("grad/<p>/norm", "grad/a/b/norm"));
    CHECK(db::key_pattern_of("weight/layers.0.weight/update_ratio") == "weight/<p>/update_ratio");
    CHECK(db::key_pattern_of("act/layers.2.act/dead_frac") == "act/<layer>/dead_frac");
    CHECK(db::key_pattern_of("epoch/lr") == "epoch/lr");
    CHECK(db::key_pattern_of("grad/globalnorm").empty());
    CHECK(db::key_pattern_of("weight/fc1.weight/maxabs").empty());
    CHECK(db::key_pattern_of("lr").empty());
    // Every pattern is unique and an instance of itself.
    for (const auto& p : db::metric_key_patterns()) {
      CAPTURE(p);
      CHECK(db::key_pattern_of(p) == p);
    }
  }

  TEST_CASE("Trace keys: a misspelt key names the closest known one") {
    CHECK(db::closest_metric_key("grad/globalnorm") == "grad/global_norm");
    CHECK(db::closest_metric_key("weight/fc1.weight/maxabs") == "weight/fc1.weight/max_abs");
    CHECK(db::closest_metric_key("epoch/trian_loss") == "epoch/train_loss");
    CHECK(db::closest_metric_key("completely/unrelated/thing/here").empty());
  }
}
