#pragma once
/// The data pipeline between a DataSpec and the trainer: load, hold out validation, inject the
/// data faults, normalise. Torch-free (plain Dataset arrays) so it is cheap to test.
#include <cstdint>

#include "programs/data.h"

namespace dynfault::runner {

/// Train / validation / held-back test parts, ready to become tensors.
struct PreparedData {
  programs::Dataset train;
  programs::Dataset val;  ///< empty when val_fraction == 0
  programs::Dataset test;
};

/// Seed streams derived from the run seed (programs::mix_seed), one per consumer so that changing
/// one fault's draws never shifts another's.
enum SeedStream : uint64_t {
  kDataStream = 1,     ///< synthetic generators (load_data)
  kFaultStream = 2,    ///< data-fault draws
  kShuffleStream = 3,  ///< the trainer's mini-batch permutation generator
};

/// Runs the pipeline for `spec` with run seed `seed`:
///  1. load_data(spec, mix_seed(seed, kDataStream)) with train_limit / test_limit;
///  2. validation = the last round(val_fraction * n_c) samples of every class of the training
///     part (the last share for regression), so it is deterministic and stratified;
///  3. data faults on the remaining training part only, drawn from Rng(mix_seed(seed,
///     kFaultStream)): delete_fraction (per class), imbalance (from classes >= ceil(K/2)),
///     label_noise (a different class, uniformly; for regression the target of another sample);
///     a class always keeps at least one sample;
///  4. normalisation (spec.normalize, real-valued inputs only): mean/std from the faulted
///     training part, per feature for {F}, per trailing feature for sequences {T, F}, per
///     channel for images {C, ...}; applied to all three parts;
///  5. input_noise (Gaussian, training part only) and input_scale. input_scale multiplies all
///     three parts: it models inputs left unnormalised (a preprocessing fault applies at test
///     time as well); scaling only the training part would model a train/test shift instead.
/// Throws dynfault::Error for out-of-range fractions or an empty training part.
PreparedData prepare_data(const programs::DataSpec& spec, uint64_t seed);

}  // namespace dynfault::runner
