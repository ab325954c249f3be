#include "diagnosis/tree.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <istream>
#include <limits>
#include <ostream>

#include "diagnosis/model_io.h"
#include "diagnosis/preprocess.h"
#include "diagnosis/simd.h"
#include "diagnosis/splits.h"

namespace dynfault::diagnosis {
namespace {

constexpr int kFormatVersion = 1;

void check_tree_options(int max_depth, int min_samples_leaf, int max_features, int max_bins,
                        const char* who) {
  DYNFAULT_CHECK(max_depth >= 1, who, ": max_depth must be >= 1, got ", max_depth);
  DYNFAULT_CHECK(min_samples_leaf >= 1, who, ": min_samples_leaf must be >= 1, got ",
                 min_samples_leaf);
  DYNFAULT_CHECK(max_features >= -1, who, ": max_features must be -1 (sqrt), 0 (all) or > 0, got ",
                 max_features);
  DYNFAULT_CHECK(max_bins >= 2 && max_bins <= 255, who, ": max_bins must be in [2, 255], got ",
                 max_bins);
}

// Grows the tree depth first over a shared buffer of the distinct training rows, each with its
// label and multiplicity (a bootstrap sample draws about 63% of the rows, some several times):
// class counts and histograms add the multiplicities, which are integers, so every count, split
// and leaf is exactly that of the row list with its repeats, at about 1.6 times less work.
class Grower {
 public:
  Grower(const std::vector<uint8_t>& codes, size_t n, const Binner& binner,
         const std::vector<size_t>& y, size_t classes, const TreeOptions& o, uint64_t seed)
      : codes_(codes), n_(n), binner_(binner), y_(y), k_(classes), o_(o), rng_(seed) {
    d_ = n_ == 0 ? 0 : codes_.size() / n_;
    mtry_ = o.max_features() == 0 ? d_
            : o.max_features() == -1
                ? std::max<size_t>(1, static_cast<size_t>(std::sqrt(static_cast<double>(d_))))
                : std::min(d_, static_cast<size_t>(o.max_features()));
    features_.resize(d_);
    for (size_t j = 0; j < d_; ++j) features_[j] = j;
    hist_.resize(4 * 256 * k_);
  }

  Tree grow(const std::vector<size_t>& rows) {
    std::vector<uint32_t> multiplicity(n_, 0);
    for (size_t r : rows) ++multiplicity[r];
    entries_.clear();
    for (size_t r = 0; r < n_; ++r)
      if (multiplicity[r] > 0)
        entries_.push_back(Entry{static_cast<uint32_t>(r), static_cast<uint32_t>(y_[r]),
                                 static_cast<double>(multiplicity[r])});
    node(0, entries_.size(), 0);
    return std::move(tree_);
  }

 private:
  struct Entry {
    uint32_t row;
    uint32_t y;
    double weight;  // multiplicity in the sample
  };

  int add_node() {
    tree_.feature.push_back(-1);
    tree_.threshold.push_back(0);
    tree_.left.push_back(-1);
    tree_.right.push_back(-1);
    tree_.proba.insert(tree_.proba.end(), k_, 0.0);
    return static_cast<int>(tree_.feature.size()) - 1;
  }

