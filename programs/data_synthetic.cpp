// Seeded synthetic data sets: stand-ins for sequence data with no offline copy, and the small
// 2-D classification sets (AUTOTRAINER's blob and circle problems are themselves synthetic).
// Every draw goes through programs::Rng so a seed yields the same data on every platform.
#include <cmath>
#include <string>
#include <vector>

#include "common/check.h"
#include "programs/data.h"

namespace dynfault::programs {
namespace {

constexpr double kPi = 3.14159265358979323846;

double param(const DataSpec& spec, const std::string& key, double fallback) {
  auto it = spec.params.find(key);
  return it == spec.params.end() ? fallback : it->second;
}

int64_t count_param(const DataSpec& spec, const std::string& key, int64_t fallback) {
  const double v = param(spec, key, static_cast<double>(fallback));
  DYNFAULT_CHECK(v >= 1 && v == std::floor(v), "data set '", spec.name, "': params.", key,
                 " must be a positive integer, got ", v);
  return static_cast<int64_t>(v);
}

/// A 2-D classification generator: fills one sample's features for class `c`.
using PointFn = void (*)(Rng& rng, int64_t c, int64_t num_classes, double noise, float* out);

Dataset make_points(Rng& rng, int64_t n, int64_t num_classes, int64_t features, double noise,
                    PointFn fn) {
  Dataset d;
  d.num_classes = num_classes;
  d.sample_shape = {features};
  d.x.resize(static_cast<size_t>(n * features));
  d.y.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    // Classes interleave so that every prefix of the set is balanced.
    const int64_t c = i % num_classes;
    fn(rng, c, num_classes, noise, d.x.data() + i * features);
    d.y[static_cast<size_t>(i)] = static_cast<float>(c);
  }
  return d;
}

DataSplit make_point_split(const DataSpec& spec, uint64_t seed, int64_t default_classes,
                           int64_t features, double default_noise, PointFn fn) {
  const int64_t n_train = count_param(spec, "n_train", 600);
  const int64_t n_test = count_param(spec, "n_test", 200);
  const int64_t k = count_param(spec, "classes", default_classes);
  const double noise = param(spec, "noise", default_noise);
  Rng rng(seed);
  DataSplit s;
  s.train = make_points(rng, n_train, k, features, noise, fn);
  s.test = make_points(rng, n_test, k, features, noise, fn);
  return s;
}

// cs231n's spiral: class c is an arm at angle offset 4c with radius growing along the arm.
void spiral_point(Rng& rng, int64_t c, int64_t k, double noise, float* out) {
  const double r = rng.uniform();
  const double t =
      (static_cast<double>(c) + r) * 4.0 * 3.0 / static_cast<double>(k) + noise * rng.normal();
  out[0] = static_cast<float>(r * std::sin(t));
  out[1] = static_cast<float>(r * std::cos(t));
}

// Blob centres on a circle of radius 4 (deterministic, so only the spread is random).
void blob_point(Rng& rng, int64_t c, int64_t k, double noise, float* out) {
  const double a = 2.0 * kPi * static_cast<double>(c) / static_cast<double>(k);
  out[0] = static_cast<float>(4.0 * std::cos(a) + noise * rng.normal());
  out[1] = static_cast<float>(4.0 * std::sin(a) + noise * rng.normal());
}

// scikit-learn make_circles(factor=0.5): class 0 on the outer circle, class 1 on the inner.
void circle_point(Rng& rng, int64_t c, int64_t /*k*/, double noise, float* out) {
  const double t = 2.0 * kPi * rng.uniform();
  const double r = c == 0 ? 1.0 : 0.5;
  out[0] = static_cast<float>(r * std::cos(t) + noise * rng.normal());
  out[1] = static_cast<float>(r * std::sin(t) + noise * rng.normal());
}

// scikit-learn make_moons: two interleaving half circles.
void moon_point(Rng& rng, int64_t c, int64_t /*k*/, double noise, float* out) {
  const double t = kPi * rng.uniform();
  const double x = c == 0 ? std::cos(t) : 1.0 - std::cos(t);
  const double y = c == 0 ? std::sin(t) : 0.5 - std::sin(t);
  out[0] = static_cast<float>(x + noise * rng.normal());
  out[1] = static_cast<float>(y + noise * rng.normal());
}

// XOR: class 1 when the two coordinates have different signs.
void xor_point(Rng& rng, int64_t c, int64_t /*k*/, double noise, float* out) {
  const double ax = rng.uniform(0.05, 1.0);
  const double ay = rng.uniform(0.05, 1.0);
  const bool x_positive = rng.uniform() < 0.5;
  const bool y_positive = c == 0 ? x_positive : !x_positive;
  out[0] = static_cast<float>((x_positive ? ax : -ax) + noise * rng.normal());
  out[1] = static_cast<float>((y_positive ? ay : -ay) + noise * rng.normal());
}

/// Windows of a noisy sine wave with a random phase; the target is the next clean value.
Dataset make_sine(Rng& rng, int64_t n, int64_t seq_len, double period, double noise) {
  Dataset d;
  d.sample_shape = {seq_len, 1};
  d.x.resize(static_cast<size_t>(n * seq_len));
  d.y.resize(static_cast<size_t>(n));
  const double omega = 2.0 * kPi / period;
  for (int64_t i = 0; i < n; ++i) {
    const double phase = 2.0 * kPi * rng.uniform();
    for (int64_t t = 0; t < seq_len; ++t)
      d.x[static_cast<size_t>(i * seq_len + t)] = static_cast<float>(
          std::sin(phase + omega * static_cast<double>(t)) + noise * rng.normal());
    d.y[static_cast<size_t>(i)] =
        static_cast<float>(std::sin(phase + omega * static_cast<double>(seq_len)));
  }
  return d;
}

DataSplit load_sine_sequence(const DataSpec& spec, uint64_t seed) {
  const int64_t seq_len = count_param(spec, "seq_len", 20);
  const int64_t n_train = count_param(spec, "n_train", 1000);
  const int64_t n_test = count_param(spec, "n_test", 200);
  const double noise = param(spec, "noise", 0.05);
  const double period = param(spec, "period", 25.0);
  DYNFAULT_CHECK(period > 0, "data set 'sine_sequence': params.period must be > 0, got ", period);
  DYNFAULT_CHECK(noise >= 0, "data set 'sine_sequence': params.noise must be >= 0, got ", noise);
  Rng rng(seed);
  DataSplit s;
  s.train = make_sine(rng, n_train, seq_len, period, noise);
  s.test = make_sine(rng, n_test, seq_len, period, noise);
  return s;
}

DataSplit load_spirals(const DataSpec& spec, uint64_t seed) {
  return make_point_split(spec, seed, 3, 2, 0.2, spiral_point);
}
DataSplit load_blobs(const DataSpec& spec, uint64_t seed) {
  return make_point_split(spec, seed, 3, 2, 1.0, blob_point);
}
DataSplit load_circles(const DataSpec& spec, uint64_t seed) {
  DYNFAULT_CHECK(param(spec, "classes", 2) == 2, "data set 'circles' has exactly 2 classes");
  return make_point_split(spec, seed, 2, 2, 0.1, circle_point);
}
DataSplit load_moons(const DataSpec& spec, uint64_t seed) {
  DYNFAULT_CHECK(param(spec, "classes", 2) == 2, "data set 'moons' has exactly 2 classes");
  return make_point_split(spec, seed, 2, 2, 0.1, moon_point);
}
DataSplit load_xor(const DataSpec& spec, uint64_t seed) {
  DYNFAULT_CHECK(param(spec, "classes", 2) == 2, "data set 'xor' has exactly 2 classes");
  return make_point_split(spec, seed, 2, 2, 0.1, xor_point);
}

}  // namespace

DYNFAULT_REGISTER_DATA_LOADER("sine_sequence", load_sine_sequence);
DYNFAULT_REGISTER_DATA_LOADER("spirals", load_spirals);
DYNFAULT_REGISTER_DATA_LOADER("blobs", load_blobs);
DYNFAULT_REGISTER_DATA_LOADER("circles", load_circles);
DYNFAULT_REGISTER_DATA_LOADER("moons", load_moons);
DYNFAULT_REGISTER_DATA_LOADER("xor", load_xor);

}  // namespace dynfault::programs
