#pragma once
/// Named feature sets: pure, NaN-safe functions of a stored trace with a fixed list of column
/// names (the same columns for every trace, empty ones included; a missing value is NaN).
///
/// Adding a set = one .cpp that defines `FeatureSet make_<name>_feature_set()` and ends with
/// `DYNFAULT_REGISTER(feature_set_registry(), "<name>", make_<name>_feature_set);`
/// (common/registry.h), its line in features/CMakeLists.txt, and its test; the registry contract
/// test (tests/features/test_feature_set.cpp) then covers it. Tests and plug-ins may also add
/// sets at run time with `register_feature_set`.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/registry.h"
#include "db/trace.h"
#include "features/horizon.h"
#include "features/label_inputs.h"

namespace dynfault::db {
class Store;
}  // namespace dynfault::db

namespace dynfault::features {

/// What one column reads, as key patterns of db/trace.h (db::metric_key_patterns(), e.g.
/// "grad/global_norm", "grad/<p>/norm"). Every entry of `needs` is required; an entry may name
/// alternatives separated by '|' ("grad/first_norm|grad/<p>/norm": either will do). A column
/// one of whose needs has no alternative in the trace is missing: FeatureSet::values() makes it
/// NaN, whatever the set's function computed (an absent probe never reads as a healthy 0).
/// `reads` lists the series the column also reads when they are there but can do without
/// (grad/nonfinite suspends DeepFD's other gradient flags at its epoch). A column with no needs
/// reads run facts only (the outcome). The contract test (tests/features/test_feature_set.cpp)
/// checks the declarations: removing a series a column neither needs nor reads leaves it
/// unchanged, removing a need makes it NaN.
struct ColumnInputs {
  std::vector<std::string> needs;
  std::vector<std::string> reads;
};

/// True when `trace` holds a series matching `pattern` (a key pattern of db/trace.h).
bool has_series_matching(const db::Trace& trace, const std::string& pattern);

/// Columns missing for want of one input: "add `input` to get these `columns`".
struct MissingInput {
  /// The needs entries absent from the trace, joined by " and " (alternatives shown as
  /// "a or b"), e.g. "grad/first_last_ratio" or "epoch/lr and opt/eff_step_mean".
  std::string input;
  std::vector<std::string> columns;  ///< in column order
};

/// One trace's features: `values[i]` is the feature called `names[i]`.
struct FeatureVector {
  std::vector<std::string> names;
  std::vector<double> values;
};

/// A named feature set.
class FeatureSet {
 public:
  using Compute = std::function<std::vector<double>(const db::Trace&)>;

  /// @param name         registry name (snake_case, no '+')
  /// @param description  one sentence for `--list-feature-sets`
  /// @param names        the fixed column names, unique
  /// @param compute      pure function returning exactly names.size() values
  /// @param label_inputs per column, the label inputs it restates (label_inputs.h); empty =
  ///                     none restates anything, else exactly names.size() entries
  FeatureSet(std::string name, std::string description, std::vector<std::string> names,
             Compute compute, std::vector<LabelInputs> label_inputs = {});

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  const std::vector<std::string>& names() const { return names_; }
  /// Per column (names() order), the label inputs the column restates.
  const std::vector<LabelInputs>& label_inputs() const { return label_inputs_; }
  /// The columns that restate any of `task_inputs` (task_label_inputs(task)), in column order:
  /// the ones the evaluation drops for that task.
  std::vector<std::string> restating_columns(LabelInputs task_inputs) const;

  /// Per column (names() order), what it reads; empty when the set declares nothing (a plug-in
  /// may; every built-in set declares every column).
  const std::vector<ColumnInputs>& inputs() const { return inputs_; }
  /// Declares what each column reads (exactly names().size() entries; checked).
  void declare_inputs(std::vector<ColumnInputs> inputs);
  /// The columns whose needs `trace` lacks, grouped by the absent input, largest group first
  /// (ties in column order). Empty for a set that declares nothing.
  std::vector<MissingInput> missing_inputs(const db::Trace& trace) const;

  /// The features of `trace`, NaN for every column whose needs the trace lacks. Throws
  /// dynfault::Error if the function broke its column count.
  FeatureVector compute(const db::Trace& trace) const;
  /// Values only, in names() order.
  std::vector<double> values(const db::Trace& trace) const;