  int node(size_t begin, size_t end, int depth) {
    const int id = add_node();
    std::vector<double> counts(k_, 0.0);
    for (size_t i = begin; i < end; ++i) counts[entries_[i].y] += entries_[i].weight;
    double count = 0;  // samples in the node, repeats included
    for (size_t i = begin; i < end; ++i) count += entries_[i].weight;
    for (size_t c = 0; c < k_; ++c)
      tree_.proba[static_cast<size_t>(id) * k_ + c] = counts[c] / count;
    const bool pure =
        std::count_if(counts.begin(), counts.end(), [](double v) { return v > 0; }) <= 1;
    const double min_leaf = static_cast<double>(o_.min_samples_leaf());
    if (pure || depth >= o_.max_depth() || count < 2 * min_leaf) return id;

    // Gini: maximise sum_c l_c^2 / n_l + sum_c r_c^2 / n_r (equivalent to the impurity decrease).
    double parent = 0;
    for (double c : counts) parent += c * c;
    parent /= count;
    double best = parent + 1e-12 * count;
    int best_feature = -1, best_code = 0;
    if (mtry_ < d_)  // partial Fisher-Yates: the first mtry_ entries are the sample
      for (size_t j = 0; j < mtry_; ++j) std::swap(features_[j], features_[j + rng_.below(d_ - j)]);
    std::vector<double> left(k_);
    for (size_t t = 0; t < mtry_; ++t) {
      const size_t f = features_[t];
      const uint8_t* col = codes_.data() + f * n_;
      const int max_code = static_cast<int>(binner_.cuts(f).size()) + 1;
      // Four interleaved histograms break the chains of increments to one bin; their sums are
      // of integers, hence exact in any order.
      // (Small nodes use one: clearing and adding the copies would cost more than it saves.)
      const size_t width = static_cast<size_t>(max_code + 1) * k_;
      const bool split4 = end - begin >= 8 * width;
      std::fill(hist_.begin(), hist_.begin() + static_cast<long>((split4 ? 4 : 1) * width), 0.0);
      double* h0 = hist_.data();
      double* h1 = h0 + width;
      double* h2 = h1 + width;
      double* h3 = h2 + width;
      size_t i = begin;
      for (; split4 && i + 4 <= end; i += 4) {
        const Entry* e = &entries_[i];
        h0[col[e[0].row] * k_ + e[0].y] += e[0].weight;
        h1[col[e[1].row] * k_ + e[1].y] += e[1].weight;
        h2[col[e[2].row] * k_ + e[2].y] += e[2].weight;
        h3[col[e[3].row] * k_ + e[3].y] += e[3].weight;
      }
      for (; i < end; ++i) h0[col[entries_[i].row] * k_ + entries_[i].y] += entries_[i].weight;
      if (split4)
        for (size_t b = 0; b < width; ++b) h0[b] = (h0[b] + h1[b]) + (h2[b] + h3[b]);
      std::fill(left.begin(), left.end(), 0.0);
      double n_left = 0;
      for (int code = 0; code < max_code; ++code) {
        double here = 0;
        for (size_t c = 0; c < k_; ++c) {
          const double h = hist_[static_cast<size_t>(code) * k_ + c];
          left[c] += h;
          here += h;
        }
        n_left += here;
        if (here == 0) continue;  // same partition as the previous code
        const double n_right = count - n_left;
        if (n_left < min_leaf) continue;
        if (n_right < min_leaf) break;
        double sl = 0, sr = 0;
        for (size_t c = 0; c < k_; ++c) {
          const double r = counts[c] - left[c];
          sl += left[c] * left[c];
          sr += r * r;
        }
        const double score = sl / n_left + sr / n_right;
        if (score > best) {
          best = score;
          best_feature = static_cast<int>(f);
          best_code = code;
        }
      }
    }
    if (best_feature < 0) return id;

    const uint8_t* col = codes_.data() + static_cast<size_t>(best_feature) * n_;
    const auto mid = std::partition(entries_.begin() + static_cast<long>(begin),
                                    entries_.begin() + static_cast<long>(end),
                                    [&](const Entry& e) { return col[e.row] <= best_code; });
    const size_t split = static_cast<size_t>(mid - entries_.begin());
    tree_.feature[static_cast<size_t>(id)] = best_feature;
    tree_.threshold[static_cast<size_t>(id)] =
        best_code == 0
            ? -std::numeric_limits<double>::infinity()
            : binner_.cuts(static_cast<size_t>(best_feature))[static_cast<size_t>(best_code - 1)];
    const int l = node(begin, split, depth + 1);
    const int r = node(split, end, depth + 1);
    tree_.left[static_cast<size_t>(id)] = l;
    tree_.right[static_cast<size_t>(id)] = r;
    return id;
  }

