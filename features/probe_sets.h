#pragma once
/// The feature sets built on the runner's probe-level keys (`db/trace.h`): `default` (DEFault's
/// per-epoch runtime features), `curvature`, `optimizer` and `activation`; and `config`, the
/// run's configured hyperparameters. Each is a pure,
/// NaN-safe function of a trace with a fixed column list; a key the trace lacks (an older trace,
/// a probe that was off, an optimizer without that state) yields NaN, never an error. The
/// definitions, with their sources, are at the top of each .cpp.
#include "db/trace.h"
#include "features/feature_set.h"

namespace dynfault::features {

/// DEFault's per-epoch runtime features averaged over epochs (default_set.cpp), without its
/// learning-rate-decay artefact `adjusted_lr` and without hardware counters.
void default_features(const db::Trace& trace, FeatureRow& row);
FeatureSet make_default_feature_set();

/// Loss-surface curvature on the probe batch: lambda_max level, slope and sign, lambda_min
/// against lambda_max, the optimizer's stability ratio against 1, Hutchinson trace, each with a
/// `<name>_missing` indicator (curvature.cpp).
void curvature_features(const db::Trace& trace, FeatureRow& row);
FeatureSet make_curvature_feature_set();

/// Optimizer state and step sizes: moment norms, effective step, log10 update-to-weight ratio
/// statistics (optimizer.cpp). Configured values are the `config` set.
void optimizer_features(const db::Trace& trace, FeatureRow& row);
FeatureSet make_optimizer_feature_set();

/// Configured hyperparameters: learning rate (configured and in effect per epoch), optimizer kind
/// and constants, schedule, batch size, epochs, regularisation (config_set.cpp).
void config_features(const db::Trace& trace, FeatureRow& row);
FeatureSet make_config_feature_set();

/// Activations on the probe batch: dead and saturated shares, per-layer mean and std aggregated
/// over layers and epochs (activation.cpp).
void activation_features(const db::Trace& trace, FeatureRow& row);
FeatureSet make_activation_feature_set();

}  // namespace dynfault::features
