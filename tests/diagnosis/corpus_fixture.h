#pragma once
// A small labelled corpus with features in an in-memory store, shared by the evaluation and
// report tests.
#include <string>
#include <vector>

#include "diagnosis/splits.h"
#include "features/feature_set.h"
#include "features/labels.h"
#include "tests/features/store_fixtures.h"

namespace dynfault::testing {

inline const std::string kSourceDir = DYNFAULT_SOURCE_DIR;

/// `programs` programs x `per` runs; even runs carry an lr_scale fault (loss stalls high and
/// noisy), odd runs a loss_change fault (loss falls low); each program shifts the levels. With
/// `clean` > 0, each program also gets that many clean runs. Programs 2k and 2k + 1 train on data
/// set "ds<k>"; run r has seed r / 2, so a fault configuration spans several seeds and its runs
/// pair with the clean run of the same seed. Labels derived, `sets` extracted.
inline db::Store corpus(int programs, int per, int clean = 0,
                        const std::vector<std::string>& sets = {"curves", "deepfd"}) {
  db::Store store = db::Store::memory();
  diagnosis::SplitMix64 rng(5);
  for (int p = 0; p < programs; ++p)
    for (int r = 0; r < per + clean; ++r) {
      const bool is_clean = r >= per;
      const bool lr = r % 2 == 0;
      db::Trace t = base_trace("r" + std::to_string(r));
      t.program = "prog" + std::to_string(p);
      t.recipe_json = R"({"data":{"name":"ds)" + std::to_string(p / 2) +
                      R"("},"epochs":6,"layers":[{"type":"linear","out":4}]})";
      if (!is_clean) {
        t.fault_ids = lr ? "lr_scale" : "loss_change";
        t.faults_json = lr ? R"([{"mutator":"lr_scale","category":"learning_rate"}])"
                           : R"([{"mutator":"loss_change","category":"loss"}])";
      }
      const double shift = 0.2 * p;
      const double noise = static_cast<double>(rng.below(100)) / 500.0;
      std::vector<double> loss, acc;
      for (int e = 0; e < 6; ++e) {
        if (is_clean) {
          loss.push_back((1.0 + shift) / (1 + 2 * e) + noise);
          acc.push_back(0.6 + 0.06 * e + noise);
        } else {
          loss.push_back(lr ? 1.0 + shift + noise + 0.05 * (e % 2)
                            : (1.0 + shift) / (1 + e) + noise);
          acc.push_back(lr ? 0.4 + noise : 0.5 + 0.07 * e + noise);
        }
      }
      put(t, "epoch/train_loss", loss);
      put(t, "epoch/val_loss", loss);
      put(t, "epoch/train_metric", acc);
      put(t, "epoch/val_metric", acc);
      store_trace(store, t, "c", "FINISHED", is_clean ? r - per : r / 2);
    }
  features::derive_labels(store, features::LabelOptions()
                                     .taxonomies_path(kSourceDir + "/configs/taxonomies.yaml")
                                     .thresholds_path(kSourceDir + "/configs/thresholds.yaml"));
  features::extract_features(store, features::ExtractOptions().feature_sets(sets));
  return store;
}

}  // namespace dynfault::testing
