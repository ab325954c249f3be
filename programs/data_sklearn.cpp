// The small tables vendored under data/: scikit-learn's (data/sklearn/) and the Palmer penguins
// (data/penguins/); see their READMEs for provenance, licences and formats. They have no official
// train/test split, so a fixed, seed-independent stratified split keeps the held-back test set
// identical across runs and seeds.
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/check.h"
#include "programs/data.h"

namespace dynfault::programs {
namespace {

// Fixed so that the test split never depends on the run seed.
constexpr uint64_t kSplitSeed = 0x5eed5a1e;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The Debian package a vendored file was copied from, for the error when it is missing.
std::string package_of(const std::string& path) {
  return path.find("/penguins/") != std::string::npos ? "r-cran-palmerpenguins" : "python3-sklearn";
}

std::string read_text(const std::string& path) {
  const std::string missing =
      "vendored data file '" + path +
      "' cannot be opened; it is vendored from the Debian package " + package_of(path) +
      " (see data/*/README.md; DYNFAULT_DATA_DIR overrides the data directory)";
  if (ends_with(path, ".gz")) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) throw Error(missing);
    std::string out;
    char buf[1 << 16];
    int n = 0;
    while ((n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    const bool failed = n < 0;
    gzclose(f);
    DYNFAULT_CHECK(!failed, "vendored data file '", path, "' is not valid gzip");
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) throw Error(missing);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_fields(const std::string& line, char sep) {
  std::vector<std::string> out;
  if (sep == ' ') {
    std::istringstream ss(line);
    std::string f;
    while (ss >> f) out.push_back(f);
    return out;
  }
  std::string cur;
  for (char c : line) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) out.push_back(line);
  }
  return out;
}

double parse_number(const std::string& field, const std::string& path, size_t line) {
  const char* begin = field.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  DYNFAULT_CHECK(end != begin && *end == '\0', path, ":", line, ": '", field, "' is not a number");
  return v;
}

/// Table with a scikit-learn header row `n_samples,n_features,class names...`; each row holds
/// the features and an integer class label.
Dataset read_labelled_csv(const std::string& path) {
  const std::vector<std::string> lines = lines_of(read_text(path));
  DYNFAULT_CHECK(!lines.empty(), "vendored data file '", path, "' is empty");
  const std::vector<std::string> head = split_fields(lines[0], ',');
  DYNFAULT_CHECK(head.size() >= 3, path, ":1: expected 'n_samples,n_features,class names...'");
  const auto n = static_cast<int64_t>(parse_number(head[0], path, 1));
  const auto f = static_cast<int64_t>(parse_number(head[1], path, 1));
  Dataset d;
  d.num_classes = static_cast<int64_t>(head.size()) - 2;
  d.sample_shape = {f};
  DYNFAULT_CHECK(static_cast<int64_t>(lines.size()) - 1 == n, path, ": header announces ", n,
                 " samples, the file holds ", lines.size() - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = split_fields(lines[i], ',');
    DYNFAULT_CHECK(static_cast<int64_t>(fields.size()) == f + 1, path, ":", i + 1, ": expected ",
                   f + 1, " fields, found ", fields.size());
    for (int64_t j = 0; j < f; ++j)
      d.x.push_back(static_cast<float>(parse_number(fields[static_cast<size_t>(j)], path, i + 1)));
    const double label = parse_number(fields.back(), path, i + 1);
    DYNFAULT_CHECK(
        label >= 0 && label < static_cast<double>(d.num_classes) && label == std::floor(label),
        path, ":", i + 1, ": label '", fields.back(), "' is not a class index below ",
        d.num_classes);
    d.y.push_back(static_cast<float>(label));
  }
  return d;
}

/// digits.csv.gz: no header, 64 pixel intensities (0-16) then the digit.
Dataset read_digits(const std::string& path, bool as_image) {
  const std::vector<std::string> lines = lines_of(read_text(path));
  Dataset d;
  d.num_classes = 10;
  d.sample_shape = as_image ? std::vector<int64_t>{1, 8, 8} : std::vector<int64_t>{64};
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::vector<std::string> fields = split_fields(lines[i], ',');
    DYNFAULT_CHECK(fields.size() == 65, path, ":", i + 1, ": expected 65 fields, found ",
                   fields.size());
    for (size_t j = 0; j < 64; ++j)
      d.x.push_back(static_cast<float>(parse_number(fields[j], path, i + 1)));
    const double label = parse_number(fields[64], path, i + 1);
    DYNFAULT_CHECK(label >= 0 && label <= 9 && label == std::floor(label), path, ":", i + 1,
                   ": label '", fields[64], "' is not a digit");
    d.y.push_back(static_cast<float>(label));
  }
  DYNFAULT_CHECK(!lines.empty(), "vendored data file '", path, "' is empty");
  return d;
}

