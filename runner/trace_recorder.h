#pragma once
/// Recording a user's own LibTorch training loop into a dynfault database (docs/recorder.md).
///
/// The loop stays the user's; the recorder is told what happened and writes the same metric keys
/// as the campaign trainer (db/trace.h) into one run row, so that `dynfault labels`, `dynfault
/// features` and `dynfault evaluate` treat the trace like any planned run:
///
///   dynfault::TraceRecorder rec("traces.db", "my_mlp", options);
///   rec.watch(model, optimizer);               // optional: gradient/weight/optimizer probes
///   for (epoch ...) {
///     for (batch ...) { ...; loss.backward(); optimizer.step(); rec.on_step(loss); }
///     rec.on_epoch(epoch, train_loss, train_acc, val_loss, val_acc);
///   }
///   rec.on_test(test_loss, test_acc);          // optional: final/test_*
///   rec.finish();                              // one transaction; returns the run id
///
/// Keys written: train/loss (every on_step, step = global 0-based step), epoch/{train_loss,
/// train_metric,val_loss,val_metric} (step = epoch), epoch/lr (first param group of the watched
/// optimizer, read at on_epoch), time/step_ms, and with watch(): grad/..., weight/... (with update
/// ratios), opt/... at the cadences of ProbeOptions (runner/probe_options.h), via the trainer's own
/// probe functions (runner/probes.h). Activation and curvature probes need dynfault's model builder
/// and the loss function, so the recorder never records them (their cadences are ignored).
///
/// Differences from the trainer, by construction: gradients are read when on_step or on_epoch is
/// called, i.e. after optimizer.step() and after any clipping the loop does (the trainer reads
/// them before clipping); the step time is the wall time between consecutive recorder calls
/// (data loading included, probe work excluded).
///
/// Crash safety: everything is kept in memory until finish() or fail(), which write the
/// campaign, program and run rows and the whole trace in one transaction. A recorder destroyed
/// without either writes nothing (a loop that throws should catch and call
/// finish("exception", what) to keep its partial trace).
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "runner/trainer.h"

namespace dynfault {

using runner::Cadence;
using runner::ProbeOptions;

/// What the run row says about the recorded program; all optional.
struct RecorderOptions {
  /// Names this recording within (campaign, program): recording again under the same name (and
  /// the same spec fields below) replaces the earlier trace. "" = a fresh name per recording.
  std::string run_name;
  /// Campaign the run belongs to; `dynfault labels/features --campaign` select it.
  std::string campaign = "recorded";
  std::string family = "mlp";       ///< mlp, cnn, rnn, autoencoder (mismatch thresholds)
  std::string task = "multiclass";  ///< multiclass, binary, regression
  /// Classes of a multiclass task: the chance level of the killing test (0 = unknown).
  int64_t num_classes = 0;
  /// Planned epochs (0 = unknown): caps probe cadences to probes.max_points and lets the epoch
  /// cadences know the last epoch in advance (finish() records a missed last epoch anyway).
  int64_t epochs = 0;
  int64_t seed = 0;  ///< the seed the loop used (part of the run id)
  /// Faults the user injected on purpose, as the planner writes them: a JSON array of
  /// {"mutator": id, "category": c, ...}; "[]" = a clean run. Fault-type labels read it.
  std::string faults_json = "[]";
  std::string dataset;  ///< programs row: data set name
  std::string source;   ///< programs row: where the program comes from
  ProbeOptions probes;  ///< cadences of the grad/weight/opt/time families
};

class TraceRecorder {
 public:
  /// Opens (creating if missing) the dynfault database at `db_path`; throws db::DbError for a
  /// file that is not a dynfault database, dynfault::Error for invalid options.
  TraceRecorder(const std::string& db_path, const std::string& program,
                RecorderOptions options = {});
  TraceRecorder(const std::string& db_path, const std::string& program, const ProbeOptions& probes);
  ~TraceRecorder();
  TraceRecorder(TraceRecorder&&) noexcept;
  TraceRecorder& operator=(TraceRecorder&&) noexcept;
  TraceRecorder(const TraceRecorder&) = delete;
  TraceRecorder& operator=(const TraceRecorder&) = delete;

  /// Enables the gradient, weight and optimizer probes on `model`'s named parameters (the names
  /// used in the keys). Both must stay alive until finish(); `optimizer` may be null (then no
  /// opt/... and no epoch/lr). Call before the first on_step.
  void watch(torch::nn::Module& model, torch::optim::Optimizer* optimizer = nullptr);
  void watch(torch::nn::Module& model, torch::optim::Optimizer& optimizer) {
    watch(model, &optimizer);
  }

  /// One optimizer step done (call after optimizer.step()): records train/loss and the
  /// step-cadence probes. A NaN/Inf loss marks the run nan_loss, a loss above min(1e5, 1e3 x
  /// max(|first loss|, 1)) diverged (the trainer's rules, runner/outcome.h): should_stop() then
  /// turns true.
  void on_step(double loss);
  void on_step(const torch::Tensor& loss);  ///< loss.item<double>() (a scalar tensor)

  /// End of `epoch` (0-based, increasing): the epoch curves and the epoch-cadence probes.
  /// Without validation leave val_loss/val_metric out (std::nullopt); NaN and Inf are data.
  void on_epoch(int64_t epoch, double train_loss, double train_metric,
                std::optional<double> val_loss = std::nullopt,
                std::optional<double> val_metric = std::nullopt);

  /// final/test_loss and final/test_metric (at step = last epoch).
  void on_test(double test_loss, double test_metric);

  /// True once a step's loss was non-finite or diverged (the trainer stops there).
  bool should_stop() const;
  /// nan_loss, diverged or completed, as detected so far.
  std::string detected_outcome() const;
  /// The run id (32 hex characters) the trace is stored under.
  const std::string& run_uuid() const;
  int64_t steps() const;  ///< on_step calls so far

  /// Writes the run as FINISHED with `outcome` ("" = detected_outcome(); else completed,
  /// nan_loss, diverged, exception, timeout) and `error`, in one transaction. Returns the run
  /// id. The recorder accepts no further calls.
  std::string finish(const std::string& outcome = "", const std::string& error = "");
  /// Writes the run as FAILED (outcome exception, nothing usable) with `error`.
  std::string fail(const std::string& error);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dynfault
