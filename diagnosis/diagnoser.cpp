#include "diagnosis/diagnoser.h"

#include <algorithm>
#include <istream>
#include <set>
#include <sstream>

#include "common/check.h"

namespace dynfault::diagnosis {

DYNFAULT_DEFINE_REGISTRY(DiagnoserFactory, diagnoser_registry, "diagnoser")

Matrix Matrix::take_rows(const std::vector<size_t>& idx) const {
  Matrix out(idx.size(), cols);
  out.names = names;
  for (size_t i = 0; i < idx.size(); ++i) {
    DYNFAULT_CHECK(idx[i] < rows, "Matrix::take_rows(): row ", idx[i], " of ", rows);
    std::copy(row(idx[i]), row(idx[i]) + cols, out.row(i));
  }
  return out;
}

std::vector<double> Matrix::column_major() const {
  std::vector<double> out(rows * cols);
  // Blocks of 8 rows: each source row is read in order, each destination run written 8 wide.
  constexpr size_t kBlock = 8;
  for (size_t i0 = 0; i0 < rows; i0 += kBlock) {
    const size_t i1 = std::min(rows, i0 + kBlock);
    for (size_t j = 0; j < cols; ++j)
      for (size_t i = i0; i < i1; ++i) out[j * rows + i] = data[i * cols + j];
  }
  return out;
}

std::vector<std::string> training_classes(const Matrix& x, const Labels& y,
                                          const std::string& who) {
  DYNFAULT_CHECK(x.rows == y.size(), who, "::fit(): ", x.rows, " rows but ", y.size(), " labels");
  DYNFAULT_CHECK(x.rows > 0, who, "::fit(): no training samples");
  DYNFAULT_CHECK(x.data.size() == x.rows * x.cols, who, "::fit(): malformed matrix");
  DYNFAULT_CHECK(x.names.empty() || x.names.size() == x.cols, who, "::fit(): ", x.names.size(),
                 " column names for ", x.cols, " columns");
  std::set<std::string> seen;
  for (const auto& label : y) {
    DYNFAULT_CHECK(!label.empty(), who, "::fit(): empty label");
    seen.insert(label);
  }
  return {seen.begin(), seen.end()};
}

std::vector<size_t> encode_labels(const Labels& y, const std::vector<std::string>& classes) {
  std::vector<size_t> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    const auto it = std::lower_bound(classes.begin(), classes.end(), y[i]);
    DYNFAULT_CHECK(it != classes.end() && *it == y[i], "encode_labels(): unknown class '", y[i],
                   "'");
    out[i] = static_cast<size_t>(it - classes.begin());
  }
  return out;
}

Labels argmax_labels(const Matrix& proba, const std::vector<std::string>& classes) {
  DYNFAULT_CHECK(proba.cols == classes.size(), "argmax_labels(): ", proba.cols, " columns for ",
                 classes.size(), " classes");
  Labels out(proba.rows);
  for (size_t i = 0; i < proba.rows; ++i) {
    size_t best = 0;
    for (size_t c = 1; c < classes.size(); ++c)
      if (proba(i, c) > proba(i, best)) best = c;
    out[i] = classes[best];
  }
  return out;
}

std::vector<std::string> diagnoser_names() { return diagnoser_registry().ids(); }

std::unique_ptr<Diagnoser> make_diagnoser(const std::string& name) {
  return diagnoser_registry().get(name)();
}

std::unique_ptr<Diagnoser> load_diagnoser(std::istream& in) {
  // The first token names the diagnoser; the object re-reads it, so hand it the whole text
  // (works for any stream, seekable or not).
  std::stringstream whole;
  whole << in.rdbuf();
  std::string name;
  DYNFAULT_CHECK(static_cast<bool>(whole >> name), "load_diagnoser(): empty model stream");
  auto d = make_diagnoser(name);
  whole.clear();
  whole.seekg(0);
  d->load(whole);
  return d;
}

}  // namespace dynfault::diagnosis
