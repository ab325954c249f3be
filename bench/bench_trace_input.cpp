// Times what `dynfault diagnose --trace FILE.csv` does with its input, at growing lengths: the
// per-epoch CSV read into a trace, then every feature set computed on it. Linear work shows as a
// ratio near 4 between two lengths 4x apart; DeepFD's monitor, which rescanned the whole history
// at every epoch until 2026-12-05, showed about 16 (40,000 epochs took 30 s).
//
//   bench_trace_input [--max-rows N]     (default 640000; lengths 10k, 40k, 160k, ... up to N)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "features/feature_set.h"
#include "features/trace_csv.h"

using namespace dynfault;

namespace {

/// A per-epoch CSV of `rows` epochs: a noisy decaying loss, a rising oscillating accuracy, and a
/// gradient norm recorded every 7th epoch only (a sparse column, empty cells elsewhere).
std::string make_csv(int64_t rows) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.01);
  std::string csv = "# planned_epochs: " + std::to_string(rows) + "\n" +
                    "epoch,train_loss,train_metric,val_loss,val_metric,grad/global_norm\n";
  char line[256];
  for (int64_t e = 0; e < rows; ++e) {
    const double t = static_cast<double>(e) / static_cast<double>(rows);
    const double loss = 2.0 * std::exp(-5 * t) + 0.05 + noise(rng);
    const double acc = 0.9 - 0.8 * std::exp(-5 * t) + 0.03 * std::sin(e * 0.7) + noise(rng);
    int n = std::snprintf(line, sizeof line, "%lld,%.6g,%.6g,%.6g,%.6g,", static_cast<long long>(e),
                          loss, acc, loss * 1.1, acc - 0.02);
    if (e % 7 == 0) n += std::snprintf(line + n, sizeof line - n, "%.6g", 1.0 + t);
    line[n++] = '\n';
    csv.append(line, static_cast<size_t>(n));
  }
  return csv;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t max_rows = 640000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--max-rows") == 0) max_rows = std::atoll(argv[i + 1]);
  const std::vector<std::string> sets = features::feature_set_names();
  std::printf("%-10s %-12s %10s %14s %8s\n", "rows", "stage", "seconds", "us per row", "ratio");
  std::map<std::string, double> previous;  // stage -> seconds at the previous length
  for (int64_t rows = 10000; rows <= max_rows; rows *= 4) {
    const std::string csv = make_csv(rows);
    auto t0 = std::chrono::steady_clock::now();
    const db::Trace trace = features::parse_trace_csv(csv, "bench.csv");
    std::vector<std::pair<std::string, double>> stages = {{"parse", seconds_since(t0)}};
    for (const auto& name : sets) {
      const features::FeatureSet set = features::feature_set(name);
      t0 = std::chrono::steady_clock::now();
      const auto values = set.values(trace);
      stages.emplace_back(name, seconds_since(t0));
      if (values.size() != set.names().size()) return 1;
    }
    for (const auto& [stage, s] : stages) {
      const auto prev = previous.find(stage);
      char ratio[16] = "";
      if (prev != previous.end() && prev->second > 0)
        std::snprintf(ratio, sizeof ratio, "%.1f", s / prev->second);
      std::printf("%-10lld %-12s %10.3f %14.3f %8s\n", static_cast<long long>(rows), stage.c_str(),
                  s, s / static_cast<double>(rows) * 1e6, ratio);
      previous[stage] = s;
    }
  }
  return 0;
}
