// Seeded synthetic data sets: stand-ins for sequence data with no offline copy, and the small
// 2-D classification sets (AUTOTRAINER's blob and circle problems are themselves synthetic).
// Every draw goes through programs::Rng so a seed yields the same data on every platform.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "common/check.h"
#include "programs/data.h"

namespace dynfault::programs {
namespace {

constexpr double kPi = 3.14159265358979323846;

/// A 2-D classification generator: fills one sample's features for class `c`; the generator's
/// parameters (class count, noise, ...) are bound when it is made.
using PointFn = std::function<void(Rng& rng, int64_t c, float* out)>;

Dataset make_points(Rng& rng, int64_t n, int64_t num_classes, int64_t features, const PointFn& fn) {
  Dataset d;
  d.num_classes = num_classes;
  d.sample_shape = {features};
  d.x.resize(static_cast<size_t>(n * features));
  d.y.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    // Classes interleave so that every prefix of the set is balanced.
    const int64_t c = i % num_classes;
    fn(rng, c, d.x.data() + i * features);
    d.y[static_cast<size_t>(i)] = static_cast<float>(c);
  }
  return d;
}

/// Train and test parts of n_train / n_test samples (params, with defaults 600 / 200).
DataSplit make_point_split(const DataSpec& spec, uint64_t seed, int64_t num_classes,
                           int64_t features, const PointFn& fn) {
  Rng rng(seed);
  return generated_split(spec, rng, 600, 200, [&](Rng& r, int64_t n) {
    return make_points(r, n, num_classes, features, fn);
  });
}

// cs231n's spiral: class c is an arm at angle offset 4c with radius growing along the arm.
PointFn spiral(int64_t k, double noise) {
  return [k, noise](Rng& rng, int64_t c, float* out) {
    const double r = rng.uniform();
    const double t =
        (static_cast<double>(c) + r) * 4.0 * 3.0 / static_cast<double>(k) + noise * rng.normal();
    out[0] = static_cast<float>(r * std::sin(t));
    out[1] = static_cast<float>(r * std::cos(t));
  };
}

// Blob centres on a circle of radius 4 (deterministic, so only the spread is random).
PointFn blob(int64_t k, double noise) {
  return [k, noise](Rng& rng, int64_t c, float* out) {
    const double a = 2.0 * kPi * static_cast<double>(c) / static_cast<double>(k);
    out[0] = static_cast<float>(4.0 * std::cos(a) + noise * rng.normal());
    out[1] = static_cast<float>(4.0 * std::sin(a) + noise * rng.normal());
  };
}

// scikit-learn make_circles: class 0 on the unit circle, class 1 on the circle of radius factor.
PointFn circle(double factor, double noise) {
  return [factor, noise](Rng& rng, int64_t c, float* out) {
    const double t = 2.0 * kPi * rng.uniform();
    const double r = c == 0 ? 1.0 : factor;
    out[0] = static_cast<float>(r * std::cos(t) + noise * rng.normal());
    out[1] = static_cast<float>(r * std::sin(t) + noise * rng.normal());
  };
}

// scikit-learn make_moons: two interleaving half circles.
PointFn moon(double noise) {
  return [noise](Rng& rng, int64_t c, float* out) {
    const double t = kPi * rng.uniform();
    const double x = c == 0 ? std::cos(t) : 1.0 - std::cos(t);
    const double y = c == 0 ? std::sin(t) : 0.5 - std::sin(t);
    out[0] = static_cast<float>(x + noise * rng.normal());
    out[1] = static_cast<float>(y + noise * rng.normal());
  };
}

// XOR: class 1 when the two coordinates have different signs.
PointFn xor_points(double noise) {
  return [noise](Rng& rng, int64_t c, float* out) {
    const double ax = rng.uniform(0.05, 1.0);
    const double ay = rng.uniform(0.05, 1.0);
    const bool x_positive = rng.uniform() < 0.5;
    const bool y_positive = c == 0 ? x_positive : !x_positive;
    out[0] = static_cast<float>((x_positive ? ax : -ax) + noise * rng.normal());
    out[1] = static_cast<float>((y_positive ? ay : -ay) + noise * rng.normal());
  };
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
  const int64_t seq_len = data_count_param(spec, "seq_len", 20);
  const double noise = data_param(spec, "noise", 0.05);
  const double period = data_param(spec, "period", 25.0);
  DYNFAULT_CHECK(period > 0, "data set 'sine_sequence': params.period must be > 0, got ", period);
  DYNFAULT_CHECK(noise >= 0, "data set 'sine_sequence': params.noise must be >= 0, got ", noise);
  Rng rng(seed);
  return generated_split(spec, rng, 1000, 200, [&](Rng& r, int64_t n) {
    return make_sine(r, n, seq_len, period, noise);
  });
}

DataSplit load_spirals(const DataSpec& spec, uint64_t seed) {
  const int64_t k = data_count_param(spec, "classes", 3);
  return make_point_split(spec, seed, k, 2, spiral(k, data_param(spec, "noise", 0.2)));
}
DataSplit load_blobs(const DataSpec& spec, uint64_t seed) {
  const int64_t k = data_count_param(spec, "classes", 3);
  return make_point_split(spec, seed, k, 2, blob(k, data_param(spec, "noise", 1.0)));
}
DataSplit load_circles(const DataSpec& spec, uint64_t seed) {
  DYNFAULT_CHECK(data_param(spec, "classes", 2) == 2, "data set 'circles' has exactly 2 classes");
  const double factor = data_param(spec, "factor", 0.5);
  DYNFAULT_CHECK(factor > 0 && factor < 1, "data set 'circles': params.factor must be in (0, 1), ",
                 "got ", factor);
  return make_point_split(spec, seed, 2, 2, circle(factor, data_param(spec, "noise", 0.1)));
}
DataSplit load_moons(const DataSpec& spec, uint64_t seed) {
  DYNFAULT_CHECK(data_param(spec, "classes", 2) == 2, "data set 'moons' has exactly 2 classes");
  return make_point_split(spec, seed, 2, 2, moon(data_param(spec, "noise", 0.1)));
}
DataSplit load_xor(const DataSpec& spec, uint64_t seed) {
  DYNFAULT_CHECK(data_param(spec, "classes", 2) == 2, "data set 'xor' has exactly 2 classes");
  return make_point_split(spec, seed, 2, 2, xor_points(data_param(spec, "noise", 0.1)));
}

/// The adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015, section 4.1):
/// step t holds (value U[0, 1), marker); exactly two markers are 1, one in each half of the
/// sequence, and the target is the sum of the two marked values.
Dataset make_adding(Rng& rng, int64_t n, int64_t seq_len) {
  Dataset d;
  d.sample_shape = {seq_len, 2};
  d.x.assign(static_cast<size_t>(n * seq_len * 2), 0.0f);
  d.y.resize(static_cast<size_t>(n));
  const int64_t half = seq_len / 2;
  for (int64_t i = 0; i < n; ++i) {
    float* row = d.x.data() + i * seq_len * 2;
    for (int64_t t = 0; t < seq_len; ++t) row[2 * t] = static_cast<float>(rng.uniform());
    const auto first = static_cast<int64_t>(rng.below(static_cast<uint64_t>(half)));
    const int64_t second =
        half + static_cast<int64_t>(rng.below(static_cast<uint64_t>(seq_len - half)));
    row[2 * first + 1] = 1.0f;
    row[2 * second + 1] = 1.0f;
    d.y[static_cast<size_t>(i)] = row[2 * first] + row[2 * second];
  }
  return d;
}

DataSplit load_adding_problem(const DataSpec& spec, uint64_t seed) {
  const int64_t seq_len = data_count_param(spec, "seq_len", 50);
  DYNFAULT_CHECK(seq_len >= 2, "data set 'adding_problem': params.seq_len must be >= 2");
  Rng rng(seed);
  return generated_split(spec, rng, 2000, 500,
                         [&](Rng& r, int64_t n) { return make_adding(r, n, seq_len); });
}

/// Parity of a bit string of random length 1..seq_len (OpenAI Requests for Research 2.0, "XOR
/// LSTM", its variable-length variant), left-padded with zeros to seq_len: a zero never changes
/// the parity, so the padding keeps every label exact. Classes interleave as for the points.
Dataset make_parity(Rng& rng, int64_t n, int64_t seq_len) {
  Dataset d;
  d.num_classes = 2;
  d.sample_shape = {seq_len, 1};
  d.x.assign(static_cast<size_t>(n * seq_len), 0.0f);
  d.y.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float* row = d.x.data() + i * seq_len;
    const int64_t len = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(seq_len)));
    int parity = 0;
    for (int64_t t = seq_len - len; t < seq_len; ++t) {
      const int bit = rng.uniform() < 0.5 ? 1 : 0;
      row[t] = static_cast<float>(bit);
      parity ^= bit;
    }
    const int64_t c = i % 2;
    if (parity != c) {
      // Flipping one uniformly chosen bit keeps the strings of each parity uniformly drawn.
      const int64_t t = seq_len - len + static_cast<int64_t>(rng.below(static_cast<uint64_t>(len)));
      row[t] = 1.0f - row[t];
    }
    d.y[static_cast<size_t>(i)] = static_cast<float>(c);
  }
  return d;
}

