#pragma once
// Hand-written traces shared by the feature and label tests.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "db/trace.h"

namespace dynfault::testing {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

/// Sets series `key` to `values` at steps 0, 1, 2, ...
inline void put(db::Trace& t, const std::string& key, const std::vector<double>& values) {
  db::Series s;
  for (size_t i = 0; i < values.size(); ++i) {
    s.steps.push_back(static_cast<int64_t>(i));
    s.values.push_back(values[i]);
  }
  t.series[key] = s;
}

inline db::Trace base_trace(const std::string& run, const std::string& family = "mlp") {
  db::Trace t;
  t.run_uuid = run;
  t.program = "prog";
  t.family = family;
  t.task = "multiclass";
  t.outcome = "completed";
  t.faults_json = "[]";
  return t;
}

/// The 5-epoch trace whose DeepFD values are worked out by hand in test_deepfd.cpp.
inline db::Trace five_epoch_trace() {
  db::Trace t = base_trace("five");
  t.recipe_json = R"({"program":"prog","epochs":5})";
  t.fault_ids = "lr_scale";
  t.faults_json =
      R"([{"mutator":"lr_scale","category":"learning_rate","params":{"factor":10},"change":"lr"}])";
  put(t, "epoch/train_loss", {1.0, 0.8, 0.9, 0.6, 0.5});
  put(t, "epoch/train_metric", {0.50, 0.62, 0.58, 0.75, 0.80});
  put(t, "epoch/val_loss", {1.10, 0.90, 0.95, 1.00, 0.98});
  put(t, "epoch/val_metric", {0.45, 0.55, 0.56, 0.60, 0.62});
  put(t, "train/loss", {1.2, 1.0, 0.9, 0.85, 0.8, 0.9, 0.7, 0.6, 0.55, 0.5});
  put(t, "grad/nonfinite", {0, 0, 0, 0, 0});
  put(t, "grad/first_last_ratio", {1.0, 80.0, 0.0005, 1.0, 1.0});
  put(t, "grad/first_norm", {0.1, 0.1, 0.00005, 0.1, 0.1});
  put(t, "grad/zero_frac", {0.1, 0.1, 0.1, 0.75, 0.8});
  put(t, "weight/nonfinite", {0, 0, 0, 0, 0});
  put(t, "weight/max_abs", {1, 2, 6, 7, 3});
  put(t, "weight/fc.weight/mean", {0.1, 0.2, 0.2, 0.3, 0.3});
  put(t, "weight/fc.weight/std", {0.5, 0.5, 0.6, 0.7, 0.7});
  return t;
}

}  // namespace dynfault::testing