  const std::vector<uint8_t>& codes_;
  size_t n_, d_ = 0, mtry_ = 0;
  const Binner& binner_;
  const std::vector<size_t>& y_;
  size_t k_;
  TreeOptions o_;
  SplitMix64 rng_;
  std::vector<size_t> features_;
  std::vector<Entry> entries_;
  std::vector<double> hist_;
  Tree tree_;
};

// Ascending sort of non-NaN doubles: LSD radix sort on order-preserving 64-bit keys, skipping
// the byte positions where all keys agree (sign and exponent bytes mostly do). The result equals
// std::sort's except that -0.0 comes before 0.0 (std::sort may put either first; they compare
// equal, so the bins are the same).
void sort_doubles(std::vector<double>& v, std::vector<uint64_t>& keys, std::vector<uint64_t>& tmp) {
  const size_t n = v.size();
  if (n < 256) {
    std::sort(v.begin(), v.end());
    return;
  }
  constexpr uint64_t kSign = 1ULL << 63;
  keys.resize(n);
  tmp.resize(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t u;
    std::memcpy(&u, &v[i], sizeof(u));
    keys[i] = (u & kSign) ? ~u : (u | kSign);
  }
  size_t hist[8][256] = {};
  for (uint64_t key : keys)
    for (int b = 0; b < 8; ++b) ++hist[b][(key >> (8 * b)) & 0xFF];
  for (int b = 0; b < 8; ++b) {
    if (hist[b][(keys[0] >> (8 * b)) & 0xFF] == n) continue;  // one bucket: order unchanged
    size_t offset = 0;
    for (size_t& c : hist[b]) {
      const size_t here = c;
      c = offset;
      offset += here;
    }
    for (uint64_t key : keys) tmp[hist[b][(key >> (8 * b)) & 0xFF]++] = key;
    keys.swap(tmp);
  }
  for (size_t i = 0; i < n; ++i) {
    const uint64_t key = keys[i];
    const uint64_t u = (key & kSign) ? (key & ~kSign) : ~key;
    std::memcpy(&v[i], &u, sizeof(u));
  }
}

void write_tree(std::ostream& out, const Tree& t) {
  model_io::write_int(out, "nodes", static_cast<int64_t>(t.feature.size()));
  std::vector<double> f(t.feature.begin(), t.feature.end()), l(t.left.begin(), t.left.end()),
      r(t.right.begin(), t.right.end());
  model_io::write_vector(out, "feature", f);
  model_io::write_vector(out, "threshold", t.threshold);
  model_io::write_vector(out, "left", l);
  model_io::write_vector(out, "right", r);
  model_io::write_vector(out, "proba", t.proba);
}

Tree read_tree(std::istream& in, size_t classes, size_t dims, const std::string& who) {
  const int64_t n = model_io::read_int(in, "nodes", who);
  DYNFAULT_CHECK(n >= 1, who, "::load(): a tree needs at least one node");
  const size_t m = static_cast<size_t>(n);
  Tree t;
  const auto f = model_io::read_vector(in, "feature", m, who);
  t.threshold = model_io::read_vector(in, "threshold", m, who);
  const auto l = model_io::read_vector(in, "left", m, who);
  const auto r = model_io::read_vector(in, "right", m, who);
  t.proba = model_io::read_vector(in, "proba", m * classes, who);
  for (size_t i = 0; i < m; ++i) {
    t.feature.push_back(static_cast<int>(f[i]));
    t.left.push_back(static_cast<int>(l[i]));
    t.right.push_back(static_cast<int>(r[i]));
    if (t.feature[i] < 0) continue;
    // Children come after their parent (depth-first order), which also rules out cycles.
    DYNFAULT_CHECK(static_cast<size_t>(t.feature[i]) < dims && t.left[i] > static_cast<int>(i) &&
                       t.right[i] > static_cast<int>(i) && t.left[i] < n && t.right[i] < n,
                   who, "::load(): malformed tree node ", i);
  }
  return t;
}

std::vector<size_t> all_rows(size_t n) {
  std::vector<size_t> rows(n);
  for (size_t i = 0; i < n; ++i) rows[i] = i;
  return rows;
}

void check_width(bool fitted, size_t dims, const Matrix& x, const std::string& who) {
  DYNFAULT_CHECK(fitted, who, ": predict() before fit()");
  DYNFAULT_CHECK(x.cols == dims, who, ": fitted on ", dims, " features, got ", x.cols);
}

}  // namespace

const double* Tree::leaf(const double* row, size_t classes) const {
  size_t i = 0;
  while (feature[i] >= 0) {
    const double v = row[feature[i]];
    i = static_cast<size_t>(std::isnan(v) || v <= threshold[i] ? left[i] : right[i]);
  }
  return proba.data() + i * classes;
}

void Binner::fit(const Matrix& x, int max_bins) {
  fit_columns(x.column_major(), x.rows, x.cols, max_bins);
}

void Binner::fit_columns(const std::vector<double>& xt, size_t rows, size_t cols, int max_bins) {
  DYNFAULT_CHECK(xt.size() == rows * cols, "Binner: ", xt.size(), " values for ", rows, " x ",
                 cols);
  cuts_.assign(cols, {});
  std::vector<double> v;
  std::vector<uint64_t> keys, tmp;
  for (size_t j = 0; j < cols; ++j) {
    const double* col = xt.data() + j * rows;
    v.clear();
    for (size_t i = 0; i < rows; ++i)
      if (!std::isnan(col[i])) v.push_back(col[i]);
    sort_doubles(v, keys, tmp);
    v.erase(std::unique(v.begin(), v.end()), v.end());
    auto& cuts = cuts_[j];
    if (v.size() <= 1) continue;  // constant column: no split
    const size_t wanted = static_cast<size_t>(max_bins) - 1;
    if (v.size() - 1 <= wanted) {
      cuts.assign(v.begin(), v.end() - 1);  // every distinct value but the largest
    } else {
      for (size_t b = 1; b <= wanted; ++b) {
        const double pos = static_cast<double>(b) / static_cast<double>(wanted + 1) *
                           static_cast<double>(v.size() - 1);
        const double cut = v[static_cast<size_t>(pos)];
        if (cuts.empty() || cut > cuts.back()) cuts.push_back(cut);
      }
    }
  }
}

namespace {

// Bin codes of one column: 1 + the number of cuts below the value (lower_bound's index, as the
// cuts are sorted), 0 for NaN. Counted for four rows at a time without branches.
DYNFAULT_SIMD_CLONES
void bin_column(const double* col, size_t n, const double* cuts, size_t m, uint8_t* out) {
  typedef int64_t I4 __attribute__((vector_size(32)));
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    simd::V4 v;
    simd::load(v, col + i);
    I4 below = {};
    for (size_t k = 0; k < m; ++k) below -= (cuts[k] - simd::V4{}) < v;  // true is -1
    for (size_t l = 0; l < 4; ++l)
      out[i + l] = std::isnan(v[l]) ? 0 : static_cast<uint8_t>(1 + below[l]);
  }
  for (; i < n; ++i)
    out[i] = std::isnan(col[i])
                 ? 0
                 : static_cast<uint8_t>(1 + (std::lower_bound(cuts, cuts + m, col[i]) - cuts));
}

}  // namespace

