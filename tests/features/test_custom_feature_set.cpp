// Extending the feature sets touches one file: a set defined only here is registered, covered by
// the registry's contract test (test_feature_set.cpp: fixed columns, NaN for what a trace does
// not hold, no state between runs), and extracted into the store like the built-in ones.
// docs/extending.md quotes this file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "features/feature_set.h"
#include "features/trace_util.h"
#include "tests/features/store_fixtures.h"

namespace dynfault::features {
namespace {

// docs:begin custom-feature-set
/// How far training got: the last epoch's training loss over the first (NaN without two
/// finite values), and the share of epochs whose validation loss rose.
void example_progress_features(const db::Trace& trace, FeatureRow& row) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double>& loss = series_values(trace, keys::kTrainLoss);
  const bool two = loss.size() >= 2 && std::isfinite(loss.front()) && std::isfinite(loss.back());
  row.add("example_loss_last_over_first",
          two && loss.front() != 0 ? loss.back() / loss.front() : nan);
  const std::vector<double>& val = series_values(trace, keys::kValLoss);
  double rises = 0;
  for (size_t i = 1; i < val.size(); ++i) rises += val[i] > val[i - 1] ? 1 : 0;
  row.add("example_val_loss_rise_share", val.size() >= 2 ? rises / (val.size() - 1.0) : nan);
}

FeatureSet make_example_progress_feature_set() {
  return make_row_feature_set("example_progress",
                              "last over first training loss, share of rising validation losses",
                              &example_progress_features);
}

}  // namespace

DYNFAULT_REGISTER(feature_set_registry(), "example_progress", make_example_progress_feature_set);
// docs:end custom-feature-set

}  // namespace dynfault::features

using namespace dynfault;

TEST_SUITE("features") {
  TEST_CASE("A feature set defined only in a test file is registered and extracted") {
    const auto names = features::feature_set_names();
    CHECK(std::find(names.begin(), names.end(), "example_progress") != names.end());

    // Hand values on the 5-epoch trace: train loss 1.0 -> 0.5; validation loss
    // {1.10, 0.90, 0.95, 1.00, 0.98} rises twice in four steps.
    const auto v = features::feature_set("example_progress").compute(testing::five_epoch_trace());
    CHECK(v.values[0] == doctest::Approx(0.5));
    CHECK(v.values[1] == doctest::Approx(0.5));

    // Extracted into the store, alone and in a union with a built-in set.
    db::Store store = db::Store::memory();
    db::Trace t = testing::five_epoch_trace();
    testing::store_trace(store, t, "c");
    const auto report = features::extract_features(
        store,
        features::ExtractOptions().feature_sets({"example_progress", "curves+example_progress"}));
    CHECK(report.traces == 1);
    const auto table = store.features("example_progress");
    REQUIRE(table.rows.size() == 1);
    CHECK(table.names ==
          std::vector<std::string>{"example_loss_last_over_first", "example_val_loss_rise_share"});
    CHECK(table.rows[0][0] == doctest::Approx(0.5));
    CHECK(store.features("curves+example_progress").names.size() == 25 + 2);
  }
}
