#pragma once
// Toy classification data shared by the diagnoser tests.
#include <cmath>
#include <limits>
#include <string>

#include "diagnosis/diagnoser.h"
#include "diagnosis/splits.h"

namespace dynfault::testing {

/// Three Gaussian blobs in d dimensions (class c centred at 4 e_c), plus noise columns; a few
/// NaN and Inf cells to exercise imputation. Deterministic (SplitMix64 + Box-Muller).
inline void blobs(size_t n, size_t d, uint64_t seed, diagnosis::Matrix& x, diagnosis::Labels& y) {
  diagnosis::SplitMix64 rng(seed);
  auto uniform = [&] { return (static_cast<double>(rng.next() >> 11) + 0.5) / 9007199254740992.0; };
  auto normal = [&] {
    return std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  };
  x = diagnosis::Matrix(n, d);
  y.assign(n, "");
  const char* names[] = {"activation", "loss", "optimizer"};
  for (size_t i = 0; i < n; ++i) {
    const size_t c = i % 3;
    y[i] = names[c];
    for (size_t j = 0; j < d; ++j) x(i, j) = normal() + (j == c ? 4.0 : 0.0);
  }
  x(0, 5 % d) = std::nan("");
  x(1, 6 % d) = std::numeric_limits<double>::infinity();
}

}  // namespace dynfault::testing