DataSplit load_parity(const DataSpec& spec, uint64_t seed) {
  const int64_t seq_len = data_count_param(spec, "seq_len", 20);
  Rng rng(seed);
  return generated_split(spec, rng, 2000, 500,
                         [&](Rng& r, int64_t n) { return make_parity(r, n, seq_len); });
}

/// pytorch/examples regression/main.py: features (x, x^2, ..., x^degree) of x ~ N(0, 1) and the
/// target w . features + b of a random polynomial, w ~ 5 N(0, 1), b ~ 5 N(0, 1), drawn from the
/// seed first (the source draws them per run, too).
DataSplit load_polynomial(const DataSpec& spec, uint64_t seed) {
  const int64_t degree = data_count_param(spec, "degree", 4);
  Rng rng(seed);
  std::vector<double> w(static_cast<size_t>(degree));
  for (double& v : w) v = 5.0 * rng.normal();
  const double b = 5.0 * rng.normal();
  return generated_split(spec, rng, 2000, 500, [&](Rng& r, int64_t n) {
    Dataset d;
    d.sample_shape = {degree};
    for (int64_t i = 0; i < n; ++i) {
      const double x = r.normal();
      double power = 1.0, y = b;
      for (int64_t k = 0; k < degree; ++k) {
        power *= x;
        d.x.push_back(static_cast<float>(power));
        y += w[static_cast<size_t>(k)] * power;
      }
      d.y.push_back(static_cast<float>(y));
    }
    return d;
  });
}

