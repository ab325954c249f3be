// derive_labels and extract_features on an in-memory store.
#include <doctest/doctest.h>

#include <cmath>

#include "features/deepfd.h"
#include "features/feature_set.h"
#include "features/labels.h"
#include "tests/features/store_fixtures.h"

using namespace dynfault;
using dynfault::testing::kNaN;
using dynfault::testing::put;

namespace {

const std::string kSourceDir = DYNFAULT_SOURCE_DIR;

features::LabelOptions label_options(const std::string& campaign = "") {
  return features::LabelOptions()
      .campaign(campaign)
      .taxonomies_path(kSourceDir + "/configs/taxonomies.yaml")
      .thresholds_path(kSourceDir + "/configs/thresholds.yaml");
}

std::string fault_json(const std::string& m, const std::string& c) {
  return R"({"mutator":")" + m + R"(","category":")" + c + R"(","params":{},"change":""})";
}

// Four finished runs (clean, lr fault, NaN lr fault, loss+optimizer) and one still scheduled.
db::Store corpus(const std::string& campaign = "c1") {
  db::Store store = db::Store::memory();
  db::Trace clean = testing::five_epoch_trace();
  clean.run_uuid = "clean";
  clean.fault_ids = "";
  clean.faults_json = "[]";
  db::Trace lr = testing::five_epoch_trace();
  lr.run_uuid = "lr";
  db::Trace nan = testing::base_trace("nan");
  nan.fault_ids = "lr_scale";
  nan.faults_json = "[" + fault_json("lr_scale", "learning_rate") + "]";
  nan.outcome = "nan_loss";
  put(nan, "epoch/train_loss", {2.3, kNaN});
  put(nan, "epoch/train_metric", {0.1, kNaN});
  db::Trace multi = testing::five_epoch_trace();
  multi.run_uuid = "multi";
  multi.fault_ids = "loss_change+optimizer_change";
  multi.faults_json = "[" + fault_json("loss_change", "loss") + "," +
                      fault_json("optimizer_change", "optimizer") + "]";
  db::Trace pending = testing::base_trace("pending");
  for (db::Trace* t : {&clean, &lr, &nan, &multi}) testing::store_trace(store, *t, campaign);
  testing::store_trace(store, pending, campaign, "SCHEDULED");
  return store;
}

}  // namespace

TEST_SUITE("features") {
  TEST_CASE("Store stages: derive_labels labels every finished run for every task") {
    db::Store store = corpus();
    const auto counts = features::derive_labels(store, label_options());
    CHECK(counts.traces == 4);
    CHECK(counts.by_task.size() == 7);  // 3 taxonomies, detection, instability, mismatch, effective
    const auto& d4 = counts.by_task.at("fault_type/default4");
    CHECK(d4.at("learning_rate") == 2);
    CHECK(d4.at("") == 2);  // the clean run and the mixed multi-fault run
    CHECK(counts.by_task.at("detection").at("faulty") == 3);
    CHECK(counts.by_task.at("detection").at("clean") == 1);
    CHECK(counts.by_task.at("instability").at("diverged") == 1);
    CHECK(store.labels("detection").size() == 4);
    // Idempotent.
    features::derive_labels(store, label_options());
    CHECK(store.labels("fault_type/default7").size() == 4);
  }

  TEST_CASE("Store stages: a bad config writes nothing") {
    db::Store store = corpus();
    CHECK_THROWS_AS(
        features::derive_labels(store, label_options().thresholds_path("/nonexistent.yaml")),
        dynfault::ConfigError);
    CHECK(store.labels("detection").empty());
    CHECK_THROWS_AS(features::derive_labels(store, label_options().tasks({"nope"})),
                    dynfault::Error);
  }

  TEST_CASE("Store stages: labels of one campaign keep the other campaign's rows") {
    db::Store store = corpus("c1");
    db::Trace other = testing::five_epoch_trace();
    other.run_uuid = "other";
    testing::store_trace(store, other, "c2");
    features::derive_labels(store, label_options());
    CHECK(store.labels("detection").size() == 5);
    features::derive_labels(store, label_options("c1"));
    CHECK(store.labels("detection").size() == 5);
  }

  TEST_CASE("Store stages: extract_features stores each set with fixed columns") {
    db::Store store = corpus();
    const auto report = features::extract_features(
        store, features::ExtractOptions().feature_sets({"deepfd", "curves", "deepfd+curves"}));
    CHECK(report.traces == 4);
    CHECK(report.tables.at("deepfd") == std::pair<int64_t, int64_t>{4, 172});
    CHECK(report.tables.at("deepfd+curves") == std::pair<int64_t, int64_t>{4, 197});
    const db::FeatureTable t = store.features("deepfd");
    CHECK(t.names == features::deepfd_feature_names());
    REQUIRE(t.rows.size() == 4);
    // Values equal a direct computation on the stored trace, NaN where NaN.
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const auto expect = features::feature_set("deepfd").values(store.trace(t.run_uuids[i]));
      REQUIRE(expect.size() == t.rows[i].size());
      for (size_t j = 0; j < expect.size(); ++j)
        CHECK((t.rows[i][j] == expect[j] || (std::isnan(expect[j]) && std::isnan(t.rows[i][j]))));
    }
    // The thread count does not change the result.
    features::extract_features(store, features::ExtractOptions().feature_sets({"curves"}));
    const db::FeatureTable one = store.features("curves");
    features::extract_features(store,
                               features::ExtractOptions().feature_sets({"curves"}).threads(2));
    const db::FeatureTable two = store.features("curves");
    CHECK(one.run_uuids == two.run_uuids);
    for (size_t i = 0; i < one.rows.size(); ++i)
      for (size_t j = 0; j < one.rows[i].size(); ++j)
        CHECK((one.rows[i][j] == two.rows[i][j] ||
               (std::isnan(one.rows[i][j]) && std::isnan(two.rows[i][j]))));
    CHECK_THROWS_AS(
        features::extract_features(store, features::ExtractOptions().feature_sets({"x"})),
        dynfault::Error);
  }
}
