// The metric key patterns of db/trace.h, as data: the contract's one machine-readable copy.
// tests/runner/test_probes.cpp checks that every key the runner writes is an instance of one.
#include <string>
#include <vector>

#include "common/registry.h"
#include "db/trace.h"

namespace dynfault::db {
namespace {

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = key.find('/', start);
    parts.push_back(
        key.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

bool is_placeholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '<' && segment.back() == '>';
}

}  // namespace

const std::vector<std::string>& metric_key_patterns() {
  static const std::vector<std::string> kPatterns = [] {
    std::vector<std::string> p = {
        "train/loss",     "time/step_ms",     "epoch/train_loss", "epoch/train_metric",
        "epoch/val_loss", "epoch/val_metric", "epoch/lr"};
    for (const char* s : {"norm", "mean_abs", "max_abs", "zero_frac", "nonfinite"})
      p.push_back(std::string("grad/<p>/") + s);
    for (const char* s :
         {"global_norm", "nonfinite", "first_last_ratio", "first_norm", "last_norm", "zero_frac"})
      p.push_back(std::string("grad/") + s);
    for (const char* s : {"norm", "mean", "std", "max_abs", "near_zero_frac", "update_ratio"})
      p.push_back(std::string("weight/<p>/") + s);
    for (const char* s : {"nonfinite", "max_abs", "mean", "std", "update_ratio"})
      p.push_back(std::string("weight/") + s);
    for (const char* s : {"mean", "std", "dead_frac", "sat_frac"})
      p.push_back(std::string("act/<layer>/") + s);
    for (const char* s : {"dead_frac_max", "sat_frac_max", "mean_abs_max", "std_mean"})
      p.push_back(std::string("act/") + s);
    for (const char* s :
         {"exp_avg_norm", "exp_avg_sq_norm", "eff_step_mean", "momentum_norm", "accum_norm"}) {
      p.push_back(std::string("opt/<p>/") + s);
      p.push_back(std::string("opt/") + s);
    }
    for (const char* s : {"lambda_max", "lambda_min", "trace", "residual", "lr_lambda",
                          "stability_ratio", "precond_sharpness", "iterations", "hvps"})
      p.push_back(std::string("curv/") + s);
    for (const char* s : {"time/curvature_ms", "time/curvature_hvp_ms", "final/test_loss",
                          "final/test_metric", "probe/failures"})
      p.push_back(s);
    return p;
  }();
  return kPatterns;
}

bool matches_key_pattern(const std::string& pattern, const std::string& key) {
  const std::vector<std::string> p = split_key(pattern), k = split_key(key);
  if (p.size() != k.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (is_placeholder(p[i])) {
      if (k[i].empty()) return false;
    } else if (p[i] != k[i]) {
      return false;
    }
  }
  return true;
}

std::string key_pattern_of(const std::string& key) {
  for (const auto& p : metric_key_patterns())
    if (matches_key_pattern(p, key)) return p;
  return "";
}

std::string closest_metric_key(const std::string& key) {
  const std::vector<std::string> k = split_key(key);
  std::vector<std::string> candidates;
  for (const auto& pattern : metric_key_patterns()) {
    std::vector<std::string> p = split_key(pattern);
    // A per-parameter pattern stands for the key's own parameter when the shapes agree.
    if (p.size() == k.size())
      for (size_t i = 0; i < p.size(); ++i)
        if (is_placeholder(p[i])) p[i] = k[i];
    std::string instance;
    for (size_t i = 0; i < p.size(); ++i) instance += (i ? "/" : "") + p[i];
    candidates.push_back(instance);
  }
  return closest_match(key, candidates);
}

}  // namespace dynfault::db
