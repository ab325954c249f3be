// The input declarations of every feature set (features/feature_set.h ColumnInputs): a column
// whose needs the trace lacks is NaN, and a column changes only with the series it declares.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "db/trace.h"
#include "features/feature_set.h"
#include "fixtures.h"

using namespace dynfault;

namespace {

bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// Every key pattern of db/trace.h recorded at 6 epochs, with two parameters and two layers and
// values that move, so that (nearly) every column of every built-in set has a value.
db::Trace rich_trace() {
  db::Trace t = testing::base_trace("rich");
  // A recipe with every configured value the config set reads.
  t.recipe_json = R"({"epochs":6,"batch_size":32,"l1":0,"l2":0.001,"clip_norm":1,"clip_value":0,
    "optimizer":{"name":"sgd","lr":0.1,"momentum":0.9,"nesterov":true,"beta1":0.9,
                 "beta2":0.999,"eps":1e-8,"weight_decay":0,"rho":0.9},
    "schedule":{"name":"step","gamma":0.5,"step_size":2}})";
  const auto curve = [](double a, double b) {
    std::vector<double> v;
    for (int e = 0; e < 6; ++e) v.push_back(a + b * e + 0.03 * ((e * 7) % 3));
    return v;
  };
  for (const auto& pattern : db::metric_key_patterns()) {
    std::vector<std::string> keys;
    for (const char* name : {"l1.weight", "l2.weight"}) {
      std::string k = pattern;
      for (const char* ph : {"<p>", "<layer>"})
        if (const auto at = k.find(ph); at != std::string::npos)
          k.replace(at, std::string(ph).size(), name);
      keys.push_back(k);
    }
    if (keys[0] == keys[1]) keys.pop_back();
    for (size_t i = 0; i < keys.size(); ++i)
      testing::put(t, keys[i], curve(0.2 + 0.3 * static_cast<double>(i), 0.05));
  }
  // Plausible levels where a rule needs one (a loss falls, nothing is non-finite).
  testing::put(t, "epoch/train_loss", {1.0, 0.8, 0.9, 0.6, 0.5, 0.45});
  testing::put(t, "epoch/val_loss", {1.1, 0.9, 0.95, 1.0, 0.98, 0.99});
  for (const char* k : {"grad/nonfinite", "weight/nonfinite", "grad/l1.weight/nonfinite",
                        "grad/l2.weight/nonfinite", "probe/failures"})
    testing::put(t, k, {0, 0, 0, 0, 0, 0});
  testing::put(t, "train/loss", {1.2, 1.0, 0.9, 0.85, 0.8, 0.9, 0.7, 0.6, 0.55, 0.5, 0.4, 0.45});
  return t;
}

// The rich trace where things go wrong: non-finite gradients and weights at some epochs, large
// weights and gradient ratios, a NaN validation loss, accuracy that oscillates. Rules that read a
// series only when something is abnormal (a non-finite count suspends the other flags) show
// their inputs here.
db::Trace sick_trace() {
  db::Trace t = rich_trace();
  t.run_uuid = "sick";
  testing::put(t, "grad/nonfinite", {0, 0, 3, 0, 0, 0});
  testing::put(t, "grad/l1.weight/nonfinite", {0, 0, 0, 2, 0, 0});
  testing::put(t, "weight/nonfinite", {0, 0, 0, 0, 1, 0});
  testing::put(t, "weight/max_abs", {1, 7, testing::kInf, 8, 20, 9});
  testing::put(t, "weight/l1.weight/max_abs", {1, 12, 3, 11, 2, 1});
  testing::put(t, "grad/first_last_ratio", {1, 90, 95, 1e-4, 1, 0.5});
  testing::put(t, "grad/first_norm", {0.1, 1e-5, 1e-5, 0.1, 0.1, 0.1});
  testing::put(t, "grad/zero_frac", {0.1, 0.8, 0.9, 0.1, 0.75, 0.1});
  testing::put(t, "grad/l1.weight/max_abs", {1, 80, 3, 90, 2, 1});
  testing::put(t, "act/dead_frac_max", {0.1, 0.8, 0.9, 0.1, 0.75, 0.1});
  testing::put(t, "act/sat_frac_max", {0.1, 0.6, 0.9, 0.1, 0.75, 0.1});
  testing::put(t, "epoch/train_metric", {0.5, 0.8, 0.4, 0.9, 0.3, 0.95});
  testing::put(t, "epoch/val_metric", {0.4, 0.5, 0.3, 0.6, 0.2, 0.7});
  testing::put(t, "epoch/val_loss", {1.1, 0.9, testing::kNaN, 1.0, 0.98, 0.99});
  testing::put(t, "weight/mean", {0.1, 0.1, 0.2, 0.2, 0.3, 0.3});
  testing::put(t, "weight/l1.weight/mean", {0.1, 0.1, 0.2, 0.2, 0.3, 0.3});
  testing::put(t, "weight/l1.weight/std", {0.5, 0.5, 0.6, 0.6, 0.7, 0.7});
  testing::put(t, "curv/lambda_max", {1, 50, 200, -3, 400, 800});
  testing::put(t, "curv/trace", {2, -5, 300, 10, 500, 900});
  return t;
}

// The trace without the series matching `pattern`.
db::Trace without(const db::Trace& t, const std::string& pattern) {
  db::Trace out = t;
  for (auto it = out.series.begin(); it != out.series.end();)
    it = db::matches_key_pattern(pattern, it->first) ? out.series.erase(it) : std::next(it);
  return out;
}