 private:
  std::string name_;
  std::string description_;
  std::vector<std::string> names_;
  Compute compute_;
  std::vector<LabelInputs> label_inputs_;
  std::vector<ColumnInputs> inputs_;
  /// Per column, indexes into needs_alternatives_ of each need entry's alternatives.
  std::vector<std::vector<std::vector<size_t>>> need_index_;
  std::vector<std::string> needs_alternatives_;  ///< every distinct alternative pattern
};

/// Named values collected in order. A set written as a fill function gets its column list, and
/// the label inputs each column restates, by running that function on an empty trace
/// (make_row_feature_set), so names, declarations and values cannot drift apart (prior work's
/// defect #1); fill functions must add the same names for every trace.
///
/// A fill function declares what its columns read by calling `reads_from` before adding them:
/// every column added afterwards carries those inputs (ColumnInputs) until the next call.
struct FeatureRow {
  std::vector<std::string> names;
  std::vector<double> values;
  std::vector<LabelInputs> label_inputs;
  /// Per column, what it reads; filled only while `declaring` (make_row_feature_set's run on
  /// an empty trace), so that computing features copies no declarations.
  std::vector<ColumnInputs> inputs;
  bool declaring = false;
  ColumnInputs current;  ///< what the next add()ed columns read (while declaring)
  /// The inputs of the columns added from now on (see ColumnInputs).
  void reads_from(std::initializer_list<const char*> needs,
                  std::initializer_list<const char*> reads = {}) {
    if (!declaring) return;
    current = ColumnInputs{{needs.begin(), needs.end()}, {reads.begin(), reads.end()}};
  }
  void reads_from(const ColumnInputs& in) {
    if (declaring) current = in;
  }
  /// @param restates the label inputs this column restates (label_inputs.h), if any
  void add(std::string name, double value, LabelInputs restates = kInputNone) {
    names.push_back(std::move(name));
    values.push_back(value);
    label_inputs.push_back(restates);
    if (declaring) inputs.push_back(current);
  }
};

/// A FeatureSet from a fill function (see FeatureRow); the column list is fixed at construction.
FeatureSet make_row_feature_set(std::string name, std::string description,
                                void (*fill)(const db::Trace&, FeatureRow&));

/// Builds a registered set (its column list is fixed when it is built).
using FeatureSetFactory = std::function<FeatureSet()>;
/// Every registered feature set by name.
Registry<FeatureSetFactory>& feature_set_registry();

/// Names of the registered sets, sorted.
std::vector<std::string> feature_set_names();

/// The set called `spec`: a registered name, or a union of registered names joined by '+'
/// ("deepfd+curves": columns of each part in order, with their label-input declarations; a
/// column name used twice is an error).
/// Throws dynfault::Error naming the unknown part and listing the known sets.
FeatureSet feature_set(const std::string& spec);

/// Parts of a union spec ("deepfd+curves" -> {"deepfd", "curves"}).
std::vector<std::string> split_feature_set_spec(const std::string& spec);

/// Adds an already built set to the registry (tests, plug-ins); throws on a duplicate name or
/// one containing '+'. Thread-safe.
void register_feature_set(FeatureSet set);

/// The sets `dynfault features` extracts and `dynfault evaluate` compares when none are named:
/// the built-in ones, in the order reports list them.
std::vector<std::string> default_feature_sets();

/// Options of extract_features.
///
/// Example:
///   extract_features(store, ExtractOptions().feature_sets({"deepfd", "curves"}).threads(2));
struct ExtractOptions {
  DYNFAULT_ARG(std::string, campaign) = "";  ///< "" = every campaign
  /// Sets (or unions) to compute; each is stored as one FeatureTable under its spec name.
  DYNFAULT_ARG(std::vector<std::string>, feature_sets) = default_feature_sets();
  DYNFAULT_ARG(int, threads) = 1;           ///< OpenMP threads across traces
  DYNFAULT_ARG(int64_t, chunk_size) = 256;  ///< traces held in memory at once
  /// Where traces are cut (horizon.h). Short of full, each set is stored as `<set>@<suffix>`
  /// with the runs alive at the cut only, and the `instability_ahead@<suffix>` labels are
  /// stored with them (derived with `thresholds_path`).
  DYNFAULT_ARG(Horizon, horizon) = Horizon{};
  DYNFAULT_ARG(std::string, thresholds_path) = "configs/thresholds.yaml";
};

/// What extract_features stored: feature set -> (rows, columns).
struct ExtractReport {
  int64_t traces = 0;
  int64_t alive = 0;    ///< traces alive at the cut (= traces at a full horizon)
  int64_t bounded = 0;  ///< alive traces whose steps per epoch were bounded, not known
  /// instability_ahead@<suffix> per class ("" = excluded); empty at a full horizon.
  std::map<std::string, int64_t> ahead;
  std::map<std::string, std::pair<int64_t, int64_t>> tables;
};

/// Computes the requested feature sets for every FINISHED trace of `options.campaign`
/// (OpenMP across traces; the result does not depend on the thread count) and replaces each
/// set's stored table (`Store::write_features`). Unknown set names, and a horizon where no run
/// is alive, throw before anything is written.
ExtractReport extract_features(db::Store& store, const ExtractOptions& options);

}  // namespace dynfault::features
