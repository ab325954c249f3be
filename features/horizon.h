#pragma once
/// Diagnosis horizons: a trace cut at a point of its training, so that features show what a
/// signal tells before the symptom does (DESIGN.md, "the ladder and the horizons").
///
/// Time is counted in optimizer steps taken (the step whose loss ended a run included). A record
/// is kept when it was taken by the cut:
///   step-indexed (train/loss; a probe family under a step cadence) at step s: taken at s + 1;
///   epoch-indexed (epoch/*; a family under an epoch cadence) at epoch e: taken at the end of that
///     epoch, min((e + 1) x S, N) with S steps per epoch and N the run's steps (a run that stops
///     mid-epoch records the partial epoch when it stops);
///   curvature under `early_steps: log` (indexed by the updates applied, u): taken at u;
///   run-level (final/*, probe/failures): dropped.
/// A horizon H (fraction of planned epochs E) cuts at H x E x S steps, `epochs` n at n x S,
/// `steps` n at n. A run is alive at the cut when it took more steps than the cut; the others
/// are out of the horizon's evaluation (nothing is left to foresee). An alive run's outcome is
/// not known yet: the cut trace says `running`. H = 1 is no cut at all: the trace as stored.
///
/// S comes from the run itself when it completed (N / epochs recorded), else from a completed
/// run of the same program, batch size and data; failing both, from bounds that never keep a
/// record taken after the cut (S >= N / epochs recorded, S <= (N - 1) / (epochs recorded - 1)).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "db/trace.h"

namespace dynfault::db {
class Store;
}  // namespace dynfault::db

namespace dynfault::features {

/// The outcome of a run still training at the cut.
inline constexpr const char* kOutcomeRunning = "running";

/// A point of training to cut traces at.
struct Horizon {
  enum class Unit { kFraction, kEpochs, kSteps };
  Unit unit = Unit::kFraction;
  double value = 1;  ///< fraction of planned epochs in (0, 1], or whole epochs / steps >= 1

  /// A fraction of planned epochs; throws dynfault::Error outside (0, 1].
  static Horizon fraction(double h);
  /// Whole epochs or steps; throws dynfault::Error below 1.
  static Horizon epochs(int64_t n);
  static Horizon steps(int64_t n);
  /// "0.25" (a fraction), "e3" (epochs) or "s100" (steps), as suffix() spells them; throws
  /// naming the text.
  static Horizon parse(const std::string& text);

  /// H = 1: the whole trace, untouched.
  bool is_full() const { return unit == Unit::kFraction && value == 1.0; }
  /// "" when full, else "h0.25", "e3", "s100": the suffix of stored tables and tasks.
  std::string suffix() const;
  /// "H = 0.25", "3 epochs", "100 steps".
  std::string describe() const;
};

/// `name` at `horizon`: `name` when full, else `name@<suffix>` (deepfd@h0.25, the stored table
/// of a feature set at that horizon; instability_ahead@h0.25, a task's labels there).
std::string at_horizon(const std::string& name, const Horizon& horizon);

/// Which families of a campaign count steps (`probes:` in its stored config; db/trace.h).
struct ProbeIndexing {
  bool gradients = false, weights = false, activations = false, optimizer = false, timing = false,
       curvature = false;          ///< true: indexed by global step
  bool curvature_updates = false;  ///< `early_steps: log`: curvature by updates applied

  /// From a campaign's config text (YAML; `probes:` read leniently, as the runner validated it
  /// when the campaign was planned). Throws dynfault::Error naming `name` for YAML it cannot
  /// read.
  static ProbeIndexing from_config(const std::string& yaml_text, const std::string& name);
};

/// What places one run's records in time.
struct RunClock {
  int64_t steps = 0;           ///< N: steps the run took
  int64_t planned_epochs = 0;  ///< E, from the recipe
  /// Bounds of S, steps per epoch (equal when known; hi = 0: unbounded).
  int64_t steps_per_epoch_lo = 0, steps_per_epoch_hi = 0;

  /// A run of `steps` steps and `planned` epochs with S known.
  static RunClock known(int64_t steps, int64_t planned, int64_t steps_per_epoch);
};

/// The trace cut at `horizon`, or nullopt when the run was not alive at the cut (or, for a
/// fraction, its planned epochs are unknown). A full horizon returns the trace unchanged.
std::optional<db::Trace> cut_trace(const db::Trace& trace, const Horizon& horizon,
                                   const RunClock& clock, const ProbeIndexing& indexing);

/// Cuts the traces of one store: every FINISHED run's clock (db/extents.h) and its campaign's
/// indexing, read once.
class HorizonCutter {
 public:
  /// For the runs of `campaign` ("" = all).
  HorizonCutter(db::Store& store, const std::string& campaign);
  /// cut_trace with this run's clock and indexing; throws for a run it does not know.
  std::optional<db::Trace> cut(const db::Trace& trace, const Horizon& horizon) const;
  /// Runs whose S was bounded rather than known (no completed sibling).
  int64_t bounded_runs() const { return bounded_; }

 private:
  std::unordered_map<std::string, RunClock> clocks_;
  std::unordered_map<std::string, std::string> campaign_of_;
  std::map<std::string, ProbeIndexing> indexing_;
  int64_t bounded_ = 0;
};

}  // namespace dynfault::features