std::vector<std::string> alternatives(const std::string& entry) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t bar; (bar = entry.find('|', start)) != std::string::npos; start = bar + 1)
    out.push_back(entry.substr(start, bar - start));
  out.push_back(entry.substr(start));
  return out;
}

}  // namespace

TEST_SUITE("features") {
  TEST_CASE("Feature inputs: every built-in set declares what each column reads") {
    for (const auto& name : features::default_feature_sets()) {
      CAPTURE(name);
      const auto set = features::feature_set(name);
      REQUIRE(set.inputs().size() == set.names().size());
    }
    CHECK_THROWS_WITH_AS(
        features::FeatureSet("x", "x", {"a"},
                             [](const db::Trace&) { return std::vector<double>{1.0}; })
            .declare_inputs({{{"grad/globalnorm"}, {}}}),
        doctest::Contains("no key pattern of db/trace.h"), dynfault::Error);
  }

  TEST_CASE("Feature inputs: a column is NaN without its needs and moves only with its inputs") {
    for (const db::Trace& rich : {rich_trace(), sick_trace()})
      for (const auto& name : features::default_feature_sets()) {
        CAPTURE(rich.run_uuid);
        CAPTURE(name);
        const auto set = features::feature_set(name);
        const auto full = set.values(rich);
        // Not vacuous: the rich trace gives (nearly) every column a value.
        size_t defined = 0;
        for (double v : full) defined += std::isnan(v) ? 0 : 1;
        if (rich.run_uuid == "rich") CHECK(defined * 10 >= full.size() * 9);
        for (const auto& pattern : db::metric_key_patterns()) {
          CAPTURE(pattern);
          const auto v = set.values(without(rich, pattern));
          for (size_t c = 0; c < v.size(); ++c) {
            CAPTURE(set.names()[c]);
            const auto& in = set.inputs()[c];
            bool declared = std::find(in.reads.begin(), in.reads.end(), pattern) != in.reads.end();
            bool sole_need = false;
            for (const auto& entry : in.needs) {
              const auto alts = alternatives(entry);
              declared = declared || std::find(alts.begin(), alts.end(), pattern) != alts.end();
              sole_need = sole_need || (alts.size() == 1 && alts[0] == pattern);
            }
            if (sole_need) CHECK(std::isnan(v[c]));
            if (!declared) CHECK(same(v[c], full[c]));
          }
        }
      }
  }

  TEST_CASE("Feature inputs: with only the four epoch curves, every probe feature is missing") {
    const db::Trace rich = rich_trace();
    db::Trace required = testing::base_trace("required");
    for (const char* k :
         {"epoch/train_loss", "epoch/train_metric", "epoch/val_loss", "epoch/val_metric"})
      required.series[k] = rich.series.at(k);
    const std::set<std::string> kept = {"epoch/train_loss", "epoch/train_metric", "epoch/val_loss",
                                        "epoch/val_metric"};
    size_t missing_columns = 0;
    for (const auto& name : features::default_feature_sets()) {
      CAPTURE(name);
      const auto set = features::feature_set(name);
      const auto v = set.values(required);
      const auto groups = set.missing_inputs(required);
      std::set<std::string> grouped;
      for (const auto& g : groups) grouped.insert(g.columns.begin(), g.columns.end());
      for (size_t c = 0; c < v.size(); ++c) {
        CAPTURE(set.names()[c]);
        bool needs_more = false;
        for (const auto& entry : set.inputs()[c].needs) {
          bool met = false;
          for (const auto& a : alternatives(entry)) met = met || kept.count(a) > 0;
          needs_more = needs_more || !met;
        }
        CHECK(grouped.count(set.names()[c]) == (needs_more ? 1u : 0u));
        if (needs_more) CHECK(std::isnan(v[c]));
        missing_columns += needs_more ? 1 : 0;
      }
    }
    // deepfd alone loses its 8 gradient and weight monitors x 8 statistics.
    const auto deepfd = features::feature_set("deepfd");
    size_t deepfd_missing = 0;
    for (const auto& g : deepfd.missing_inputs(required)) deepfd_missing += g.columns.size();
    CHECK(deepfd_missing == 64);
    CHECK(missing_columns > 64);
  }

  TEST_CASE("Feature inputs: missing columns are grouped by the input that would provide them") {
    db::Trace t = testing::five_epoch_trace();
    t.series.erase("grad/first_last_ratio");
    const auto groups = features::feature_set("deepfd").missing_inputs(t);
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].input == "grad/first_last_ratio");
    CHECK(groups[0].columns.size() == 16);  // explode and vanish, 8 statistics each
    const auto v = features::feature_set("deepfd").compute(t);
    for (const auto& c : groups[0].columns) {
      const auto at = std::find(v.names.begin(), v.names.end(), c) - v.names.begin();
      CHECK(std::isnan(v.values[static_cast<size_t>(at)]));
    }
    // Two absent needs of one column are named together.
    db::Trace bare = testing::base_trace("bare");
    testing::put(bare, "epoch/train_loss", {1.0, 0.9});
    bool joint = false;
    for (const auto& g : features::feature_set("optimizer").missing_inputs(bare))
      joint = joint || g.input == "opt/eff_step_mean and epoch/lr";
    CHECK(joint);
  }
}
