#include "runner/outcome.h"

#include <algorithm>
#include <cmath>

namespace dynfault::runner {

std::string LossWatch::terminal(double loss) {
  if (!std::isfinite(loss)) return "nan_loss";
  if (std::isnan(initial_)) initial_ = loss;
  const double limit = std::min(kDivergeAbs, kDivergeRel * std::max(std::abs(initial_), 1.0));
  return std::abs(loss) > limit ? "diverged" : "";
}

bool past_timeout(double timeout_s, double elapsed_ms, double probe_ms) {
  return timeout_s > 0 && elapsed_ms - probe_ms > timeout_s * 1000.0;
}

bool is_outcome(const std::string& o) {
  return o == "completed" || o == "nan_loss" || o == "diverged" || o == "exception" ||
         o == "timeout";
}

}  // namespace dynfault::runner
