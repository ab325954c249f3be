#pragma once
/// The `curves` feature set: cheap shape descriptors of the loss and metric curves.
#include <string>
#include <vector>

#include "db/trace.h"
#include "features/feature_set.h"

namespace dynfault::features {

/// Column names (fixed): for each of train_loss, val_loss, train_metric, val_metric:
/// `<curve>_final`, `<curve>_min`, `<curve>_max`, `<curve>_slope_last_third`; then
/// `train_loss_drop_norm`, `final_metric_gap`, `epochs_run`, `step_loss_nonfinite_share`,
/// `step_loss_cv_last_third`, `outcome_completed`, `outcome_nan_loss`, `outcome_diverged`,
/// `outcome_other`.
const std::vector<std::string>& curves_feature_names();
/// Per column of curves_feature_names(), the label inputs it restates (curves.cpp).
const std::vector<LabelInputs>& curves_label_inputs();

/// Values for one trace (definitions in curves.cpp); NaN where a curve is missing.
std::vector<double> curves_features(const db::Trace& trace);

/// What each column reads (feature_set.h ColumnInputs).
std::vector<ColumnInputs> curves_feature_inputs();

/// The set as registered (curves.cpp registers it).
FeatureSet make_curves_feature_set();

}  // namespace dynfault::features
