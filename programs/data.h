#pragma once
/// Offline data sets as plain arrays (torch-free). Loaders register by name; the runner turns a
/// Dataset into tensors. Nothing is downloaded: Fashion-MNIST comes from Debian's
/// dataset-fashion-mnist, the scikit-learn tables are vendored under data/, sequences are
/// generated from a seed.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "programs/recipe.h"
#include "programs/registry.h"

namespace dynfault::programs {

/// Samples stored row-major. Classification targets are class indices stored as floats.
struct Dataset {
  std::vector<int64_t> sample_shape;  ///< shape of one input sample, e.g. {1, 28, 28}
  std::vector<float> x;               ///< n * prod(sample_shape) values
  std::vector<int64_t> target_shape;  ///< {} for a class index or a scalar target, else per-sample
  std::vector<float> y;               ///< n * prod(target_shape) values
  int64_t num_classes = 0;            ///< 0 for regression
  bool integer_inputs = false;        ///< inputs are token ids (for embedding layers)

  int64_t size() const;
  int64_t sample_numel() const;
  int64_t target_numel() const;
};

/// Training and held-back test part of a data set.
struct DataSplit {
  Dataset train;
  Dataset test;
};

/// A loader reads or generates the full data set for `spec` (subset limits are applied by
/// load_data, so loaders may ignore them). `seed` drives synthetic generators only.
using DataLoaderFn = std::function<DataSplit(const DataSpec& spec, uint64_t seed)>;

/// Every data loader by name; a loader registers with
/// `DYNFAULT_REGISTER(data_loader_registry(), "<name>", <function>);` (common/registry.h).
Registry<DataLoaderFn>& data_loader_registry();
std::vector<std::string> data_loader_names();

/// Loads spec.name and applies train_limit / test_limit as deterministic, class-stratified
/// prefixes. Throws dynfault::Error naming the missing file and the Debian package providing it.
DataSplit load_data(const DataSpec& spec, uint64_t data_seed);

/// spec.params[key], or `fallback` when the program does not set it.
double data_param(const DataSpec& spec, const std::string& key, double fallback);
/// spec.params[key] as a positive integer (or `fallback`); throws dynfault::Error naming the data
/// set, the key and the value otherwise.
int64_t data_count_param(const DataSpec& spec, const std::string& key, int64_t fallback);

/// Directory holding vendored data files: $DYNFAULT_DATA_DIR, else `<prefix>/share/dynfault/data`
/// next to an installed binary (common/install_dirs.h), else data/ of the source tree it was
/// built from.
std::string vendored_data_dir();
/// Directory holding the Fashion-MNIST gzip IDX files (env DYNFAULT_FASHION_MNIST_DIR overrides
/// /usr/share/datasets/fashion-mnist).
std::string fashion_mnist_dir();

/// Indices of a deterministic class-stratified subset of at most `limit` samples: each class keeps
/// its first samples in stored order, in proportion to its share (largest remainder), and the
/// result is sorted. Regression data keep the first `limit` samples. limit <= 0 or >= size()
/// selects everything, so applying the same limit twice is a no-op.
std::vector<int64_t> stratified_indices(const Dataset& d, int64_t limit);
/// The samples at `indices`, in that order (same shapes and class count).
Dataset subset(const Dataset& d, const std::vector<int64_t>& indices);

/// splitmix64 finaliser of seed + stream: derives independent seeds (data, faults, shuffling)
/// from one run seed.
uint64_t mix_seed(uint64_t seed, uint64_t stream);

/// Seeded PRNG for data generation and data faults: xoshiro256** seeded through splitmix64, with
/// our own uniform and Box-Muller normal so that draws are identical on every platform (the
/// std:: distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  /// Next raw 64-bit value.
  uint64_t next();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n), n > 0 (modulo, rejecting the biased tail of the range).
  uint64_t below(uint64_t n);
  /// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double normal();
  /// Fisher-Yates shuffle of `v`.
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// Train and test parts generated one after the other from `rng` by `make(rng, n)` (a Dataset
/// of n samples), with n = params.n_train / params.n_test or the defaults.
template <typename Make>
DataSplit generated_split(const DataSpec& spec, Rng& rng, int64_t default_train,
                          int64_t default_test, Make make) {
  DataSplit s;
  s.train = make(rng, data_count_param(spec, "n_train", default_train));
  s.test = make(rng, data_count_param(spec, "n_test", default_test));
  return s;
}

}  // namespace dynfault::programs
