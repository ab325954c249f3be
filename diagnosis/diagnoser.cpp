#include "diagnosis/diagnoser.h"

#include <algorithm>
#include <istream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/check.h"

namespace dynfault::diagnosis {

DYNFAULT_DEFINE_REGISTRY(DiagnoserEntry, diagnoser_registry, "diagnoser")

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

const std::vector<OptionSpec>& diagnoser_options(const std::string& name) {
  return diagnoser_registry().get(name).options;
}

OptionValues resolve_options(const std::string& name, const OptionValues& values) {
  const auto& specs = diagnoser_options(name);
  OptionValues out;
  for (const auto& spec : specs) out[spec.name] = spec.default_value;
  for (const auto& [key, value] : values) {
    // Captures a reference, not the structured binding (C++20; clang refuses it in C++17).
    const auto it = std::find_if(specs.begin(), specs.end(),
                                 [&k = key](const OptionSpec& s) { return s.name == k; });
    if (it == specs.end()) {
      std::vector<std::string> known;
      for (const auto& s : specs) known.push_back(s.name);
      throw Error(unknown_name_message("option of diagnoser '" + name + "'", key, known));
    }
    const std::string problem = option_problem(*it, value);
    DYNFAULT_CHECK(problem.empty(), "diagnoser '", name, "': option '", key,
                   "' = ", option_text(value), ": ", problem);
    out[key] = value;
  }
  return out;
}

std::unique_ptr<Diagnoser> make_diagnoser(const std::string& name) {
  return make_diagnoser(name, DiagnoserConfig{});
}

std::unique_ptr<Diagnoser> make_diagnoser(const std::string& name, const DiagnoserConfig& config) {
  const DiagnoserEntry& entry = diagnoser_registry().get(name);
  const auto it = config.find(name);
  return entry.make(resolve_options(name, it == config.end() ? OptionValues{} : it->second));
}

std::string options_json(const std::string& name, const DiagnoserConfig& config) {
  const auto it = config.find(name);
  const OptionValues values =
      resolve_options(name, it == config.end() ? OptionValues{} : it->second);
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& spec : diagnoser_options(name)) {
    const OptionValue& v = values.at(spec.name);
    if (spec.type == OptionType::choice)
      out[spec.name] = std::get<std::string>(v);
    else if (spec.type == OptionType::integer)
      out[spec.name] = static_cast<int64_t>(std::get<double>(v));
    else
      out[spec.name] = std::get<double>(v);
  }
  return out.dump();
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
