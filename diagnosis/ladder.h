#pragma once
/// The protocol ladder: each rung holds out more of what a diagnoser has seen (DESIGN.md,
/// "Beyond the two protocols").
///
///   random   stratified k-fold over traces: the same configurations, faults and programs on
///            both sides (the paper's "within")
///   config   configuration held out: all seeds of a fault configuration (program x injected
///            faults) in one fold, group k-fold
///   value    fault value held out: leave one injected fault (operator with its parameters, on
///            every program) out; the class stays seen through the operator's other values
///   fault    fault held out: leave one operator out (a clean run, which has no operator, goes
///            with its program's clean configuration). A class injected by one operator only
///            is then never in training: its recall on this rung is 0 by construction, and
///            RungInfo counts such test traces
///   program  program held out: leave one program out (the paper's "held-out")
///   dataset  data set held out: programs that train on one data set together
///
/// A rung is a named split generator over the traces' groups: the rung names which grouping may
/// never cross a fold, and the folds are a deterministic function of (labels, groups, fold
/// counts, seed). New rungs (issue 20 crosses them with horizons) are one entry in ladder.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include "diagnosis/metrics.h"
#include "diagnosis/splits.h"

namespace dynfault::db {
struct RunSpec;
}  // namespace dynfault::db

namespace dynfault::diagnosis {

/// What each trace belongs to, one entry per trace in every vector.
struct TraceGroups {
  std::vector<std::string> program;
  std::vector<std::string> configuration;  ///< program + canonical injected faults
  std::vector<std::string> value;    ///< injected operators with their parameters; clean: config
  std::vector<std::string> fault;    ///< operator ids joined by '+'; clean: configuration
  std::vector<std::string> dataset;  ///< the recipe's data loader (program when unknown)

  size_t size() const { return program.size(); }
  /// Appends the groups of one run (from its spec: program, faults_json, fault_ids, recipe).
  void add(const db::RunSpec& spec);
  /// The grouping called `name`: "program", "configuration", "value", "fault" or "dataset".
  const std::vector<std::string>& by(const std::string& name) const;
  /// Only the given traces, in that order.
  TraceGroups take(const std::vector<size_t>& idx) const;
};

/// Fold counts and seed shared by every rung.
struct RungOptions {
  int k = 5;        ///< folds of `random` and `config`
  int group_k = 0;  ///< folds of `fault`, `program`, `dataset`: 0 = leave one group out
  uint64_t seed = 0;
};

/// One rung of the ladder.
struct Rung {
  std::string name;      ///< random, config, value, fault, program, dataset
  std::string grouping;  ///< TraceGroups grouping kept on one side ("" for random)
  std::string unit;      ///< what the grouping counts, for messages ("programs", ...)
  bool leave_one_out;    ///< group_k = 0 means one fold per group (else k-fold by group)
};

/// The rungs, bottom to top.
const std::vector<Rung>& ladder_rungs();
/// Names of ladder_rungs(), in order.
std::vector<std::string> rung_names();
/// The rung called `name`; throws dynfault::Error naming it and the known rungs.
const Rung& rung(const std::string& name);

/// The folds of `r` over traces with labels `y` and groups `g`. Throws dynfault::Error naming the
/// rung when its grouping has fewer than 2 groups (nothing can be held out) or there are fewer
/// than 2 traces.
std::vector<Fold> rung_folds(const Rung& r, const Labels& y, const TraceGroups& g,
                             const RungOptions& options);

/// One line saying how `r` splits, e.g. "leave one program out (38 folds)".
std::string describe_rung(const Rung& r, const RungOptions& options, size_t folds);

/// Number of distinct groups of `r` among `g` (traces for random).
size_t rung_groups(const Rung& r, const TraceGroups& g);

/// Test traces of `folds` whose class has no training trace in their fold: predicted wrong
/// whatever the features (a class that only one held-out group carries).
int64_t unseen_class_traces(const std::vector<Fold>& folds, const Labels& y);

}  // namespace dynfault::diagnosis
