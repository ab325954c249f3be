#pragma once
/// The probes of one training run (runner/trainer.cpp drives them): what the cadences of
/// ProbeOptions ask at each point of training, on one probe batch fixed per run. Torch header,
/// internal to the runner.
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "programs/recipe.h"
#include "runner/model_builder.h"
#include "runner/probes.h"
#include "runner/trainer.h"

namespace dynfault::runner {

/// None of the probes changes what training computes (see ProbeOptions). A probe that throws (an
/// operation without a double backward in a custom model, say) is counted in `probe/failures` and
/// skipped: observing must never change a run's outcome.
class RunProbes {
 public:
  RunProbes(const ProbeOptions& o, NetImpl& net, std::vector<probes::NamedParam>& params,
            probes::Recorder& rec, uint64_t seed, const TrainOptions& options);

  /// Chooses the probe batch once per run: the first probe_batch samples of a permutation drawn
  /// from the probe generator (not the training's shuffling generator).
  void choose_batch(const torch::Tensor& x, const torch::Tensor& y, uint64_t seed);

  /// Gradient statistics at `at` (after backward, before clipping and the optimizer step).
  void gradients(int64_t at) {
    guarded([&] { probes::record_gradients(params_, rec_, at, unix_ms()); });
  }

  /// Parameter copies before the optimizer step whose update ratio is recorded.
  void snapshot() { before_ = probes::snapshot(params_); }
  void update_ratios(int64_t at) {
    guarded([&] { probes::record_update_ratios(params_, before_, rec_, at, unix_ms()); });
    before_.clear();
  }

  /// The state probes a point of training asks for: weights, activations, optimizer.
  void state(bool weights, bool acts, bool opt, int64_t at,
             const torch::optim::Optimizer& optimizer);

  /// A curvature reading recorded under `at`, taken after `updates` optimizer updates; a second
  /// reading under the same index (a run that stops right after an early reading) is skipped:
  /// the parameters have not moved since.
  void curvature(int64_t at, int64_t updates, const programs::Recipe& r, int64_t num_classes,
                 const torch::optim::Optimizer& optimizer,
                 const std::vector<torch::Tensor>& penalised) {
    if (!x_.defined() || at == last_curvature_) return;
    last_curvature_ = at;
    guarded([&] { measure_curvature(at, updates, r, num_classes, optimizer, penalised); });
  }

  int64_t failures() const { return failures_; }

 private:
  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception&) {  // c10::Error derives from std::exception
      ++failures_;
    }
  }

  /// Curvature of the objective the optimizer minimises (loss, L1/L2 penalty, a flipped sign
  /// included) on the first curvature_batch probe samples, in the mode ProbeOptions asks for
  /// (train: the mode the training steps run in, which a training-loop fault may have left at
  /// eval), and the stability ratio of the optimizer's next update.
  void measure_curvature(int64_t at, int64_t updates, const programs::Recipe& r,
                         int64_t num_classes, const torch::optim::Optimizer& optimizer,
                         const std::vector<torch::Tensor>& penalised);

  const ProbeOptions& o_;
  NetImpl& net_;
  std::vector<probes::NamedParam>& params_;
  probes::Recorder& rec_;
  const TrainOptions& options_;
  probes::ActivationProbe acts_;
  probes::CurvatureProbe curvature_;
  torch::Tensor x_, y_;
  std::vector<torch::Tensor> before_;
  int64_t last_curvature_ = -1;
  int64_t failures_ = 0;
};

}  // namespace dynfault::runner
