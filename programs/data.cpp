#include "programs/data.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <numeric>

#include "common/check.h"
#include "common/install_dirs.h"

#ifndef DYNFAULT_SOURCE_DATA_DIR
#define DYNFAULT_SOURCE_DATA_DIR "data"
#endif

namespace dynfault::programs {
namespace {

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

void check_consistent(const Dataset& d, const std::string& what) {
  const int64_t n = d.size();
  DYNFAULT_CHECK(static_cast<int64_t>(d.x.size()) == n * d.sample_numel(), "load_data(): ", what,
                 " has ", d.x.size(), " input values for ", n, " samples of ", d.sample_numel());
  DYNFAULT_CHECK(static_cast<int64_t>(d.y.size()) == n * d.target_numel(), "load_data(): ", what,
                 " has ", d.y.size(), " target values for ", n, " samples");
}

/// Turns a data set into its own reconstruction target (autoencoders): y = the clean inputs,
/// flattened, and, for a denoising autoencoder, x = clip(x + N(mean, std), 0, 1) as in Keras'
/// mnist_denoising_autoencoder.py. Applied after the subset limits so that these stay stratified
/// by the original classes.
void make_autoencoder(Dataset& d, double noise_mean, double noise_std, Rng& rng) {
  d.y = d.x;
  d.target_shape = {d.sample_numel()};
  d.num_classes = 0;
  if (noise_std <= 0 && noise_mean == 0) return;
  for (float& v : d.x) {
    const double noisy = v + noise_mean + noise_std * rng.normal();
    v = static_cast<float>(std::min(1.0, std::max(0.0, noisy)));
  }
}

/// Loader-independent parameters: `x_scale` multiplies every input (e.g. 1/16 for the 0-16
/// digits pixels, scikit-learn's MinMaxScaler for them), `autoencoder` = 1 makes the target the
/// input, with optional `denoise_mean` / `denoise_std` input noise.
void apply_common_params(const DataSpec& spec, uint64_t seed, DataSplit& split) {
  const double scale = data_param(spec, "x_scale", 1.0);
  DYNFAULT_CHECK(std::isfinite(scale) && scale != 0, "data set '", spec.name,
                 "': params.x_scale must be finite and non-zero, got ", scale);
  if (scale != 1.0) {
    DYNFAULT_CHECK(!split.train.integer_inputs, "data set '", spec.name,
                   "': params.x_scale cannot scale token ids");
    for (Dataset* d : {&split.train, &split.test})
      for (float& v : d->x) v = static_cast<float>(v * scale);
  }
  if (data_param(spec, "autoencoder", 0.0) != 0.0) {
    DYNFAULT_CHECK(!split.train.integer_inputs, "data set '", spec.name,
                   "': an autoencoder cannot reconstruct token ids");
    const double mean = data_param(spec, "denoise_mean", 0.0);
    const double std = data_param(spec, "denoise_std", 0.0);
    DYNFAULT_CHECK(std >= 0, "data set '", spec.name, "': params.denoise_std must be >= 0");
    // Its own stream, so that the noise never shifts a synthetic generator's draws.
    Rng rng(mix_seed(seed, 0xae));
    make_autoencoder(split.train, mean, std, rng);
    make_autoencoder(split.test, mean, std, rng);
  }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "{";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "}";
}

/// The program's declared sample shape and class count must match what the loader delivered.
void check_declared(const DataSpec& spec, const Dataset& d) {
  DYNFAULT_CHECK(spec.sample_shape.empty() || spec.sample_shape == d.sample_shape, "data set '",
                 spec.name, "' delivers samples of shape ", shape_text(d.sample_shape),
                 ", the program declares ", shape_text(spec.sample_shape));
  DYNFAULT_CHECK(spec.num_classes < 0 || spec.num_classes == d.num_classes, "data set '", spec.name,
                 "' has ", d.num_classes, " classes, the program declares ", spec.num_classes);
}

}  // namespace

double data_param(const DataSpec& spec, const std::string& key, double fallback) {
  auto it = spec.params.find(key);
  return it == spec.params.end() ? fallback : it->second;
}

int64_t data_count_param(const DataSpec& spec, const std::string& key, int64_t fallback) {
  const double v = data_param(spec, key, static_cast<double>(fallback));
  DYNFAULT_CHECK(v >= 1 && v == std::floor(v), "data set '", spec.name, "': params.", key,
                 " must be a positive integer, got ", v);
  return static_cast<int64_t>(v);
}

int64_t Dataset::sample_numel() const { return product(sample_shape); }
int64_t Dataset::target_numel() const { return product(target_shape); }
int64_t Dataset::size() const {
  const int64_t t = target_numel();
  return t == 0 ? 0 : static_cast<int64_t>(y.size()) / t;
}

DYNFAULT_DEFINE_REGISTRY(DataLoaderFn, data_loader_registry, "data set")

std::vector<std::string> data_loader_names() { return data_loader_registry().ids(); }

std::string vendored_data_dir() {
  if (const char* v = std::getenv("DYNFAULT_DATA_DIR"); v != nullptr && *v != '\0') return v;
  const std::string installed = installed_share_dir("data");
  return installed.empty() ? DYNFAULT_SOURCE_DATA_DIR : installed;
}

std::string fashion_mnist_dir() {
  return env_or("DYNFAULT_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist");
}

std::vector<int64_t> stratified_indices(const Dataset& d, int64_t limit) {
  const int64_t n = d.size();
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  if (limit <= 0 || limit >= n) return all;
  if (d.num_classes <= 0) return std::vector<int64_t>(all.begin(), all.begin() + limit);

  const int64_t k = d.num_classes;
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    const auto c = static_cast<int64_t>(d.y[static_cast<size_t>(i)]);
    DYNFAULT_CHECK(c >= 0 && c < k, "stratified_indices(): label ", c, " of sample ", i,
                   " outside [0, ", k, ")");
    members[static_cast<size_t>(c)].push_back(i);
  }
  // Largest-remainder apportionment keeps class shares as close as integers allow; ties go to
  // the lower class index so the result is a pure function of the data.
  std::vector<int64_t> take(static_cast<size_t>(k));
  std::vector<std::pair<double, int64_t>> remainders;
  int64_t taken = 0;
  for (int64_t c = 0; c < k; ++c) {
    const double exact = static_cast<double>(limit) *
                         static_cast<double>(members[static_cast<size_t>(c)].size()) /
                         static_cast<double>(n);
    take[static_cast<size_t>(c)] = static_cast<int64_t>(std::floor(exact));
    taken += take[static_cast<size_t>(c)];
    remainders.emplace_back(-(exact - std::floor(exact)), c);
  }
  std::sort(remainders.begin(), remainders.end());
  for (size_t i = 0; taken < limit && i < remainders.size(); ++i) {
    const auto c = static_cast<size_t>(remainders[i].second);
    if (take[c] < static_cast<int64_t>(members[c].size())) {
      ++take[c];
      ++taken;
    }
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(limit));
  for (int64_t c = 0; c < k; ++c) {
    const auto& m = members[static_cast<size_t>(c)];
    out.insert(out.end(), m.begin(), m.begin() + take[static_cast<size_t>(c)]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Dataset subset(const Dataset& d, const std::vector<int64_t>& indices) {
  Dataset s;
  s.sample_shape = d.sample_shape;
  s.target_shape = d.target_shape;
  s.num_classes = d.num_classes;
  s.integer_inputs = d.integer_inputs;
  const int64_t xs = d.sample_numel();
  const int64_t ys = d.target_numel();
  const int64_t n = d.size();
  s.x.reserve(indices.size() * static_cast<size_t>(xs));
  s.y.reserve(indices.size() * static_cast<size_t>(ys));
  for (int64_t i : indices) {
    DYNFAULT_CHECK(i >= 0 && i < n, "subset(): index ", i, " outside [0, ", n, ")");
    s.x.insert(s.x.end(), d.x.begin() + i * xs, d.x.begin() + (i + 1) * xs);
    s.y.insert(s.y.end(), d.y.begin() + i * ys, d.y.begin() + (i + 1) * ys);
  }
  return s;
}

DataSplit load_data(const DataSpec& spec, uint64_t data_seed) {
  const DataLoaderFn& loader = data_loader_registry().get(spec.name);
  DYNFAULT_CHECK(spec.train_limit >= 0 && spec.test_limit >= 0, "load_data(): negative limit for '",
                 spec.name, "': train_limit ", spec.train_limit, ", test_limit ", spec.test_limit);
  DataSplit split = loader(spec, data_seed);
  check_consistent(split.train, spec.name + " train");
  check_consistent(split.test, spec.name + " test");
  if (spec.train_limit > 0 && spec.train_limit < split.train.size())
    split.train = subset(split.train, stratified_indices(split.train, spec.train_limit));
  if (spec.test_limit > 0 && spec.test_limit < split.test.size())
    split.test = subset(split.test, stratified_indices(split.test, spec.test_limit));
  apply_common_params(spec, data_seed, split);
  check_declared(spec, split.train);
  return split;
}

uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  // splitmix64 expands the seed into xoshiro's 256-bit state (never all zero).
  uint64_t z = seed;
  for (auto& s : s_) {
    z += 0x9e3779b97f4a7c15ULL;
    uint64_t t = z;
    t = (t ^ (t >> 30)) * 0xbf58476d1ce4e5b9ULL;
    t = (t ^ (t >> 27)) * 0x94d049bb133111ebULL;
    s = t ^ (t >> 31);
  }
}

uint64_t Rng::next() {
  auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t n) {
  DYNFAULT_ASSERT(n > 0);
  // Rejecting the top partial block makes r % n exactly uniform.
  const uint64_t threshold = (0 - n) % n;
  uint64_t r = next();
  while (r < threshold) r = next();
  return r % n;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // 1 - u keeps the logarithm's argument in (0, 1].
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * 3.14159265358979323846 * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

}  // namespace dynfault::programs
