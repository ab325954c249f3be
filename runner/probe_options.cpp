#include "runner/probe_options.h"

#include <algorithm>
#include <utility>

#include "common/check.h"
#include "programs/recipe.h"

namespace dynfault::runner {

std::string Cadence::str() const {
  switch (unit) {
    case Unit::kOff:
      return "off";
    case Unit::kSteps:
      return every == 1 ? "every_step" : "every_k_steps: " + std::to_string(every);
    case Unit::kEpochs:
      return every == 1 ? "every_epoch" : "every_k_epochs: " + std::to_string(every);
  }
  return "off";
}

ProbeOptions ProbeOptions::none() {
  ProbeOptions o;
  o.gradients = o.weights = o.activations = o.optimizer = o.curvature = o.timing = Cadence::off();
  return o;
}

ProbeOptions ProbeOptions::all() {
  ProbeOptions o;
  o.gradients = o.weights = o.activations = o.optimizer = o.curvature = Cadence::every_epoch();
  o.timing = Cadence::every_step();
  return o;
}

void ProbeOptions::validate() const {
  const std::pair<const char*, const Cadence*> cadences[] = {
      {"gradients", &gradients}, {"weights", &weights},     {"activations", &activations},
      {"optimizer", &optimizer}, {"curvature", &curvature}, {"timing", &timing}};
  for (const auto& [name, c] : cadences)
    DYNFAULT_CHECK(c->every >= 1, "probes: ", name, ": k must be >= 1, got ", c->every);
  DYNFAULT_CHECK(probe_batch >= 1, "probes: probe_batch must be >= 1, got ", probe_batch);
  DYNFAULT_CHECK(curvature_batch >= 1, "probes: curvature_batch must be >= 1, got ",
                 curvature_batch);
  DYNFAULT_CHECK(curvature_iterations >= 2, "probes: curvature k must be >= 2, got ",
                 curvature_iterations);
  DYNFAULT_CHECK(curvature_tol >= 0, "probes: curvature_tol must be >= 0, got ", curvature_tol);
  DYNFAULT_CHECK(hutchinson_samples >= 1, "probes: hutchinson_samples must be >= 1, got ",
                 hutchinson_samples);
  DYNFAULT_CHECK(max_points >= 0, "probes: max_points must be >= 0, got ", max_points);
  DYNFAULT_CHECK(curvature_max_points >= -1, "probes: curvature max_points must be >= 0, got ",
                 curvature_max_points);
  DYNFAULT_CHECK(!curvature_early_steps || curvature.counts_epochs(),
                 "probes: curvature early_steps needs an epoch cadence, got ", curvature.str());
}

std::vector<int64_t> ProbeOptions::early_curvature_steps(int64_t steps_per_epoch,
                                                         int64_t steps) const {
  std::vector<int64_t> all;
  if (!curvature_early_steps || curvature.is_off()) return all;
  const int64_t end = std::min(steps_per_epoch, steps);
  for (int64_t s = 0; s < end; s = s == 0 ? 1 : 2 * s) all.push_back(s);
  const int64_t cap = curvature_cap();
  const auto most = static_cast<size_t>(cap > 0 ? std::max<int64_t>(1, cap / 2) : 0);
  if (most == 0 || all.size() <= most) return all;
  // Keep 0 and spread the rest evenly over the exponents 0 .. J of 1 .. 2^J.
  std::vector<int64_t> out{0};
  const size_t powers = all.size() - 1, keep = most - 1;
  for (size_t i = 0; i < keep; ++i) {
    const size_t e =
        keep == 1 ? (powers - 1) / 2 : (i * (powers - 1) + (keep - 1) / 2) / (keep - 1);
    if (all[e + 1] > out.back()) out.push_back(all[e + 1]);
  }
  return out;
}

ProbeOptions ProbeOptions::for_run(int64_t epochs, int64_t steps, int64_t steps_per_epoch) const {
  ProbeOptions o = *this;
  for (Cadence* c : {&o.gradients, &o.weights, &o.activations, &o.optimizer, &o.timing})
    *c = c->capped(epochs, steps, max_points);
  // The early readings take their share of the curvature family's points first; the epoch
  // readings keep the rest, the last epoch included (a reading costs tens of steps).
  const auto early = static_cast<int64_t>(early_curvature_steps(steps_per_epoch, steps).size());
  const int64_t cap = curvature_cap();
  o.curvature =
      curvature.capped_strict(epochs, steps, cap > 0 ? std::max<int64_t>(1, cap - early) : 0);
  return o;
}

std::string ProbeOptions::to_json() const {
  const programs::Json j = {
      {"gradients", gradients.str()},
      {"weights", weights.str()},
      {"activations", activations.str()},
      {"optimizer", optimizer.str()},
      {"curvature", curvature.str()},
      {"timing", timing.str()},
      {"probe_batch", probe_batch},
      {"curvature_batch", curvature_batch},
      {"curvature_iterations", curvature_iterations},
      {"curvature_tol", curvature_tol},
      {"curvature_method", curvature_method == CurvatureMethod::kPower ? "power" : "lanczos"},
      {"curvature_mode", curvature_mode == CurvatureMode::kTrain ? "train" : "eval"},
      {"curvature_early_steps", curvature_early_steps ? "log" : "off"},
      {"curvature_max_points", curvature_max_points},
      {"hutchinson_samples", hutchinson_samples},
      {"seed", seed},
      {"max_points", max_points}};
  return j.dump();
}

bool ProbeOptions::operator==(const ProbeOptions& o) const { return to_json() == o.to_json(); }

}  // namespace dynfault::runner
