// The probe-level feature sets (default, curvature, optimizer, activation) and the config set on
// hand-made traces.
// Golden values are worked out by hand from the definitions at the top of each .cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "features/feature_set.h"
#include "features/probe_sets.h"
#include "fixtures.h"

using namespace dynfault;
using dynfault::testing::kInf;
using dynfault::testing::kNaN;
using dynfault::testing::put;

namespace {

double value(const features::FeatureVector& v, const std::string& name) {
  const auto it = std::find(v.names.begin(), v.names.end(), name);
  REQUIRE_MESSAGE(it != v.names.end(), name);
  return v.values[static_cast<size_t>(it - v.names.begin())];
}

// Three epochs with every probe key of db/trace.h that the four sets read.
db::Trace probe_trace() {
  db::Trace t = testing::base_trace("probe");
  put(t, "epoch/train_loss", {1.0, 0.5, 0.6});
  put(t, "epoch/train_metric", {0.5, 0.7, 0.65});
  put(t, "epoch/val_loss", {1.1, 0.6, 0.7});
  put(t, "epoch/val_metric", {0.45, 0.55, 0.6});
  put(t, "epoch/lr", {0.1, 0.1, 0.01});
  put(t, "grad/nonfinite", {0, 0, 1});
  put(t, "grad/fc1.weight/norm", {1.0, 2.0, 3.0});
  put(t, "grad/fc2.weight/norm", {3.0, 4.0, 5.0});
  put(t, "grad/fc1.weight/mean_abs", {1e-5, 1e-3, 1e-3});
  put(t, "grad/fc2.weight/mean_abs", {1e-5, 1e-3, 1e-3});
  put(t, "grad/fc1.weight/max_abs", {1, 80, 2});
  put(t, "grad/fc2.weight/max_abs", {1, 1, 2});
  put(t, "weight/fc1.weight/max_abs", {5, 11, 12});
  put(t, "weight/fc2.weight/max_abs", {5, 5, 12});
  put(t, "weight/nonfinite", {0, 0, 0});
  put(t, "weight/mean", {0.1, 0.1, 0.2});
  put(t, "weight/std", {0.5, 0.6, 0.6});
  put(t, "weight/update_ratio", {1e-3, 1e-2, 1e-5});
  put(t, "weight/fc1.weight/update_ratio", {1e-3, 1e-2, 1e-5});
  put(t, "weight/fc2.weight/update_ratio", {1e-1, 1e-2, 1e-3});
  put(t, "act/layers.1/mean", {0.2, 0.4, 0.6});
  put(t, "act/layers.1/std", {1.0, 1.0, 1.0});
  put(t, "act/layers.1/dead_frac", {0.1, 0.8, 0.9});
  put(t, "act/layers.1/sat_frac", {0.0, 0.0, 0.6});
  put(t, "act/layers.10/mean", {0.0, 0.0, 0.0});
  put(t, "act/layers.10/std", {0.1, 0.1, 0.01});
  put(t, "act/layers.10/dead_frac", {0.5, 0.5, 0.5});
  put(t, "act/layers.10/sat_frac", {0.0, 0.0, 0.0});
  put(t, "act/dead_frac_max", {0.5, 0.8, 0.9});
  put(t, "act/sat_frac_max", {0.0, 0.0, 0.6});
  put(t, "act/mean_abs_max", {0.2, 0.4, 0.6});
  put(t, "opt/exp_avg_norm", {10, 100, 1000});
  put(t, "opt/exp_avg_sq_norm", {1, 1, 1});
  put(t, "opt/eff_step_mean", {0.01, 0.01, 0.001});
  put(t, "curv/lambda_max", {10, 100, 1000});
  put(t, "curv/trace", {20, 200, -5});
  put(t, "curv/lr_lambda", {1, 10, 10});
  put(t, "curv/lambda_min", {-1, -50, -2000});
  put(t, "curv/stability_ratio", {0.5, 2, -0.1});
  return t;
}

}  // namespace

