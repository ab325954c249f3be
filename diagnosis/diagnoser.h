#pragma once
/// One interface for every learner (STYLE.md section 15): the constructor yields a usable,
/// unfitted object; `fit` learns from a feature matrix and labels; `predict` and
/// `predict_proba` never refit. Diagnosers are found by name in a registry.
///
/// A new diagnoser = one .cpp (with its header when others use the class) ending with
/// `DYNFAULT_REGISTER(diagnoser_registry(), "<name>", diagnoser_entry<X>(schema));` (its options
/// declared once, diagnoser_options.h) or, without options, with a factory
/// `[] { return std::make_unique<X>(); }` (common/registry.h), its line in
/// diagnosis/CMakeLists.txt, and its test; the registry contract test
/// (tests/diagnosis/test_diagnosers.cpp) then covers it.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/registry.h"
#include "diagnosis/diagnoser_options.h"
#include "diagnosis/metrics.h"

namespace dynfault::diagnosis {

/// Dense row-major matrix of doubles (features: rows = traces, columns = features; NaN/Inf
/// allowed, diagnosers impute).
struct Matrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<double> data;  ///< rows * cols, row-major
  /// Column names (optional: empty, or one per column). Learners ignore them; rule-based
  /// diagnosers find their inputs by name.
  std::vector<std::string> names;

  Matrix() = default;
  Matrix(size_t r, size_t c, double fill = 0.0) : rows(r), cols(c), data(r * c, fill) {}
  double& operator()(size_t r, size_t c) { return data[r * cols + c]; }
  double operator()(size_t r, size_t c) const { return data[r * cols + c]; }
  const double* row(size_t r) const { return data.data() + r * cols; }
  double* row(size_t r) { return data.data() + r * cols; }
  /// The given rows, in the given order (names kept).
  Matrix take_rows(const std::vector<size_t>& idx) const;
  /// The values column by column (cols x rows): for statistics that scan one column at a time,
  /// where strided reads of the row-major data would touch a cache line per value.
  std::vector<double> column_major() const;
};

/// What the evaluation sets on every learner before fitting it; a learner ignores what it has no
/// use for.
struct LearnerSettings {
  uint64_t seed = 0;   ///< bootstrap samples, feature sampling, initialisation and batch order
  int max_bins = 255;  ///< histogram bins per column of the tree learners (2..255)
};

/// A classifier of traces.
class Diagnoser {
 public:
  virtual ~Diagnoser() = default;

  /// Learns from `x` (n x d) and `y` (n labels, none empty). Refitting replaces the model.
  virtual void fit(const Matrix& x, const Labels& y) = 0;
  /// One label per row of `x`; throws if not fitted or the column count differs.
  virtual Labels predict(const Matrix& x) const = 0;
  /// n x classes().size() probabilities, columns in classes() order.
  virtual Matrix predict_proba(const Matrix& x) const = 0;
  /// The classes seen in fit(), sorted.
  virtual const std::vector<std::string>& classes() const = 0;
  /// Registry name, e.g. "logistic_regression".
  virtual std::string name() const = 0;
  /// Applies `settings` (a learner seed, the tree learners' bin count) to the next fit();
  /// throws for a value the learner cannot use. The default ignores them.
  virtual void configure(const LearnerSettings& settings) { (void)settings; }
  /// True when fit() depends on LearnerSettings::seed (the evaluation then fits once per learner
  /// seed; otherwise once).
  virtual bool seeded() const { return false; }
  /// The feature set this diagnoser is defined on ("" = any). A named baseline (`deepfd`,
  /// `default_rf`) or a rule set reading named columns is evaluated on its own set only.
  virtual std::string feature_set() const { return ""; }
  /// Writes the fitted model as text (first line: the name); load() on a fresh object of the
  /// same type restores it exactly (same predictions bit for bit).
  virtual void save(std::ostream& out) const = 0;
  virtual void load(std::istream& in) = 0;
};

// --- helpers shared by the implementations -----------------------------------------------------

/// Checks a training set (rows == labels > 0, no empty label, well-formed matrix) and returns its
/// sorted classes; errors name `who`.
std::vector<std::string> training_classes(const Matrix& x, const Labels& y, const std::string& who);

/// Labels as indices into sorted `classes`; throws for a label outside them.
std::vector<size_t> encode_labels(const Labels& y, const std::vector<std::string>& classes);

/// Row-wise arg max of a probability matrix (ties go to the first class in sorted order).
Labels argmax_labels(const Matrix& proba, const std::vector<std::string>& classes);

/// A registered diagnoser: its declared options and how to make it from their values.
struct DiagnoserEntry {
  /// Makes a fresh, unfitted diagnoser from complete, checked option values (resolve_options).
  using Make = std::function<std::unique_ptr<Diagnoser>(const OptionValues&)>;

  std::vector<OptionSpec> options;  ///< declared options, with their defaults
  Make make;

  DiagnoserEntry(std::vector<OptionSpec> declared, Make maker)
      : options(std::move(declared)), make(std::move(maker)) {}
  /// A diagnoser without options, from a factory taking nothing.
  template <typename F, typename = std::enable_if_t<std::is_invocable_v<const F&>>>
  DiagnoserEntry(F factory)  // NOLINT(google-explicit-constructor): registration reads as before
      : make([factory](const OptionValues&) -> std::unique_ptr<Diagnoser> { return factory(); }) {}
};

/// The entry of diagnoser `D`, constructed from the options struct `schema` builds.
///
/// Example:
///   DYNFAULT_REGISTER(diagnoser_registry(), "knn", diagnoser_entry<Knn>(knn_options()));
template <typename D, typename O>
DiagnoserEntry diagnoser_entry(OptionSchema<O> schema) {
  std::vector<OptionSpec> specs = schema.specs();
  return DiagnoserEntry(std::move(specs), [schema = std::move(schema)](const OptionValues& v) {
    return std::unique_ptr<Diagnoser>(std::make_unique<D>(schema.build(v)));
  });
}

/// Every registered diagnoser by name.
Registry<DiagnoserEntry>& diagnoser_registry();

/// Names of the registered diagnosers, sorted.
std::vector<std::string> diagnoser_names();

/// The declared options of diagnoser `name` (throws for an unknown name).
const std::vector<OptionSpec>& diagnoser_options(const std::string& name);

/// Every declared option of `name` with its value: the declared default unless `values` sets it.
/// Throws dynfault::Error for an unknown diagnoser or option (naming the closest and the known
/// ones) and for a value of the wrong type or out of range.
OptionValues resolve_options(const std::string& name, const OptionValues& values);

/// A fresh, unfitted diagnoser with default options; throws dynfault::Error naming the closest
/// and listing the known names for an unknown one.
std::unique_ptr<Diagnoser> make_diagnoser(const std::string& name);
/// A fresh, unfitted diagnoser with the options `config` sets for `name` (defaults for the rest).
std::unique_ptr<Diagnoser> make_diagnoser(const std::string& name, const DiagnoserConfig& config);

/// The resolved options of `name` under `config` as a JSON object text ({} for none), as stored
/// with evaluations and trained models.
std::string options_json(const std::string& name, const DiagnoserConfig& config);

/// Reads a model written by Diagnoser::save (dispatches on its first line).
std::unique_ptr<Diagnoser> load_diagnoser(std::istream& in);

}  // namespace dynfault::diagnosis
