#pragma once
/// Evaluation splits, the two protocols of the paper: `by_run` (stratified k-fold over traces;
/// the same program sits on both sides) and `by_program` (folds grouped by program: leave one
/// program out, or group k-fold). Folds are a deterministic function of (labels/groups, k,
/// seed) and independent of the platform: the shuffles use our own SplitMix64 generator, not
/// std::shuffle (whose algorithm the standard leaves to the library).
#include <cstdint>
#include <string>
#include <vector>

namespace dynfault::diagnosis {

/// One fold: sample indices to train on and to test on (each sorted ascending).
struct Fold {
  std::vector<size_t> train;
  std::vector<size_t> test;
};

enum class SplitKind { by_run, by_program };

/// "by_run" / "by_program".
std::string to_string(SplitKind kind);

/// Deterministic 64-bit generator (SplitMix64), shared by splits and the bootstrap.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  /// Uniform integer in [0, n) (n > 0), by rejection so that it is exactly uniform.
  uint64_t below(uint64_t n);

 private:
  uint64_t state_;
};

/// Fisher-Yates shuffle with SplitMix64.
void shuffle(std::vector<size_t>& v, SplitMix64& rng);

/// Stratified k-fold (the within-program protocol), as scikit-learn's StratifiedKFold with
/// shuffle=True in spirit: each class's samples are shuffled and dealt round-robin over the
/// folds, the dealing continuing where the previous class stopped, so every fold gets
/// floor or ceil of each class's share and fold sizes differ by at most one. k is clamped to the
/// number of samples; throws for k < 2 or fewer than 2 samples.
std::vector<Fold> stratified_kfold(const std::vector<std::string>& labels, int k, uint64_t seed);

/// Leave-one-group-out: one fold per distinct group (folds ordered by group name).
std::vector<Fold> leave_one_group_out(const std::vector<std::string>& groups);

/// Group k-fold: groups shuffled with `seed`, then each (largest first, as scikit-learn's
/// GroupKFold) placed in the fold with the fewest samples so far. k is clamped to the number of
/// groups; throws for fewer than 2 groups.
std::vector<Fold> group_kfold(const std::vector<std::string>& groups, int k, uint64_t seed);

/// The protocol's folds. by_run: stratified_kfold(labels, k, seed). by_program: k <= 0 gives
/// leave_one_group_out(groups), else group_kfold(groups, k, seed).
std::vector<Fold> make_splits(SplitKind kind, const std::vector<std::string>& labels,
                              const std::vector<std::string>& groups, int k, uint64_t seed);

/// True when no group has samples on both the train and the test side of any fold.
bool groups_disjoint(const std::vector<Fold>& folds, const std::vector<std::string>& groups);

/// The fold each sample is tested in (-1 if none); throws if a sample is tested twice.
std::vector<int64_t> test_fold_of(const std::vector<Fold>& folds, size_t n);

}  // namespace dynfault::diagnosis