/// diabetes: space-separated 10 raw features per row, targets in a second file.
Dataset read_diabetes(const std::string& data_path, const std::string& target_path) {
  const std::vector<std::string> rows = lines_of(read_text(data_path));
  const std::vector<std::string> targets = lines_of(read_text(target_path));
  DYNFAULT_CHECK(!rows.empty(), "vendored data file '", data_path, "' is empty");
  DYNFAULT_CHECK(rows.size() == targets.size(), "'", data_path, "' holds ", rows.size(),
                 " rows but '", target_path, "' holds ", targets.size(), " targets");
  Dataset d;
  d.num_classes = 0;
  const size_t f = split_fields(rows[0], ' ').size();
  d.sample_shape = {static_cast<int64_t>(f)};
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<std::string> fields = split_fields(rows[i], ' ');
    DYNFAULT_CHECK(fields.size() == f, data_path, ":", i + 1, ": expected ", f, " fields, found ",
                   fields.size());
    for (const auto& v : fields)
      d.x.push_back(static_cast<float>(parse_number(v, data_path, i + 1)));
    d.y.push_back(static_cast<float>(parse_number(targets[i], target_path, i + 1)));
  }
  return d;
}

/// penguins.csv of R's palmerpenguins: a header row, then species, island, bill_length_mm,
/// bill_depth_mm, flipper_length_mm, body_mass_g, sex, year. Keeps the four measurements (the
/// TensorFlow tutorial's features) and the species as label (Adelie 0, Chinstrap 1, Gentoo 2, as
/// in TFDS penguins/processed); rows with a missing measurement ("NA") are dropped.
Dataset read_penguins(const std::string& path) {
  static const char* const kSpecies[] = {"Adelie", "Chinstrap", "Gentoo"};
  static const char* const kColumns[] = {"bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                         "body_mass_g"};
  const std::vector<std::string> lines = lines_of(read_text(path));
  DYNFAULT_CHECK(!lines.empty(), "vendored data file '", path, "' is empty");
  const std::vector<std::string> head = split_fields(lines[0], ',');
  auto column = [&](const std::string& name) {
    for (size_t j = 0; j < head.size(); ++j)
      if (head[j] == name || head[j] == "\"" + name + "\"") return j;
    throw Error(path + ":1: no column '" + name + "' in the header");
  };
  const size_t species_col = column("species");
  std::vector<size_t> cols;
  for (const char* c : kColumns) cols.push_back(column(c));
  Dataset d;
  d.num_classes = 3;
  d.sample_shape = {static_cast<int64_t>(cols.size())};
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = split_fields(lines[i], ',');
    DYNFAULT_CHECK(fields.size() == head.size(), path, ":", i + 1, ": expected ", head.size(),
                   " fields, found ", fields.size());
    bool missing = false;
    for (size_t j : cols) missing = missing || fields[j] == "NA";
    if (missing) continue;
    int64_t label = -1;
    for (int64_t k = 0; k < 3; ++k)
      if (fields[species_col] == kSpecies[k]) label = k;
    DYNFAULT_CHECK(label >= 0, path, ":", i + 1, ": unknown species '", fields[species_col], "'");
    for (size_t j : cols) d.x.push_back(static_cast<float>(parse_number(fields[j], path, i + 1)));
    d.y.push_back(static_cast<float>(label));
  }
  DYNFAULT_CHECK(d.size() > 0, "vendored data file '", path, "' holds no complete row");
  return d;
}