std::vector<uint8_t> Binner::codes(const Matrix& x) const {
  return codes_columns(x.column_major(), x.rows, x.cols);
}

std::vector<uint8_t> Binner::codes_columns(const std::vector<double>& xt, size_t rows,
                                           size_t cols) const {
  DYNFAULT_CHECK(cols == cuts_.size(), "Binner: fitted on ", cuts_.size(), " columns, got ", cols);
  DYNFAULT_CHECK(xt.size() == rows * cols, "Binner: ", xt.size(), " values for ", rows, " x ",
                 cols);
  std::vector<uint8_t> out(rows * cols);
  for (size_t j = 0; j < cols; ++j)
    bin_column(xt.data() + j * rows, rows, cuts_[j].data(), cuts_[j].size(), out.data() + j * rows);
  return out;
}

std::shared_ptr<const BinnedMatrix> binned_matrix(const Matrix& x, int max_bins) {
  return FitScope::memo<BinnedMatrix>(x, "binned/" + std::to_string(max_bins), [&] {
    BinnedMatrix out;
    const std::vector<double> xt = x.column_major();  // one transposed copy for both
    out.binner.fit_columns(xt, x.rows, x.cols, max_bins);
    out.codes = out.binner.codes_columns(xt, x.rows, x.cols);
    return out;
  });
}

Tree grow_tree(const std::vector<uint8_t>& codes, size_t n, const Binner& binner,
               const std::vector<size_t>& y, size_t classes, const std::vector<size_t>& rows,
               const TreeOptions& options, uint64_t seed) {
  return Grower(codes, n, binner, y, classes, options, seed).grow(rows);
}

// --- DecisionTree -------------------------------------------------------------------------------

DecisionTree::DecisionTree(TreeOptions options) : options_(options) {
  check_tree_options(options_.max_depth(), options_.min_samples_leaf(), options_.max_features(),
                     options_.max_bins(), "DecisionTree");
}

void DecisionTree::fit(const Matrix& x, const Labels& y) {
  classes_ = training_classes(x, y, "DecisionTree");
  dims_ = x.cols;
  const auto binned = binned_matrix(x, options_.max_bins());
  tree_ = grow_tree(binned->codes, x.rows, binned->binner, encode_labels(y, classes_),
                    classes_.size(), all_rows(x.rows), options_, /*seed=*/0);
  fitted_ = true;
}