TEST_SUITE("features") {
  TEST_CASE("Probe sets: registered with fixed, prefixed, unique columns") {
    for (const auto& [name, prefix, count] :
         std::vector<std::tuple<std::string, std::string, size_t>>{{"default", "def_", 25},
                                                                   {"curvature", "curv_", 40},
                                                                   {"optimizer", "opt_", 16},
                                                                   {"activation", "act_", 16},
                                                                   {"config", "cfg_", 26}}) {
      const auto set = features::feature_set(name);
      CHECK(set.names().size() == count);
      for (const auto& n : set.names()) CHECK(n.rfind(prefix, 0) == 0);
      // The same columns for an empty trace and a full one.
      CHECK(set.compute(db::Trace{}).names == set.compute(probe_trace()).names);
    }
    // DEFault's artefacts stay out (prior-work section 7, defects #4 and #5).
    const auto default_set = features::feature_set("default");
    for (const auto& n : default_set.names()) {
      CHECK(n.find("adjusted_lr") == std::string::npos);
      CHECK(n.find("cpu") == std::string::npos);
      CHECK(n.find("memory") == std::string::npos);
    }
    CHECK(features::feature_set("deepfd+default+curvature+optimizer+activation").names().size() ==
          172 + 25 + 40 + 16 + 16);
    CHECK(features::feature_set("optimizer+config").names().size() == 16 + 26);
  }

  TEST_CASE("Probe sets: an empty trace gives NaN, never an error") {
    for (const char* name : {"default", "activation", "optimizer", "config"})
      for (double v : features::feature_set(name).values(db::Trace{})) CHECK(std::isnan(v));
    // Curvature: every value NaN and every indicator saying so.
    const auto curv = features::feature_set("curvature").compute(db::Trace{});
    for (size_t i = 0; i < curv.names.size(); ++i) {
      CAPTURE(curv.names[i]);
      const std::string& n = curv.names[i];
      const bool indicator = n.size() > 8 && n.compare(n.size() - 8, 8, "_missing") == 0;
      if (indicator)
        CHECK(curv.values[i] == 1.0);
      else
        CHECK(std::isnan(curv.values[i]));
    }
  }

  TEST_CASE("Probe sets: default averages DEFault's per-epoch columns over epochs") {
    const auto v = features::feature_set("default").compute(probe_trace());
    CHECK(value(v, "def_train_loss") == doctest::Approx(0.7));  // (1 + 0.5 + 0.6) / 3
    CHECK(value(v, "def_val_acc") == doctest::Approx(1.6 / 3));
    // Tensors with max |w| > 10: 0, 1, 2 -> mean 1.
    CHECK(value(v, "def_large_weight_count") == doctest::Approx(1.0));
    // |train - val| > 0.1: 0.05 no, 0.15 yes, 0.05 no -> 1/3.
    CHECK(value(v, "def_acc_gap_too_big") == doctest::Approx(1.0 / 3));
    // From the 2nd epoch: |dloss| 0.5 and 0.1 both > 0.01 -> 1; loss rose once of 2 -> 0.5.
    CHECK(value(v, "def_loss_oscillation") == doctest::Approx(1.0));
    CHECK(value(v, "def_increase_loss") == doctest::Approx(0.5));
    CHECK(value(v, "def_decrease_acc") == doctest::Approx(0.5));
    CHECK(value(v, "def_cons_mean_weight") == doctest::Approx(0.5));  // 0.1 == 0.1, then not
    CHECK(value(v, "def_cons_std_weight") == doctest::Approx(0.5));   // 0.6 == 0.6 at epoch 2
    CHECK(value(v, "def_nan_gradient") == doctest::Approx(1.0 / 3));
    CHECK(value(v, "def_gradient_vanish") == doctest::Approx(1.0 / 3));   // 1e-5 < 1e-4 once
    CHECK(value(v, "def_gradient_explode") == doctest::Approx(1.0 / 3));  // 80 > 70 once
    // Per-epoch mean of the two tensor norms: 2, 3, 4 -> 3; population std 1 each epoch.
    CHECK(value(v, "def_grad_norm_mean") == doctest::Approx(3.0));
    CHECK(value(v, "def_grad_norm_std") == doctest::Approx(1.0));
    CHECK(value(v, "def_grad_norm_max") == doctest::Approx(4.0));
    CHECK(value(v, "def_dying_relu") == doctest::Approx(2.0 / 3));            // 0.8, 0.9 > 0.7
    CHECK(value(v, "def_saturated_activation") == doctest::Approx(1.0 / 3));  // 0.6 > 0.5
    CHECK(value(v, "def_mean_activation") == doctest::Approx(0.2));           // (0.1+0.2+0.3)/3
  }

  TEST_CASE("Probe sets: curvature levels, signs, stability ratio and missingness") {
    const auto v = features::feature_set("curvature").compute(probe_trace());
    CHECK(value(v, "curv_lambda_max_log10abs_mean") == doctest::Approx(2.0));  // 10, 100, 1000
    CHECK(value(v, "curv_lambda_max_log10abs_first") == doctest::Approx(1.0));
    CHECK(value(v, "curv_lambda_max_log10abs_final") == doctest::Approx(3.0));
    CHECK(value(v, "curv_lambda_max_log10abs_slope") == doctest::Approx(2.0));  // per progress
    CHECK(value(v, "curv_lambda_max_log10abs_change") == doctest::Approx(2.0));
    CHECK(value(v, "curv_lambda_max_negative_share") == 0.0);
    // lambda_min / |lambda_max|: -0.1, -0.5, -2.
    CHECK(value(v, "curv_lambda_min_ratio_mean") == doctest::Approx(-2.6 / 3));
    CHECK(value(v, "curv_lambda_min_ratio_final") == doctest::Approx(-2.0));
    CHECK(value(v, "curv_nonfinite_share") == 0.0);
    // Stability ratios 0.5, 2, -0.1: levels -0.301, 0.301, -1; one above 1, one negative.
    CHECK(value(v, "curv_stability_log10abs_mean") == doctest::Approx(-1.0 / 3));
    CHECK(value(v, "curv_stability_log10abs_first") == doctest::Approx(std::log10(0.5)));
    CHECK(value(v, "curv_stability_log10abs_final") == doctest::Approx(-1.0));
    CHECK(value(v, "curv_stability_log10abs_max") == doctest::Approx(std::log10(2.0)));
    CHECK(value(v, "curv_stability_above1_share") == doctest::Approx(1.0 / 3));
    CHECK(value(v, "curv_stability_negative_share") == doctest::Approx(1.0 / 3));
    // Traces 20, 200, -5: the sign is kept apart from the level.
    CHECK(value(v, "curv_trace_log10abs_mean") ==
          doctest::Approx((std::log10(20.0) + std::log10(200.0) + std::log10(5.0)) / 3));
    CHECK(value(v, "curv_trace_log10abs_final") == doctest::Approx(std::log10(5.0)));
    CHECK(value(v, "curv_trace_negative_share") == doctest::Approx(1.0 / 3));
    CHECK(value(v, "curv_lambda_trace_ratio_mean") == doctest::Approx((0.5 + 0.5 - 200) / 3));
    CHECK(value(v, "curv_lambda_trace_ratio_final") == doctest::Approx(-200.0));
    for (size_t i = 0; i < v.names.size(); ++i)
      if (v.names[i].find("_missing") != std::string::npos) CHECK(v.values[i] == 0.0);

    // A trace without stability ratios (recorded before they existed): those columns are
    // missing and say so; the others are unchanged. An exact zero is a level, not a gap.
    db::Trace t = probe_trace();
    t.series.erase("curv/stability_ratio");
    put(t, "curv/trace", {20, 200, 0});
    const auto w = features::feature_set("curvature").compute(t);
    CHECK(std::isnan(value(w, "curv_stability_log10abs_max")));
    CHECK(value(w, "curv_stability_log10abs_max_missing") == 1.0);
    CHECK(value(w, "curv_stability_above1_share_missing") == 1.0);
    CHECK(value(w, "curv_lambda_max_log10abs_mean_missing") == 0.0);
    CHECK(value(w, "curv_trace_log10abs_final") == doctest::Approx(-30.0));
    CHECK(value(w, "curv_trace_log10abs_final_missing") == 0.0);
  }

  TEST_CASE("Probe sets: optimizer update-ratio statistics, no configured value") {
    const auto v = features::feature_set("optimizer").compute(probe_trace());
    // The configured learning rate and the optimizer's kind live in `config` only.
    for (const auto& n : v.names) {
      CHECK(n.rfind("opt_lr_", 0) != 0);
      CHECK(n.rfind("opt_has_", 0) != 0);
    }
    CHECK(value(v, "opt_update_log10_mean") == doctest::Approx(-10.0 / 3));          // -3, -2, -5
    CHECK(value(v, "opt_update_log10_std") == doctest::Approx(std::sqrt(7.0 / 3)));  // ddof 1
    CHECK(value(v, "opt_update_outside_share") == doctest::Approx(1.0 / 3));         // -5 < -4
    // Per-epoch spread between the tensors: |(-3) - (-1)|, 0, |(-5) - (-3)| -> 4/3.
    CHECK(value(v, "opt_update_param_spread") == doctest::Approx(4.0 / 3));
    CHECK(value(v, "opt_exp_avg_log10_final") == doctest::Approx(3.0));
    CHECK(value(v, "opt_eff_step_over_lr_log10_mean") == doctest::Approx(-1.0));
    CHECK(std::isnan(value(v, "opt_momentum_log10_mean")));
  }

  TEST_CASE("Config set: configured hyperparameters from the recipe, LR in effect per epoch") {
    db::Trace t = probe_trace();
    t.recipe_json = R"({"optimizer":{"name":"sgd","lr":0.1,"momentum":0.9,"nesterov":true,)"
                    R"("beta1":0.9,"beta2":0.999,"eps":1e-08,"weight_decay":0.0005,"rho":0.9},)"
                    R"("schedule":{"name":"step","step_size":2,"gamma":0.1},"batch_size":64,)"
                    R"("epochs":3,"l1":0,"l2":0.001,"clip_norm":5,"clip_value":0,)"
                    R"("faults":[{"mutator":"lr_scale","category":"learning_rate"}]})";
    const auto v = features::feature_set("config").compute(t);
    CHECK(value(v, "cfg_lr_log10") == doctest::Approx(-1.0));
    // epoch/lr 0.1, 0.1, 0.01: first -1, final -2, one change in two transitions.
    CHECK(value(v, "cfg_lr_log10_first") == doctest::Approx(-1.0));
    CHECK(value(v, "cfg_lr_log10_final") == doctest::Approx(-2.0));
    CHECK(value(v, "cfg_lr_log10_change") == doctest::Approx(-1.0));
    CHECK(value(v, "cfg_lr_change_share") == doctest::Approx(0.5));
    CHECK(value(v, "cfg_momentum") == doctest::Approx(0.9));
    CHECK(value(v, "cfg_nesterov") == 1.0);
    CHECK(value(v, "cfg_eps_log10") == doctest::Approx(-8.0));
    CHECK(value(v, "cfg_weight_decay") == doctest::Approx(0.0005));
    CHECK(value(v, "cfg_optimizer_sgd") == 1.0);
    CHECK(value(v, "cfg_optimizer_adam") == 0.0);
    CHECK(value(v, "cfg_optimizer_other") == 0.0);
    CHECK(value(v, "cfg_schedule_gamma") == doctest::Approx(0.1));
    CHECK(value(v, "cfg_schedule_step_size") == 2.0);
    CHECK(value(v, "cfg_batch_size_log2") == doctest::Approx(6.0));
    CHECK(value(v, "cfg_epochs") == 3.0);
    CHECK(value(v, "cfg_l2") == doctest::Approx(0.001));
    CHECK(value(v, "cfg_clip_norm") == 5.0);
    // The injected fault list is never a column.
    for (const auto& n : v.names) CHECK(n.find("fault") == std::string::npos);
    // No schedule: gamma 1; an optimizer outside the one-hot list: other.
    t.recipe_json = R"({"optimizer":{"name":"adadelta","lr":1.0},"schedule":{"name":"none"}})";
    const auto w = features::feature_set("config").compute(t);
    CHECK(value(w, "cfg_schedule_gamma") == 1.0);
    CHECK(value(w, "cfg_optimizer_other") == 1.0);
    CHECK(value(w, "cfg_optimizer_sgd") == 0.0);
    CHECK(std::isnan(value(w, "cfg_momentum")));
  }

  TEST_CASE("Probe sets: activation shares and depth ratio use layers in depth order") {
    const auto v = features::feature_set("activation").compute(probe_trace());
    CHECK(value(v, "act_dead_max_final") == doctest::Approx(0.9));
    CHECK(value(v, "act_dead_cell_share") == doctest::Approx(2.0 / 6));  // 0.8, 0.9 of 6 cells
    CHECK(value(v, "act_sat_cell_share") == doctest::Approx(1.0 / 6));
    CHECK(value(v, "act_mean_cell_mean") == doctest::Approx(0.2));
    // layers.10 is deeper than layers.1 (natural order): last epoch 0.01 / 1.0 -> -2.
    CHECK(value(v, "act_std_log10_last_over_first") == doctest::Approx(-2.0));
    CHECK(value(v, "act_mean_abs_max_mean") == doctest::Approx(0.4));
  }

  TEST_CASE("Probe sets: NaN and Inf in the series stay NaN-safe") {
    db::Trace t = probe_trace();
    put(t, "curv/lambda_max", {kNaN, kInf, -1.0});
    put(t, "weight/update_ratio", {kNaN, 0.0, kInf});
    put(t, "act/layers.1/std", {kNaN, kNaN, kNaN});
    put(t, "epoch/train_loss", {1.0, kNaN, kInf});
    t.recipe_json = "{not json";
    for (const char* name : {"default", "curvature", "optimizer", "activation", "config"})
      CHECK_NOTHROW(features::feature_set(name).values(t));
    const auto c = features::feature_set("curvature").compute(t);
    CHECK(value(c, "curv_lambda_max_log10abs_mean") == doctest::Approx(0.0));  // only -1 is finite
    CHECK(value(c, "curv_lambda_max_negative_share") == doctest::Approx(1.0));
    CHECK(value(c, "curv_nonfinite_share") == doctest::Approx(2.0 / 3));
    for (double x : c.values) CHECK_FALSE(std::isinf(x));
    const auto o = features::feature_set("optimizer").compute(t);
    CHECK(std::isnan(value(o, "opt_update_log10_mean")));
    const auto d = features::feature_set("default").compute(t);
    CHECK(value(d, "def_train_loss") == doctest::Approx(1.0));  // finite epochs only
  }
}
