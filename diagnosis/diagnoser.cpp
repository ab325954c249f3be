#include "diagnosis/diagnoser.h"

#include <istream>
#include <map>
#include <mutex>
#include <sstream>

#include "common/check.h"
#include "diagnosis/logistic_regression.h"

namespace dynfault::diagnosis {
namespace {

using Factory = std::function<std::unique_ptr<Diagnoser>()>;

struct Registry {
  std::mutex mutex;
  std::map<std::string, Factory> factories;
};

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();  // never destroyed: safe to use during static teardown
    // The built-in diagnosers, one line each.
    reg->factories["logistic_regression"] = [] {
      return std::unique_ptr<Diagnoser>(new LogisticRegression());
    };
    return reg;
  }();
  return *r;
}

}  // namespace

Matrix Matrix::take_rows(const std::vector<size_t>& idx) const {
  Matrix out(idx.size(), cols);
  for (size_t i = 0; i < idx.size(); ++i) {
    DYNFAULT_CHECK(idx[i] < rows, "Matrix::take_rows(): row ", idx[i], " of ", rows);
    std::copy(row(idx[i]), row(idx[i]) + cols, out.row(i));
  }
  return out;
}

std::vector<std::string> diagnoser_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& kv : r.factories) names.push_back(kv.first);
  return names;
}

std::unique_ptr<Diagnoser> make_diagnoser(const std::string& name) {
  Factory factory;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.factories.find(name);
    if (it == r.factories.end()) {
      std::string known;
      for (const auto& kv : r.factories) known += (known.empty() ? "" : ", ") + kv.first;
      throw Error("unknown diagnoser '" + name + "' (known: " + known + ")");
    }
    factory = it->second;
  }
  return factory();
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

void register_diagnoser(const std::string& name, Factory factory) {
  DYNFAULT_CHECK(!name.empty() && static_cast<bool>(factory), "register_diagnoser(): empty");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  DYNFAULT_CHECK(r.factories.count(name) == 0, "register_diagnoser(): '", name,
                 "' is already registered");
  r.factories[name] = std::move(factory);
}

}  // namespace dynfault::diagnosis
