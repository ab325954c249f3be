#include "diagnosis/splits.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "common/check.h"

namespace dynfault::diagnosis {
namespace {

// Folds from a test-fold assignment: train = every sample not in the fold's test part.
std::vector<Fold> folds_from_assignment(const std::vector<int64_t>& fold_of, int k) {
  std::vector<Fold> folds(static_cast<size_t>(k));
  for (size_t i = 0; i < fold_of.size(); ++i)
    for (int f = 0; f < k; ++f)
      (fold_of[i] == f ? folds[static_cast<size_t>(f)].test : folds[static_cast<size_t>(f)].train)
          .push_back(i);
  return folds;
}

}  // namespace

std::string to_string(SplitKind kind) {
  return kind == SplitKind::by_run ? "by_run" : "by_program";
}

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t n) {
  DYNFAULT_ASSERT(n > 0);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = next();
  while (x >= limit);
  return x % n;
}

void shuffle(std::vector<size_t>& v, SplitMix64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

std::vector<Fold> stratified_kfold(const std::vector<std::string>& labels, int k, uint64_t seed) {
  DYNFAULT_CHECK(k >= 2, "stratified_kfold(): k must be >= 2, got ", k);
  DYNFAULT_CHECK(labels.size() >= 2, "stratified_kfold(): need at least 2 samples, got ",
                 labels.size());
  k = static_cast<int>(std::min<size_t>(static_cast<size_t>(k), labels.size()));
  std::map<std::string, std::vector<size_t>> by_class;  // sorted: deterministic class order
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  SplitMix64 rng(seed);
  std::vector<int64_t> fold_of(labels.size(), -1);
  size_t next_fold = 0;
  for (auto& [cls, idx] : by_class) {
    shuffle(idx, rng);
    for (size_t i : idx) {
      fold_of[i] = static_cast<int64_t>(next_fold);
      next_fold = (next_fold + 1) % static_cast<size_t>(k);
    }
  }
  return folds_from_assignment(fold_of, k);
}

std::vector<Fold> leave_one_group_out(const std::vector<std::string>& groups) {
  std::map<std::string, int64_t> id;
  for (const auto& g : groups) id.emplace(g, 0);
  DYNFAULT_CHECK(id.size() >= 2, "leave_one_group_out(): need at least 2 groups, got ", id.size());
  int64_t next = 0;
  for (auto& kv : id) kv.second = next++;
  std::vector<int64_t> fold_of(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) fold_of[i] = id[groups[i]];
  return folds_from_assignment(fold_of, static_cast<int>(next));
}

std::vector<Fold> group_kfold(const std::vector<std::string>& groups, int k, uint64_t seed) {
  DYNFAULT_CHECK(k >= 2, "group_kfold(): k must be >= 2, got ", k);
  std::map<std::string, size_t> size;
  for (const auto& g : groups) ++size[g];
  DYNFAULT_CHECK(size.size() >= 2, "group_kfold(): need at least 2 groups, got ", size.size());
  k = static_cast<int>(std::min<size_t>(static_cast<size_t>(k), size.size()));
  std::vector<std::string> names;
  for (const auto& kv : size) names.push_back(kv.first);
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  SplitMix64 rng(seed);
  shuffle(order, rng);  // ties in size are broken by the seed, not by name
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return size[names[a]] > size[names[b]]; });
  std::vector<size_t> load(static_cast<size_t>(k), 0);
  std::map<std::string, int64_t> fold_of_group;
  for (size_t gi : order) {
    const size_t f = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    fold_of_group[names[gi]] = static_cast<int64_t>(f);
    load[f] += size[names[gi]];
  }
  std::vector<int64_t> fold_of(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) fold_of[i] = fold_of_group[groups[i]];
  return folds_from_assignment(fold_of, k);
}

std::vector<Fold> make_splits(SplitKind kind, const std::vector<std::string>& labels,
                              const std::vector<std::string>& groups, int k, uint64_t seed) {
  if (kind == SplitKind::by_run) return stratified_kfold(labels, k, seed);
  DYNFAULT_CHECK(groups.size() == labels.size() || labels.empty(), "make_splits(): ", groups.size(),
                 " groups for ", labels.size(), " labels");
  return k <= 0 ? leave_one_group_out(groups) : group_kfold(groups, k, seed);
}

bool groups_disjoint(const std::vector<Fold>& folds, const std::vector<std::string>& groups) {
  for (const auto& f : folds) {
    std::set<std::string> train;
    for (size_t i : f.train) train.insert(groups.at(i));
    for (size_t i : f.test)
      if (train.count(groups.at(i))) return false;
  }
  return true;
}

std::vector<int64_t> test_fold_of(const std::vector<Fold>& folds, size_t n) {
  std::vector<int64_t> out(n, -1);
  for (size_t f = 0; f < folds.size(); ++f)
    for (size_t i : folds[f].test) {
      DYNFAULT_CHECK(i < n, "test_fold_of(): index ", i, " out of range ", n);
      DYNFAULT_CHECK(out[i] < 0, "test_fold_of(): sample ", i, " is tested in folds ", out[i],
                     " and ", f);
      out[i] = static_cast<int64_t>(f);
    }
  return out;
}

}  // namespace dynfault::diagnosis
