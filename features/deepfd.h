#pragma once
/// The `deepfd` feature set: AUTOTRAINER/DeepFD monitor flags computed at every check (one
/// check per recorded epoch here), each column reduced with DeepFD's 8 statistics into
/// `ft_<column>_<stat>`, plus the last epoch's loss and metric (`ft_val_loss`,
/// `ft_val_accuracy`, `ft_loss`, `ft_accuracy`, DeepFD's `log.csv` columns).
#include <cstdint>
#include <string>
#include <vector>

#include "db/trace.h"
#include "features/feature_set.h"

namespace dynfault::features {

/// DeepFD's monitor state after each check: one row per epoch, one column per flag/metric.
struct CheckTable {
  std::vector<std::string> columns;       ///< deepfd_columns()
  std::vector<int64_t> epochs;            ///< the check's epoch (step)
  std::vector<std::vector<double>> rows;  ///< rows[check][column]; NaN = missing
};

/// The 21 per-check columns: 17 flags/counters then loss, acc, val_loss, val_acc. DeepFD's
/// `weight_change_little` is left out on purpose: DeepFD declares it and never updates it
/// (prior-work section 7, defect #2).
const std::vector<std::string>& deepfd_columns();

/// Runs DeepFD's monitor over the trace's epochs (pure; definitions in deepfd.cpp).
CheckTable deepfd_checks(const db::Trace& trace);

/// The set's column names: ft_<column>_<stat> for every column and stat, then the 4 last-epoch
/// values. 21 x 8 + 4 = 172 names.
const std::vector<std::string>& deepfd_feature_names();

/// Per column of deepfd_feature_names(), the label inputs it restates (deepfd.cpp).
const std::vector<LabelInputs>& deepfd_label_inputs();

/// The monitor's values for one trace (all NaN for an empty trace). The registered set
/// (FeatureSet::values) also makes every column whose inputs the trace lacks NaN: without
/// gradient series the gradient flags never fire, which is unknown, not 0.
std::vector<double> deepfd_features(const db::Trace& trace);

/// What each column of deepfd_feature_names() reads (feature_set.h ColumnInputs).
std::vector<ColumnInputs> deepfd_feature_inputs();

/// The set as registered (deepfd.cpp registers it).
FeatureSet make_deepfd_feature_set();

}  // namespace dynfault::features
