// Tests of the loaders and generators added with the 38-program catalogue: the penguins table,
// the sequence and text stand-ins, and the loader-independent parameters (x_scale, autoencoder
// targets, declared shapes).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "common/check.h"
#include "fixtures.h"
#include "programs/data.h"

namespace P = dynfault::programs;
using namespace fixtures;  // NOLINT: the shared test helpers

namespace {

P::DataSpec spec_with(const std::string& name, std::map<std::string, double> params) {
  P::DataSpec s = spec_of(name);
  s.params = std::move(params);
  return s;
}

float at(const P::Dataset& d, int64_t sample, int64_t offset) {
  return d.x[static_cast<size_t>(sample * d.sample_numel() + offset)];
}

/// Accuracy of a naive Bayes classifier over token presence, trained on `train` and scored on
/// `test`: a planted token signal must be learnable from token identities alone.
double naive_bayes_accuracy(const P::Dataset& train, const P::Dataset& test, int64_t vocab) {
  const int64_t k = train.num_classes;
  std::vector<std::vector<double>> counts(static_cast<size_t>(k),
                                          std::vector<double>(static_cast<size_t>(vocab), 1.0));
  std::vector<double> totals(static_cast<size_t>(k), static_cast<double>(vocab));
  for (int64_t i = 0; i < train.size(); ++i) {
    const auto c = static_cast<size_t>(train.y[static_cast<size_t>(i)]);
    for (int64_t t = 0; t < train.sample_numel(); ++t) {
      const auto w = static_cast<size_t>(at(train, i, t));
      if (w == 0) continue;
      counts[c][w] += 1;
      totals[c] += 1;
    }
  }
  int64_t correct = 0;
  for (int64_t i = 0; i < test.size(); ++i) {
    std::vector<double> score(static_cast<size_t>(k), 0.0);
    for (int64_t t = 0; t < test.sample_numel(); ++t) {
      const auto w = static_cast<size_t>(at(test, i, t));
      if (w == 0) continue;
      for (size_t c = 0; c < score.size(); ++c) score[c] += std::log(counts[c][w] / totals[c]);
    }
    const auto best = std::max_element(score.begin(), score.end()) - score.begin();
    correct += best == static_cast<int64_t>(test.y[static_cast<size_t>(i)]) ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(test.size());
}

}  // namespace

TEST_SUITE("programs") {
  // --- penguins ------------------------------------------------------------------------------

  TEST_CASE("Loaders: penguins reads the R CSV, drops incomplete rows, splits by species") {
    TempDir dir;
    EnvGuard env("DYNFAULT_DATA_DIR", dir.path());
    std::string csv =
        "species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n";
    const char* species[] = {"Adelie", "Chinstrap", "Gentoo"};
    for (int i = 0; i < 15; ++i) {
      csv += std::string(species[i % 3]) + ",Biscoe," + std::to_string(30 + i) + ".5,17," +
             std::to_string(180 + i) + "," + std::to_string(3000 + 10 * i) +
             (i % 4 == 0 ? ",NA" : ",male") + ",2008\n";
    }
    csv += "Gentoo,Biscoe,NA,NA,NA,NA,NA,2009\n";  // no measurements: dropped
    write_text(dir.path() + "/penguins/penguins.csv", csv);
    const P::DataSplit s = P::load_data(spec_of("penguins"), 0);
    CHECK(s.train.num_classes == 3);
    CHECK(s.train.sample_shape == std::vector<int64_t>{4});
    CHECK(s.train.size() + s.test.size() == 15);  // a missing sex does not drop a row
    CHECK(class_counts(s.test) == std::vector<int>{1, 1, 1});
    // Row i: bill length 30.5 + i, flipper 180 + i, species i % 3.
    for (const P::Dataset* d : {&s.train, &s.test}) {
      for (int64_t i = 0; i < d->size(); ++i) {
        const float bill = at(*d, i, 0);
        CHECK(at(*d, i, 2) == doctest::Approx(bill + 149.5));
        CHECK(d->y[static_cast<size_t>(i)] ==
              static_cast<float>(static_cast<int>(bill - 30.5f) % 3));
      }
    }
    write_text(dir.path() + "/penguins/penguins.csv", csv + "Emperor,Ross,1,2,3,4,male,2009\n");
    CHECK(error_of([] { P::load_data(spec_of("penguins"), 0); }).find("unknown species") !=
          std::string::npos);
  }

  TEST_CASE("Loaders: a missing vendored file names the file and its Debian package") {
    TempDir dir;
    EnvGuard env("DYNFAULT_DATA_DIR", dir.path());
    std::string e = error_of([] { P::load_data(spec_of("penguins"), 0); });
    CHECK(e.find(dir.path() + "/penguins/penguins.csv") != std::string::npos);
    CHECK(e.find("r-cran-palmerpenguins") != std::string::npos);
    e = error_of([] { P::load_data(spec_of("wine"), 0); });
    CHECK(e.find(dir.path() + "/sklearn/wine_data.csv") != std::string::npos);
    CHECK(e.find("python3-sklearn") != std::string::npos);
  }

  TEST_CASE("Loaders: the vendored penguins file loads with its documented size") {
    const P::DataSplit s = P::load_data(spec_of("penguins"), 0);
    CHECK(s.train.size() + s.test.size() == 342);
    CHECK(class_counts(s.train)[0] + class_counts(s.test)[0] == 151);  // Adelie
  }

  // --- sequence generators -------------------------------------------------------------------

  TEST_CASE("Loaders: every new generator is deterministic per seed and honours its sizes") {
    const std::map<std::string, std::map<std::string, double>> specs = {
        {"adding_problem", {{"seq_len", 10}, {"n_train", 40}, {"n_test", 10}}},
        {"parity", {{"seq_len", 8}, {"n_train", 40}, {"n_test", 10}}},
        {"polynomial", {{"n_train", 40}, {"n_test", 10}}},
        {"lagged_series", {{"T", 60}, {"tau", 4}, {"n_train", 40}}},
        {"imdb_tokens", {{"vocab", 100}, {"seq_len", 12}, {"n_train", 40}, {"n_test", 10}}},
        {"reuters_bow", {{"vocab", 200}, {"classes", 5}, {"n_train", 40}, {"n_test", 10}}}};
    for (const auto& [name, params] : specs) {
      CAPTURE(name);
      const P::DataSplit a = P::load_data(spec_with(name, params), 7);
      const P::DataSplit b = P::load_data(spec_with(name, params), 7);
      const P::DataSplit c = P::load_data(spec_with(name, params), 8);
      CHECK(a.train.x == b.train.x);
      CHECK(a.train.y == b.train.y);
      CHECK(a.test.x == b.test.x);
      CHECK((a.train.x != c.train.x || a.train.y != c.train.y));
      CHECK(a.train.size() == 40);
      CHECK(a.test.size() == (name == "lagged_series" ? 16 : 10));
      CHECK(std::all_of(a.train.x.begin(), a.train.x.end(),
                        [](float v) { return std::isfinite(v); }));
    }
  }

  TEST_CASE("Loaders: adding problem marks one step in each half and sums their values") {
    const P::DataSplit s = P::load_data(
        spec_with("adding_problem", {{"seq_len", 10}, {"n_train", 50}, {"n_test", 5}}), 3);
    CHECK(s.train.sample_shape == std::vector<int64_t>{10, 2});
    CHECK(s.train.num_classes == 0);
    for (int64_t i = 0; i < s.train.size(); ++i) {
      std::vector<int64_t> marked;
      double sum = 0;
      for (int64_t t = 0; t < 10; ++t) {
        CHECK(at(s.train, i, 2 * t) >= 0.0f);
        CHECK(at(s.train, i, 2 * t) < 1.0f);
        if (at(s.train, i, 2 * t + 1) == 1.0f) {
          marked.push_back(t);
          sum += at(s.train, i, 2 * t);
        }
      }
      REQUIRE(marked.size() == 2);
      CHECK(marked[0] < 5);
      CHECK(marked[1] >= 5);
      CHECK(s.train.y[static_cast<size_t>(i)] == doctest::Approx(sum));
    }
  }

  TEST_CASE("Loaders: parity labels are the XOR of left-padded bit strings of varying length") {
    const P::DataSplit s =
        P::load_data(spec_with("parity", {{"seq_len", 12}, {"n_train", 200}, {"n_test", 5}}), 4);
    CHECK(s.train.sample_shape == std::vector<int64_t>{12, 1});
    CHECK(class_counts(s.train) == std::vector<int>{100, 100});
    int64_t short_strings = 0;
    for (int64_t i = 0; i < s.train.size(); ++i) {
      int parity = 0;
      for (int64_t t = 0; t < 12; ++t) parity ^= static_cast<int>(at(s.train, i, t));
      CHECK(static_cast<float>(parity) == s.train.y[static_cast<size_t>(i)]);
      short_strings += at(s.train, i, 0) == 0.0f && at(s.train, i, 1) == 0.0f ? 1 : 0;
    }
    // Lengths are uniform in 1..12: most strings start with two padding zeros or zero bits.
    CHECK(short_strings > 100);
  }

  TEST_CASE("Loaders: polynomial features are powers of x and lagged series windows slide") {
    const P::DataSplit p = P::load_data(spec_with("polynomial", {{"degree", 3}}), 5);
    CHECK(p.train.sample_shape == std::vector<int64_t>{3});
    for (int64_t i = 0; i < 20; ++i) {
      const float x = at(p.train, i, 0);
      CHECK(at(p.train, i, 1) == doctest::Approx(x * x).epsilon(1e-5));
      CHECK(at(p.train, i, 2) == doctest::Approx(x * x * x).epsilon(1e-5));
    }
    // Every target is the same cubic in x: four samples fix it, a fifth must agree. Solved by
    // Lagrange interpolation through the first four (x, y) pairs.
    auto lagrange = [&](double x) {
      double y = 0;
      for (int64_t j = 0; j < 4; ++j) {
        double term = p.train.y[static_cast<size_t>(j)];
        for (int64_t m = 0; m < 4; ++m)
          if (m != j) term *= (x - at(p.train, m, 0)) / (at(p.train, j, 0) - at(p.train, m, 0));
        y += term;
      }
      return y;
    };
    CHECK(lagrange(at(p.train, 4, 0)) == doctest::Approx(p.train.y[4]).epsilon(1e-3));

    const P::DataSplit l =
        P::load_data(spec_with("lagged_series", {{"T", 100}, {"tau", 4}, {"n_train", 60}}), 6);
    CHECK(l.train.sample_shape == std::vector<int64_t>{4});
    CHECK(l.train.size() == 60);
    CHECK(l.test.size() == 36);
    for (int64_t i = 0; i + 1 < l.train.size(); ++i) {
      CHECK(at(l.train, i + 1, 2) == at(l.train, i, 3));
      CHECK(at(l.train, i + 1, 3) == l.train.y[static_cast<size_t>(i)]);
    }
    // The test part continues the series where training stops.
    CHECK(at(l.test, 0, 3) == l.train.y.back());
    CHECK_THROWS_AS(
        P::load_data(spec_with("lagged_series", {{"T", 50}, {"tau", 4}, {"n_train", 60}}), 6),
        dynfault::Error);
  }

  // --- text stand-ins ------------------------------------------------------------------------

  TEST_CASE("Loaders: IMDB-like token ids are left-padded, balanced and carry a learnable signal") {
    const P::DataSplit s = P::load_data(
        spec_with("imdb_tokens",
                  {{"vocab", 300}, {"seq_len", 80}, {"n_train", 600}, {"n_test", 200}}),
        9);
    CHECK(s.train.integer_inputs);
    CHECK(s.train.sample_shape == std::vector<int64_t>{80});
    CHECK(class_counts(s.train) == std::vector<int>{300, 300});
    int64_t bad = 0;
    for (int64_t i = 0; i < s.train.size(); ++i) {
      bool started = false;
      for (int64_t t = 0; t < 80; ++t) {
        const float w = at(s.train, i, t);
        started = started || w != 0.0f;
        // In range; ids 0-2 are reserved, and no padding follows the first word.
        bad += (w < 0.0f || w >= 300.0f || (started && w < 3.0f)) ? 1 : 0;
      }
    }
    CHECK(bad == 0);
    CHECK(naive_bayes_accuracy(s.train, s.test, 300) > 0.75);
  }

  TEST_CASE("Loaders: Reuters-like bags are binary, topic frequencies skewed, topics learnable") {
    const P::DataSplit s =
        P::load_data(spec_with("reuters_bow",
                               {{"vocab", 300}, {"classes", 8}, {"n_train", 800}, {"n_test", 200}}),
                     2);
    CHECK(s.train.sample_shape == std::vector<int64_t>{300});
    CHECK(s.train.num_classes == 8);
    CHECK(std::all_of(s.train.x.begin(), s.train.x.end(),
                      [](float v) { return v == 0.0f || v == 1.0f; }));
    const std::vector<int> counts = class_counts(s.train);
    CHECK(counts[0] > 2 * counts[7]);
    // A bag is a set of word ids: naive Bayes over the ids present.
    auto as_ids = [](const P::Dataset& d) {
      P::Dataset ids = d;
      ids.sample_shape = {d.sample_numel()};
      for (int64_t i = 0; i < d.size(); ++i)
        for (int64_t w = 0; w < d.sample_numel(); ++w)
          ids.x[static_cast<size_t>(i * d.sample_numel() + w)] =
              at(d, i, w) > 0 ? static_cast<float>(w) : 0.0f;
      return ids;
    };
    CHECK(naive_bayes_accuracy(as_ids(s.train), as_ids(s.test), 300) > 0.6);
  }

  // --- loader-independent parameters ----------------------------------------------------------

  TEST_CASE("Loaders: circles honour factor, Fashion-MNIST loads as row sequences") {
    const P::DataSplit c = P::load_data(
        spec_with("circles", {{"factor", 0.8}, {"noise", 0.0}, {"n_train", 20}, {"n_test", 2}}), 1);
    for (int64_t i = 0; i < c.train.size(); ++i) {
      const double r = std::hypot(at(c.train, i, 0), at(c.train, i, 1));
      CHECK(r == doctest::Approx(c.train.y[static_cast<size_t>(i)] == 0 ? 1.0 : 0.8));
    }
    CHECK_THROWS_AS(P::load_data(spec_with("circles", {{"factor", 1.5}}), 1), dynfault::Error);

    TempDir dir;
    write_tiny_fashion(dir.path(), 6, 3);
    EnvGuard env("DYNFAULT_FASHION_MNIST_DIR", dir.path());
    const P::DataSplit f = P::load_data(spec_with("fashion_mnist", {{"as_sequence", 1}}), 0);
    CHECK(f.train.sample_shape == std::vector<int64_t>{3, 2});
    CHECK(f.train.x == P::load_data(spec_of("fashion_mnist"), 0).train.x);
  }

  TEST_CASE("Loaders: autoencoder targets are the clean inputs; x_scale and denoising apply") {
    TempDir dir;
    write_tiny_fashion(dir.path(), 9, 3);
    EnvGuard env("DYNFAULT_FASHION_MNIST_DIR", dir.path());
    const P::DataSplit plain = P::load_data(spec_of("fashion_mnist"), 0);
    P::DataSpec ae = spec_with("fashion_mnist", {{"autoencoder", 1}, {"x_scale", 2.0}});
    ae.train_limit = 3;  // applied before the targets are made: still stratified by class
    const P::DataSplit a = P::load_data(ae, 0);
    CHECK(a.train.num_classes == 0);
    CHECK(a.train.target_shape == std::vector<int64_t>{6});
    CHECK(a.train.size() == 3);
    CHECK(a.train.y == a.train.x);
    CHECK(a.train.x[6] == doctest::Approx(2 * plain.train.x[6]));

    ae.params = {{"autoencoder", 1}, {"denoise_mean", 0.5}, {"denoise_std", 0.5}};
    const P::DataSplit n = P::load_data(ae, 0);
    CHECK(n.train.y == P::subset(plain.train, {0, 1, 2}).x);
    CHECK(n.train.x != n.train.y);
    CHECK(std::all_of(n.train.x.begin(), n.train.x.end(),
                      [](float v) { return v >= 0.0f && v <= 1.0f; }));
    CHECK(P::load_data(ae, 0).train.x == n.train.x);
    CHECK(P::load_data(ae, 1).train.x != n.train.x);

    CHECK(error_of([] {
            P::load_data(spec_with("imdb_tokens", {{"autoencoder", 1}}), 0);
          }).find("token ids") != std::string::npos);
    CHECK_THROWS_AS(P::load_data(spec_with("xor", {{"x_scale", 0}}), 0), dynfault::Error);
  }

  TEST_CASE("Loaders: a declared shape or class count that the loader does not deliver fails") {
    P::DataSpec s = spec_with("xor", {{"n_train", 10}, {"n_test", 2}});
    s.sample_shape = {2};
    s.num_classes = 2;
    CHECK_NOTHROW(P::load_data(s, 0));
    s.sample_shape = {3};
    const std::string e = error_of([&] { P::load_data(s, 0); });
    CHECK(e.find("shape {2}") != std::string::npos);
    CHECK(e.find("declares {3}") != std::string::npos);
    s.sample_shape = {2};
    s.num_classes = 0;
    CHECK(error_of([&] { P::load_data(s, 0); }).find("has 2 classes") != std::string::npos);
    CHECK(error_of([] {
            P::load_data(spec_with("parity", {{"seq_len", 2.5}}), 0);
          }).find("params.seq_len must be a positive integer") != std::string::npos);
  }
}
