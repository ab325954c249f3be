// Horizons: a trace cut at a point of training (features/horizon.h), the features computed on
// it, and the instability_ahead label.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "db/database.h"
#include "db/extents.h"
#include "db/store.h"
#include "features/feature_set.h"
#include "features/horizon.h"
#include "features/labels.h"
#include "tests/features/fixtures.h"
#include "tests/features/store_fixtures.h"

using namespace dynfault;
using namespace dynfault::testing;
using features::Horizon;
using features::ProbeIndexing;
using features::RunClock;

namespace {

const std::string kSource = DYNFAULT_SOURCE_DIR;

constexpr int kEpochs = 8, kSteps = 4;  // 8 planned epochs of 4 steps

void put_at(db::Trace& t, const std::string& key, const std::vector<int64_t>& steps,
            const std::vector<double>& values) {
  db::Series s;
  s.steps = steps;
  s.values = values;
  t.series[key] = s;
}

// Every family of the trace contract: epoch curves, a step loss, gradients, weights,
// activations, optimizer state and curvature per epoch (curvature also early, by updates
// applied: 0, 1, 2 in the first epoch, then 4, 8, ... at the ends of epochs), final values.
db::Trace full_trace(const std::string& name, bool early_curvature) {
  db::Trace t = base_trace(name);
  t.recipe_json = R"({"epochs":8,"batch_size":32,"data":{"name":"d"}})";
  t.fault_ids = "lr_scale";
  t.faults_json = R"([{"mutator":"lr_scale","category":"learning_rate"}])";
  std::vector<double> loss, acc, grad, w, act, opt, lam;
  for (int e = 0; e < kEpochs; ++e) {
    loss.push_back(1.0 / (1 + e) + 0.01 * (e % 3));
    acc.push_back(0.5 + 0.05 * e - 0.01 * (e % 2));
    grad.push_back(0.1 * (1 + e % 4));
    w.push_back(1 + 0.1 * e);
    act.push_back(0.1 + 0.02 * e);
    opt.push_back(0.01 * (1 + e));
    lam.push_back(10 + e);
  }
  put(t, "epoch/train_loss", loss);
  put(t, "epoch/val_loss", loss);
  put(t, "epoch/train_metric", acc);
  put(t, "epoch/val_metric", acc);
  put(t, "epoch/lr", std::vector<double>(kEpochs, 0.01));
  std::vector<double> step_loss;
  for (int s = 0; s < kEpochs * kSteps; ++s) step_loss.push_back(1.2 / (1 + 0.3 * s));
  put(t, "train/loss", step_loss);
  for (const char* key : {"grad/global_norm", "grad/fc.weight/norm", "grad/first_last_ratio",
                          "grad/nonfinite", "grad/zero_frac"})
    put(t, key, grad);
  for (const char* key : {"weight/max_abs", "weight/fc.weight/norm", "weight/fc.weight/mean",
                          "weight/fc.weight/std", "weight/update_ratio", "weight/nonfinite"})
    put(t, key, w);
  for (const char* key : {"act/l1/mean", "act/l1/std", "act/l1/dead_frac", "act/dead_frac_max",
                          "act/sat_frac_max", "act/mean_abs_max", "act/std_mean"})
    put(t, key, act);
  for (const char* key : {"opt/exp_avg_norm", "opt/exp_avg_sq_norm", "opt/eff_step_mean"})
    put(t, key, opt);
  put(t, "time/step_ms", std::vector<double>(kEpochs, 2.0));
  if (early_curvature) {
    std::vector<int64_t> at = {0, 1, 2};
    std::vector<double> v = {5, 6, 7};
    for (int e = 0; e < kEpochs; ++e) {
      at.push_back(static_cast<int64_t>((e + 1) * kSteps));
      v.push_back(lam[static_cast<size_t>(e)]);
    }
    for (const char* key : {"curv/lambda_max", "curv/trace", "curv/lr_lambda"})
      put_at(t, key, at, v);
  } else {
    for (const char* key : {"curv/lambda_max", "curv/trace", "curv/lr_lambda"}) put(t, key, lam);
  }
  put_at(t, "final/test_metric", {kEpochs - 1}, {0.8});
  put_at(t, "final/test_loss", {kEpochs - 1}, {0.3});
  return t;
}

// When the record of `key` at index `at` was taken, in steps (horizon.h's rule, written out
// independently for the test's fixed S).
double taken(const std::string& key, int64_t at, bool early_curvature, int64_t n) {
  if (key == "train/loss") return static_cast<double>(at + 1);
  if (key.rfind("curv/", 0) == 0 && early_curvature) return static_cast<double>(at);
  if (key.rfind("final/", 0) == 0) return 1e18;
  return static_cast<double>(std::min<int64_t>((at + 1) * kSteps, n));
}

// The trace with every value taken after `cut` steps replaced by poison (NaN and 1e30 in
// turn); final/* poisoned too.
db::Trace poisoned(const db::Trace& t, double cut, bool early_curvature) {
  db::Trace out = t;
  const int64_t n = static_cast<int64_t>(t.find("train/loss")->size());
  int k = 0;
  for (auto& [key, s] : out.series)
    for (size_t i = 0; i < s.values.size(); ++i)
      if (taken(key, s.steps[i], early_curvature, n) > cut)
        s.values[i] = (k++ % 2 == 0) ? kNaN : 1e30;
  return out;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("horizon: parsing, suffixes and bad values") {
  CHECK(Horizon::parse("0.25").suffix() == "h0.25");
  CHECK(Horizon::parse("h0.1").suffix() == "h0.1");
  CHECK(Horizon::parse("1").is_full());
  CHECK(Horizon::parse("1").suffix().empty());
  CHECK(Horizon::parse("e3").suffix() == "e3");
  CHECK(Horizon::parse("s100").suffix() == "s100");
  CHECK(features::at_horizon("deepfd", Horizon::parse("0.5")) == "deepfd@h0.5");
  CHECK(features::at_horizon("deepfd", Horizon::parse("1")) == "deepfd");
  for (const char* bad : {"0", "-0.1", "1.5", "nan", "inf", "abc", "", "e0", "s-3", "e1.5"})
    CHECK_THROWS_WITH_AS(Horizon::parse(bad), doctest::Contains("horizon"), Error);
  CHECK_THROWS_WITH_AS(Horizon::fraction(1.0001), doctest::Contains("outside (0, 1]"), Error);
}

TEST_CASE("horizon: the campaign's probes say which families count steps") {
  const auto ix = ProbeIndexing::from_config(
      "name: x\nprobes:\n  gradients: every_step\n  weights: {every_k_steps: 5}\n"
      "  curvature: {every_k_epochs: 2, early_steps: log}\n",
      "x");
  CHECK(ix.gradients);
  CHECK(ix.weights);
  CHECK_FALSE(ix.activations);
  CHECK_FALSE(ix.curvature);
  CHECK(ix.curvature_updates);
  const auto plain =
      ProbeIndexing::from_config("name: y\nprobes:\n  curvature: every_epoch\n", "y");
  CHECK_FALSE(plain.curvature_updates);
  CHECK_FALSE(ProbeIndexing::from_config("", "none").gradients);
}

TEST_CASE("horizon: H = 1 is the trace as stored, features bit for bit") {
  const db::Trace t = full_trace("t", true);
  const auto clock = RunClock::known(kEpochs * kSteps, kEpochs, kSteps);
  const auto cut = features::cut_trace(t, Horizon::parse("1"), clock, ProbeIndexing{});
  REQUIRE(cut);
  CHECK(cut->outcome == t.outcome);
  CHECK(cut->series.size() == t.series.size());
  for (const auto& name : features::feature_set_names()) {
    const features::FeatureSet set = features::feature_set(name);
    CHECK_MESSAGE(same_bits(set.values(*cut), set.values(t)), name);
  }
}

TEST_CASE("horizon: no feature reads a value recorded after the cut") {
  for (const bool early : {false, true}) {
    ProbeIndexing ix;
    ix.curvature_updates = early;
    const db::Trace t = full_trace("t", early);
    const auto clock = RunClock::known(kEpochs * kSteps, kEpochs, kSteps);
    for (const double h : {0.1, 0.25, 0.5, 0.9}) {
      CAPTURE(early);
      CAPTURE(h);
      const double cut_steps = h * kEpochs * kSteps;
      const db::Trace bad = poisoned(t, cut_steps, early);
      const auto a = features::cut_trace(t, Horizon::fraction(h), clock, ix);
      const auto b = features::cut_trace(bad, Horizon::fraction(h), clock, ix);
      REQUIRE(a);
      REQUIRE(b);
      CHECK(a->outcome == features::kOutcomeRunning);
      CHECK_FALSE(a->find("final/test_metric"));
      // The step loss is kept up to the cut exactly: ceil-free, s + 1 <= cut.
      CHECK(static_cast<double>(a->find("train/loss")->size()) == std::floor(cut_steps));
      bool any_differs = false;  // the poison reaches features when nothing is cut
      for (const auto& name : features::feature_set_names()) {
        const features::FeatureSet set = features::feature_set(name);
        CHECK_MESSAGE(same_bits(set.values(*a), set.values(*b)), name);
        any_differs = any_differs || !same_bits(set.values(t), set.values(bad));
      }
      CHECK(any_differs);
    }
    // Early curvature readings are the only ones inside the first epoch.
    const auto first = features::cut_trace(t, Horizon::steps(2), clock, ix);
    REQUIRE(first);
    const db::Series* lam = first->find("curv/lambda_max");
    if (early) {
      REQUIRE(lam);
      CHECK(lam->steps == std::vector<int64_t>{0, 1, 2});
    } else {
      CHECK(lam == nullptr);
    }
    CHECK(first->find("epoch/train_loss") == nullptr);
  }
}

TEST_CASE("horizon: a run that ended by the cut is out; a mid-epoch death is placed at its step") {
  db::Trace t = full_trace("dead", false);
  // Died at step 9 (inside epoch 2): 10 step losses, epochs 0-2 recorded (2 partial).
  t.outcome = "nan_loss";
  for (auto& [key, s] : t.series) {
    const size_t keep = key == "train/loss" ? 10 : 3;
    if (key.rfind("final/", 0) == 0) continue;
    s.steps.resize(std::min(keep, s.steps.size()));
    s.values.resize(s.steps.size());
  }
  t.series["train/loss"].values.back() = kNaN;
  const auto clock = RunClock::known(10, kEpochs, kSteps);
  CHECK_FALSE(features::cut_trace(t, Horizon::fraction(0.5), clock, ProbeIndexing{}));
  CHECK_FALSE(features::cut_trace(t, Horizon::steps(10), clock, ProbeIndexing{}));
  const auto at9 = features::cut_trace(t, Horizon::steps(9), clock, ProbeIndexing{});
  REQUIRE(at9);
  // Epochs 0 and 1 ended at steps 4 and 8; the partial epoch 2 was recorded at the death (10).
  CHECK(at9->find("epoch/train_loss")->size() == 2);
  CHECK(at9->find("train/loss")->size() == 9);
  // S unknown (no completed sibling): bounds keep every kept record before the cut.
  RunClock bounded;
  bounded.steps = 10;
  bounded.planned_epochs = kEpochs;
  bounded.steps_per_epoch_lo = 4;  // ceil(10 / 3)
  bounded.steps_per_epoch_hi = 4;  // (10 - 1) / 2
  const auto b = features::cut_trace(t, Horizon::steps(9), bounded, ProbeIndexing{});
  REQUIRE(b);
  CHECK(b->find("epoch/train_loss")->size() == 2);
}

TEST_CASE("instability_ahead on hand-built traces") {
  const features::InstabilityThresholds th;
  const auto clock = RunClock::known(kEpochs * kSteps, kEpochs, kSteps);
  const auto ahead = [&](const db::Trace& t, double h) {
    const auto cut = features::cut_trace(t, Horizon::fraction(h), clock, ProbeIndexing{});
    REQUIRE(cut);
    return features::instability_ahead_label(t, *cut, th).value;
  };
  // A stable run stays stable.
  const db::Trace stable = full_trace("stable", false);
  CHECK(features::instability_label(stable, th).value == "stable");
  CHECK(ahead(stable, 0.25) == "stable");
  // A loss that blows up in epoch 6: unstable ahead at 0.25 and 0.5 (epochs 0-1, 0-3 seen).
  db::Trace blows = full_trace("blows", false);
  blows.series["epoch/train_loss"].values[6] = 1e6;
  blows.series["epoch/train_loss"].values[7] = 1e7;
  CHECK(features::instability_label(blows, th).value == "diverged");
  CHECK(ahead(blows, 0.25) == "unstable");
  CHECK(ahead(blows, 0.5) == "unstable");
  // The symptom already in the prefix (a huge loss at epoch 1): excluded at 0.5.
  db::Trace early = full_trace("early", false);
  early.series["epoch/train_loss"].values[1] = 1e6;
  CHECK(ahead(early, 0.5).empty());
  CHECK(ahead(early, 0.1) == "unstable");  // at 0.1 no epoch has ended yet
  // Oscillating accuracy only in the second half: unstable ahead.
  db::Trace osc = full_trace("osc", false);
  auto& acc = osc.series["epoch/train_metric"].values;
  for (int e = 3; e < kEpochs; ++e) acc[static_cast<size_t>(e)] = e % 2 ? 0.3 : 0.9;
  CHECK(features::instability_label(osc, th).value == "oscillating");
  CHECK(ahead(osc, 0.5) == "unstable");
  // A run excluded from the triage (a timeout) is excluded from the task.
  db::Trace timeout = full_trace("timeout", false);
  timeout.outcome = "timeout";
  CHECK(ahead(timeout, 0.5).empty());
  CHECK(features::unstable_or_stable("oscillating") == "unstable");
  CHECK(features::unstable_or_stable("").empty());
}

TEST_CASE("horizon in a store: tables per horizon, runs alive at the cut, labels ahead") {
  db::Store store = db::Store::memory();
  store.upsert_campaign("c", "name: c\nprobes:\n  curvature: {every_k_epochs: 1}\n", "");
  // A completed run gives S = 4 to its siblings; a sibling dies in epoch 0 at step 3; another
  // blows up after the half.
  db::Trace done = full_trace("done", false);
  store_trace(store, done, "c");
  db::Trace died = full_trace("died", false);
  died.outcome = "nan_loss";
  for (auto& [key, s] : died.series) {
    const size_t keep = key == "train/loss" ? 3 : 1;
    s.steps.resize(std::min(keep, s.steps.size()));
    s.values.resize(s.steps.size());
  }
  store_trace(store, died, "c");
  db::Trace blows = full_trace("blows", false);
  blows.series["epoch/train_loss"].values[6] = 1e6;
  store_trace(store, blows, "c");

  const auto extents = db::run_extents(store, "c");
  REQUIRE(extents.size() == 3);
  for (const auto& e : extents) CHECK(e.epochs >= 1);

  const std::vector<std::string> sets = {"curves", "deepfd", "curvature"};
  features::extract_features(store, features::ExtractOptions().feature_sets(sets));
  const auto before = store.features("curves");
  const auto report =
      features::extract_features(store, features::ExtractOptions()
                                            .feature_sets(sets)
                                            .horizon(Horizon::parse("0.25"))
                                            .thresholds_path(kSource + "/configs/thresholds.yaml"));
  CHECK(report.traces == 3);
  CHECK(report.alive == 2);  // the run that died at step 3 ended before the cut at step 8
  CHECK(report.bounded == 0);
  const auto cut = store.features("curves@h0.25");
  CHECK(cut.run_uuids.size() == 2);
  const auto after = store.features("curves");  // the full table is untouched
  REQUIRE(after.rows.size() == before.rows.size());
  for (size_t i = 0; i < after.rows.size(); ++i) CHECK(same_bits(after.rows[i], before.rows[i]));
  const auto labels = store.labels("instability_ahead@h0.25");
  REQUIRE(labels.size() == 2);
  std::map<std::string, std::string> by_run;
  for (const auto& l : labels) by_run[l.run_uuid] = l.label;
  CHECK(by_run[done.run_uuid] == "stable");
  CHECK(by_run[blows.run_uuid] == "unstable");

  // A horizon at which every run has ended: a clear error, nothing stored.
  const auto tables_before = store.feature_sets();
  CHECK_THROWS_WITH_AS(
      features::extract_features(store, features::ExtractOptions()
                                            .feature_sets(sets)
                                            .horizon(Horizon::steps(1000))
                                            .thresholds_path(kSource + "/configs/thresholds.yaml")),
      doctest::Contains("nothing stored"), Error);
  CHECK(store.feature_sets() == tables_before);
  CHECK(store.labels("instability_ahead@s1000").empty());

  // The rule applied to the prefix (evaluate's label_rule row) sees no symptom yet.
  const auto rule =
      features::compute_labels(store, features::LabelOptions()
                                          .taxonomies_path(kSource + "/configs/taxonomies.yaml")
                                          .thresholds_path(kSource + "/configs/thresholds.yaml")
                                          .tasks({"instability", "instability_ahead"})
                                          .horizon(Horizon::parse("0.25")));
  CHECK(rule.counts.traces == 2);
  CHECK(rule.counts.by_task.at("instability_ahead").at("stable") == 2);

  // One pass at several horizons gives what one call per horizon gives, label for label.
  const std::vector<Horizon> several = {Horizon::parse("0.25"), Horizon::parse("1"),
                                        Horizon::steps(3)};
  const auto label_options = features::LabelOptions()
                                 .taxonomies_path(kSource + "/configs/taxonomies.yaml")
                                 .thresholds_path(kSource + "/configs/thresholds.yaml")
                                 .tasks({"instability", "instability_ahead", "detection"});
  const auto at_once = features::compute_labels_at(store, label_options, several);
  REQUIRE(at_once.size() == several.size());
  for (size_t k = 0; k < several.size(); ++k) {
    CAPTURE(several[k].describe());
    const auto alone =
        features::compute_labels(store, features::LabelOptions(label_options).horizon(several[k]));
    CHECK(at_once[k].counts.traces == alone.counts.traces);
    CHECK(at_once[k].counts.by_task == alone.counts.by_task);
    REQUIRE(at_once[k].rows.size() == alone.rows.size());
    for (const auto& [task, rows] : alone.rows) {
      const auto& other = at_once[k].rows.at(task);
      REQUIRE(other.size() == rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        CHECK(other[i].run_uuid == rows[i].run_uuid);
        CHECK(other[i].label == rows[i].label);
        CHECK(other[i].details == rows[i].details);
      }
    }
  }
  // The horizons differ, so the comparison can fail: the whole run sees the blow-up.
  CHECK(at_once[1].counts.traces == 3);
  CHECK(at_once[0].counts.traces == 2);
  CHECK_THROWS_AS(
      features::derive_labels(store, features::LabelOptions()
                                         .taxonomies_path(kSource + "/configs/taxonomies.yaml")
                                         .thresholds_path(kSource + "/configs/thresholds.yaml")
                                         .horizon(Horizon::parse("0.5"))),
      Error);
}