void DecisionTree::configure(const LearnerSettings& settings) {
  // The tree tries every feature at every node (max_features 0): the seed has nothing to draw.
  check_tree_options(options_.max_depth(), options_.min_samples_leaf(), options_.max_features(),
                     settings.max_bins, "DecisionTree");
  options_.max_bins(settings.max_bins);
}

Matrix DecisionTree::predict_proba(const Matrix& x) const {
  check_width(fitted_, dims_, x, "DecisionTree");
  const size_t k = classes_.size();
  Matrix p(x.rows, k);
  for (size_t i = 0; i < x.rows; ++i) std::copy_n(tree_.leaf(x.row(i), k), k, p.row(i));
  return p;
}

Labels DecisionTree::predict(const Matrix& x) const {
  return argmax_labels(predict_proba(x), classes_);
}

void DecisionTree::save(std::ostream& out) const {
  DYNFAULT_CHECK(fitted_, "DecisionTree::save(): not fitted");
  model_io::write_header(out, name(), kFormatVersion);
  model_io::write_vector(out, "options",
                         {double(options_.max_depth()), double(options_.min_samples_leaf()),
                          double(options_.max_features()), double(options_.max_bins())});
  model_io::write_strings(out, "classes", classes_);
  model_io::write_int(out, "dims", static_cast<int64_t>(dims_));
  write_tree(out, tree_);
  out << "end\n";
}

void DecisionTree::load(std::istream& in) {
  const std::string who = "DecisionTree";
  model_io::read_header(in, name(), kFormatVersion);
  const auto o = model_io::read_vector(in, "options", 4, who);
  auto classes = model_io::read_strings(in, "classes", who);
  const int64_t dims = model_io::read_int(in, "dims", who);
  DYNFAULT_CHECK(!classes.empty() && dims >= 0, who, "::load(): bad classes or dims");
  Tree tree = read_tree(in, classes.size(), static_cast<size_t>(dims), who);
  model_io::read_end(in, who);
  *this = DecisionTree(TreeOptions()
                           .max_depth(static_cast<int>(o[0]))
                           .min_samples_leaf(static_cast<int>(o[1]))
                           .max_features(static_cast<int>(o[2]))
                           .max_bins(static_cast<int>(o[3])));
  classes_ = std::move(classes);
  dims_ = static_cast<size_t>(dims);
  tree_ = std::move(tree);
  fitted_ = true;
}

// --- RandomForest -------------------------------------------------------------------------------

RandomForest::RandomForest(ForestOptions options, std::string name, std::string feature_set)
    : options_(options), name_(std::move(name)), feature_set_(std::move(feature_set)) {
  DYNFAULT_CHECK(options_.trees() >= 1, "RandomForest: trees must be >= 1, got ", options_.trees());
  check_tree_options(options_.max_depth(), options_.min_samples_leaf(), options_.max_features(),
                     options_.max_bins(), "RandomForest");
}

void RandomForest::fit(const Matrix& x, const Labels& y) {
  classes_ = training_classes(x, y, "RandomForest");
  dims_ = x.cols;
  const auto binned = binned_matrix(x, options_.max_bins());
  const Binner& binner = binned->binner;
  const std::vector<uint8_t>& codes = binned->codes;
  const std::vector<size_t> yi = encode_labels(y, classes_);
  const TreeOptions tree_options = TreeOptions()
                                       .max_depth(options_.max_depth())
                                       .min_samples_leaf(options_.min_samples_leaf())
                                       .max_features(options_.max_features())
                                       .max_bins(options_.max_bins());
  trees_.clear();
  SplitMix64 rng(options_.seed() ^ 0x5DEECE66DULL);
  for (int t = 0; t < options_.trees(); ++t) {
    std::vector<size_t> rows(x.rows);
    for (auto& r : rows) r = static_cast<size_t>(rng.below(x.rows));
    trees_.push_back(
        grow_tree(codes, x.rows, binner, yi, classes_.size(), rows, tree_options, rng.next()));
  }
  fitted_ = true;
}

void RandomForest::configure(const LearnerSettings& settings) {
  check_tree_options(options_.max_depth(), options_.min_samples_leaf(), options_.max_features(),
                     settings.max_bins, name_.c_str());
  options_.max_bins(settings.max_bins).seed(settings.seed);
}

