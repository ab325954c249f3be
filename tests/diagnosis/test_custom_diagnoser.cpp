// Extending the diagnosers touches one file: a diagnoser defined only here is registered, covered
// by the registry's contract test (test_learners.cpp: learns, round-trips, refuses other
// versions) and evaluated like the built-in ones. docs/extending.md quotes this file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <istream>
#include <ostream>

#include "diagnosis/diagnoser.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/model_io.h"
#include "diagnosis/preprocess.h"
#include "tests/diagnosis/corpus_fixture.h"

namespace dynfault::diagnosis {
namespace {

// docs:begin custom-diagnoser
/// Options of ExampleNearestCentroid; the defaults are the member initialisers.
struct ExampleNearestCentroidOptions {
  DYNFAULT_ARG(double, clip_quantile) = 0.0;  ///< winsorising before scaling (0 = off)
};

/// Nearest centroid on standardised features: each class is the mean of its training rows, a
/// trace gets the class of the closest mean (scikit-learn's NearestCentroid).
class ExampleNearestCentroid final : public Diagnoser {
 public:
  explicit ExampleNearestCentroid(ExampleNearestCentroidOptions options = {}) : options_(options) {}
  std::string name() const override { return "example_nearest_centroid"; }

  void fit(const Matrix& x, const Labels& y) override {
    classes_ = training_classes(x, y, name());
    // Imputes and scales on the training rows only; shared with other diagnosers of a fold.
    const auto prepared = scaled(x, options_.clip_quantile(), Scaling::standard);
    scaler_ = prepared->scaler;
    const auto label = encode_labels(y, classes_);
    centroids_ = Matrix(classes_.size(), x.cols);
    std::vector<double> count(classes_.size(), 0.0);
    for (size_t i = 0; i < x.rows; ++i) {
      count[label[i]] += 1;
      for (size_t j = 0; j < x.cols; ++j) centroids_(label[i], j) += prepared->x(i, j);
    }
    for (size_t c = 0; c < classes_.size(); ++c)
      for (size_t j = 0; j < x.cols; ++j) centroids_(c, j) /= count[c];
  }

  Matrix predict_proba(const Matrix& x) const override {
    DYNFAULT_CHECK(!classes_.empty(), name(), ": predict() before fit()");
    const Matrix q = scaler_.transform(x);
    Matrix proba(x.rows, classes_.size());
    for (size_t i = 0; i < q.rows; ++i) {
      size_t best = 0;
      double best_d = INFINITY;
      for (size_t c = 0; c < classes_.size(); ++c) {
        double d = 0;
        for (size_t j = 0; j < q.cols; ++j) d += std::pow(q(i, j) - centroids_(c, j), 2);
        if (d < best_d) {
          best = c;
          best_d = d;
        }
      }
      proba(i, best) = 1.0;
    }
    return proba;
  }

  Labels predict(const Matrix& x) const override {
    return argmax_labels(predict_proba(x), classes_);
  }
  const std::vector<std::string>& classes() const override { return classes_; }

  void save(std::ostream& out) const override {
    model_io::write_header(out, name(), /*version=*/1);
    model_io::write_strings(out, "classes", classes_);
    model_io::write_int(out, "dims", static_cast<int64_t>(centroids_.cols));
    scaler_.save(out);
    model_io::write_vector(out, "centroids", centroids_.data);
    out << "end\n";
  }

  void load(std::istream& in) override {
    model_io::read_header(in, name(), /*version=*/1);
    auto classes = model_io::read_strings(in, "classes", name());
    const int64_t d = model_io::read_int(in, "dims", name());
    DYNFAULT_CHECK(!classes.empty() && d >= 0, name(), "::load(): bad header");
    Scaler scaler;
    scaler.load(in, static_cast<size_t>(d), name());
    Matrix centroids(classes.size(), static_cast<size_t>(d));
    centroids.data = model_io::read_vector(in, "centroids", centroids.data.size(), name());
    model_io::read_end(in, name());
    classes_ = std::move(classes);
    scaler_ = std::move(scaler);
    centroids_ = std::move(centroids);
  }

 private:
  ExampleNearestCentroidOptions options_;
  std::vector<std::string> classes_;
  Scaler scaler_;
  Matrix centroids_;
};

}  // namespace

// Each option once: name, range, help, field (configs/diagnosers.yaml may then set it).
DYNFAULT_REGISTER(
    diagnoser_registry(), "example_nearest_centroid",
    diagnoser_entry<ExampleNearestCentroid>(OptionSchema<ExampleNearestCentroidOptions>().real(
        "clip_quantile", 0, 0.49, "winsorise each column to [q, 1 - q] first",
        DYNFAULT_OPTION_FIELD(clip_quantile))));
// docs:end custom-diagnoser

}  // namespace dynfault::diagnosis

using namespace dynfault;

TEST_SUITE("diagnosis") {
  TEST_CASE("A diagnoser defined only in a test file is registered and evaluated") {
    const auto names = diagnosis::diagnoser_names();
    CHECK(std::find(names.begin(), names.end(), "example_nearest_centroid") != names.end());

    db::Store store = testing::corpus(/*programs=*/4, /*per=*/10);
    const auto report = diagnosis::evaluate(store, diagnosis::EvaluateOptions()
                                                       .feature_sets({"curves"})
                                                       .diagnosers({"example_nearest_centroid"})
                                                       .bootstrap(20)
                                                       .paired(false)
                                                       .label_rule(false)
                                                       .program_structure(false));
    REQUIRE(report.tasks.size() == 1);
    REQUIRE(report.tasks[0].results.size() == 1);
    const auto& r = report.tasks[0].results[0];
    CHECK(r.diagnoser == "example_nearest_centroid");
    // The corpus separates its two fault classes by the loss curve's shape.
    REQUIRE(r.rungs.size() == 2);
    CHECK(r.rungs[0].balanced_accuracy.value > 0.8);
    CHECK(std::isfinite(r.rungs[1].balanced_accuracy.value));
  }

  TEST_CASE("A diagnoser defined in a test file takes its declared options from a config file") {
    const auto file = diagnosis::parse_diagnoser_config(
        "diagnosers:\n  example_nearest_centroid:\n    clip_quantile: 0.2\n", "d.yaml");
    CHECK(diagnosis::options_json("example_nearest_centroid", file.diagnosers) ==
          R"({"clip_quantile":0.2})");
    CHECK(diagnosis::options_json("example_nearest_centroid", {}) == R"({"clip_quantile":0.0})");
    CHECK_THROWS_WITH_AS(
        diagnosis::parse_diagnoser_config(
            "diagnosers:\n  example_nearest_centroid:\n    clip_quantile: 0.7\n", "d.yaml"),
        doctest::Contains("d.yaml:3"), ConfigError);
  }
}