/// Splits `all` into train and test with a fixed permutation, stratified by class: each class
/// sends round(test_fraction * its size) samples to the test part.
DataSplit fixed_split(const Dataset& all, const DataSpec& spec) {
  const double test_fraction = data_param(spec, "test_fraction", 0.2);
  DYNFAULT_CHECK(test_fraction > 0 && test_fraction < 1, "data set '", spec.name,
                 "': params.test_fraction must be in (0, 1), got ", test_fraction);
  const int64_t n = all.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  Rng rng(kSplitSeed);
  rng.shuffle(order);

  const int64_t groups = all.num_classes > 0 ? all.num_classes : 1;
  std::vector<int64_t> group_size(static_cast<size_t>(groups), 0);
  auto group_of = [&](int64_t i) {
    return all.num_classes > 0 ? static_cast<int64_t>(all.y[static_cast<size_t>(i)]) : 0;
  };
  for (int64_t i : order) ++group_size[static_cast<size_t>(group_of(i))];
  std::vector<int64_t> test_quota(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g)
    test_quota[static_cast<size_t>(g)] = static_cast<int64_t>(
        std::llround(test_fraction * static_cast<double>(group_size[static_cast<size_t>(g)])));

  std::vector<int64_t> train_idx, test_idx;
  for (int64_t i : order) {
    int64_t& quota = test_quota[static_cast<size_t>(group_of(i))];
    if (quota > 0) {
      test_idx.push_back(i);
      --quota;
    } else {
      train_idx.push_back(i);
    }
  }
  return DataSplit{subset(all, train_idx), subset(all, test_idx)};
}

std::string sklearn_path(const std::string& file) {
  return vendored_data_dir() + "/sklearn/" + file;
}

DataSplit load_iris(const DataSpec& spec, uint64_t /*seed*/) {
  return fixed_split(read_labelled_csv(sklearn_path("iris.csv")), spec);
}
DataSplit load_wine(const DataSpec& spec, uint64_t /*seed*/) {
  return fixed_split(read_labelled_csv(sklearn_path("wine_data.csv")), spec);
}
DataSplit load_breast_cancer(const DataSpec& spec, uint64_t /*seed*/) {
  return fixed_split(read_labelled_csv(sklearn_path("breast_cancer.csv")), spec);
}
DataSplit load_digits(const DataSpec& spec, uint64_t /*seed*/) {
  const bool as_image = data_param(spec, "as_image", 0.0) != 0.0;
  return fixed_split(read_digits(sklearn_path("digits.csv.gz"), as_image), spec);
}
DataSplit load_diabetes(const DataSpec& spec, uint64_t /*seed*/) {
  return fixed_split(read_diabetes(sklearn_path("diabetes_data_raw.csv.gz"),
                                   sklearn_path("diabetes_target.csv.gz")),
                     spec);
}

DataSplit load_penguins(const DataSpec& spec, uint64_t /*seed*/) {
  return fixed_split(read_penguins(vendored_data_dir() + "/penguins/penguins.csv"), spec);
}

}  // namespace

DYNFAULT_REGISTER(data_loader_registry(), "iris", load_iris);
DYNFAULT_REGISTER(data_loader_registry(), "wine", load_wine);
DYNFAULT_REGISTER(data_loader_registry(), "breast_cancer", load_breast_cancer);
DYNFAULT_REGISTER(data_loader_registry(), "digits", load_digits);
DYNFAULT_REGISTER(data_loader_registry(), "diabetes", load_diabetes);
DYNFAULT_REGISTER(data_loader_registry(), "penguins", load_penguins);

}  // namespace dynfault::programs