Matrix RandomForest::predict_proba(const Matrix& x) const {
  check_width(fitted_, dims_, x, name_);
  const size_t k = classes_.size();
  Matrix p(x.rows, k);
  for (size_t i = 0; i < x.rows; ++i) {
    double* out = p.row(i);
    for (const auto& t : trees_) {
      const double* leaf = t.leaf(x.row(i), k);
      for (size_t c = 0; c < k; ++c) out[c] += leaf[c];
    }
    for (size_t c = 0; c < k; ++c) out[c] /= static_cast<double>(trees_.size());
  }
  return p;
}

Labels RandomForest::predict(const Matrix& x) const {
  return argmax_labels(predict_proba(x), classes_);
}

void RandomForest::save(std::ostream& out) const {
  DYNFAULT_CHECK(fitted_, name_, "::save(): not fitted");
  model_io::write_header(out, name(), kFormatVersion);
  model_io::write_vector(
      out, "options",
      {double(options_.trees()), double(options_.max_depth()), double(options_.min_samples_leaf()),
       double(options_.max_features()), double(options_.max_bins()), double(options_.seed())});
  model_io::write_strings(out, "classes", classes_);
  model_io::write_int(out, "dims", static_cast<int64_t>(dims_));
  for (const auto& t : trees_) write_tree(out, t);
  out << "end\n";
}

void RandomForest::load(std::istream& in) {
  const std::string who = name_;
  model_io::read_header(in, name(), kFormatVersion);
  const auto o = model_io::read_vector(in, "options", 6, who);
  auto classes = model_io::read_strings(in, "classes", who);
  const int64_t dims = model_io::read_int(in, "dims", who);
  DYNFAULT_CHECK(!classes.empty() && dims >= 0 && o[0] >= 1, who, "::load(): bad header");
  std::vector<Tree> trees;
  for (int t = 0; t < static_cast<int>(o[0]); ++t)
    trees.push_back(read_tree(in, classes.size(), static_cast<size_t>(dims), who));
  model_io::read_end(in, who);
  *this = RandomForest(ForestOptions()
                           .trees(static_cast<int>(o[0]))
                           .max_depth(static_cast<int>(o[1]))
                           .min_samples_leaf(static_cast<int>(o[2]))
                           .max_features(static_cast<int>(o[3]))
                           .max_bins(static_cast<int>(o[4]))
                           .seed(static_cast<uint64_t>(o[5])),
                       name_, feature_set_);
  classes_ = std::move(classes);
  dims_ = static_cast<size_t>(dims);
  trees_ = std::move(trees);
  fitted_ = true;
}

namespace {

// The options the tree learners share; max_bins is the evaluation's `bins` (LearnerSettings).
template <typename O>
OptionSchema<O>& tree_options(OptionSchema<O>& s) {
  return s.integer("max_depth", 1, 64, "deepest split level", DYNFAULT_OPTION_FIELD(max_depth))
      .integer("min_samples_leaf", 1, 1e6, "fewest training rows in a leaf",
               DYNFAULT_OPTION_FIELD(min_samples_leaf))
      .integer("max_features", -1, 1e6, "features tried per node: 0 = all, -1 = sqrt(d)",
               DYNFAULT_OPTION_FIELD(max_features));
}

OptionSchema<TreeOptions> decision_tree_options() {
  OptionSchema<TreeOptions> s;
  return tree_options(s);
}

OptionSchema<ForestOptions> forest_options(const ForestOptions& defaults) {
  OptionSchema<ForestOptions> s(defaults);
  s.integer("trees", 1, 1e5, "trees in the forest", DYNFAULT_OPTION_FIELD(trees));
  return tree_options(s);
}

// DEFault's forest: its grid's centre, 100 trees; the rest as random_forest.
ForestOptions default_rf_defaults() { return ForestOptions().trees(100); }

}  // namespace

std::unique_ptr<Diagnoser> make_default_rf() { return make_diagnoser("default_rf"); }

DYNFAULT_REGISTER(diagnoser_registry(), "decision_tree",
                  diagnoser_entry<DecisionTree>(decision_tree_options()));
DYNFAULT_REGISTER(diagnoser_registry(), "random_forest",
                  diagnoser_entry<RandomForest>(forest_options(ForestOptions())));
DYNFAULT_REGISTER(diagnoser_registry(), "default_rf",
                  DiagnoserEntry(forest_options(default_rf_defaults()).specs(),
                                 [](const OptionValues& v) -> std::unique_ptr<Diagnoser> {
                                   return std::make_unique<RandomForest>(
                                       forest_options(default_rf_defaults()).build(v), "default_rf",
                                       "default");
                                 }));

}  // namespace dynfault::diagnosis