/// d2l.ai "Sequence Models": one series x_t = sin(omega t) + N(0, noise^2), t = 1..T, turned
/// into samples (x_{t-tau}, ..., x_{t-1}) -> x_t; the first n_train samples train, the rest test
/// (so the test part lies later in time, as in the chapter).
DataSplit load_lagged_series(const DataSpec& spec, uint64_t seed) {
  const int64_t length = data_count_param(spec, "T", 1000);
  const int64_t tau = data_count_param(spec, "tau", 4);
  const int64_t n_train = data_count_param(spec, "n_train", 600);
  const double omega = data_param(spec, "omega", 0.01);
  const double noise = data_param(spec, "noise", 0.2);
  DYNFAULT_CHECK(length - tau > n_train, "data set 'lagged_series': T - tau (", length - tau,
                 ") leaves no test samples after n_train ", n_train);
  Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(length));
  for (int64_t t = 0; t < length; ++t)
    x[static_cast<size_t>(t)] =
        static_cast<float>(std::sin(omega * static_cast<double>(t + 1)) + noise * rng.normal());
  DataSplit s;
  for (Dataset* d : {&s.train, &s.test}) d->sample_shape = {tau};
  for (int64_t t = tau; t < length; ++t) {
    Dataset& d = t - tau < n_train ? s.train : s.test;
    d.x.insert(d.x.end(), x.begin() + (t - tau), x.begin() + t);
    d.y.push_back(x[static_cast<size_t>(t)]);
  }
  return s;
}

}  // namespace

DYNFAULT_REGISTER(data_loader_registry(), "sine_sequence", load_sine_sequence);
DYNFAULT_REGISTER(data_loader_registry(), "spirals", load_spirals);
DYNFAULT_REGISTER(data_loader_registry(), "blobs", load_blobs);
DYNFAULT_REGISTER(data_loader_registry(), "circles", load_circles);
DYNFAULT_REGISTER(data_loader_registry(), "moons", load_moons);
DYNFAULT_REGISTER(data_loader_registry(), "xor", load_xor);
DYNFAULT_REGISTER(data_loader_registry(), "adding_problem", load_adding_problem);
DYNFAULT_REGISTER(data_loader_registry(), "parity", load_parity);
DYNFAULT_REGISTER(data_loader_registry(), "polynomial", load_polynomial);
DYNFAULT_REGISTER(data_loader_registry(), "lagged_series", load_lagged_series);

}  // namespace dynfault::programs
