#include "runner/numeric.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/check.h"
#include "programs/recipe.h"

namespace dynfault::runner {
namespace {

using programs::Json;

/// One accepted value: its canonical spelling, the CPU flags (/proc/cpuinfo) its kernels need,
/// and the value of the library's environment variable.
struct Choice {
  std::string name;
  std::vector<std::string> needs;
  std::string variable_value;
};

const std::vector<std::string> kAvx512Core = {"avx512f", "avx512bw", "avx512vl", "avx512dq"};

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ATen 1.13 takes AVX2 kernels when the CPU has avx2 and fma, AVX512 ones when it has avx512
// vl, bw, dq and fma (aten/src/ATen/native/DispatchStub.cpp); it does not check an
// ATEN_CPU_CAPABILITY the CPU lacks, and dies of SIGILL instead.
const std::vector<Choice>& aten_choices() {
  static const std::vector<Choice> kChoices = {{"default", {}, "default"},
                                               {"avx2", {"avx2", "fma"}, "avx2"},
                                               {"avx512", plus(kAvx512Core, {"fma"}), "avx512"}};
  return kChoices;
}

// OpenBLAS 0.3's DYNAMIC_ARCH core types for x86-64 that dynfault accepts, with the instruction
// sets their kernels use (kernel/x86_64/KERNEL.<core>).
const std::vector<Choice>& openblas_choices() {
  static const std::vector<Choice> kChoices = {
      {"Prescott", {"pni"}, "Prescott"},
      {"Core2", {"ssse3"}, "Core2"},
      {"Nehalem", {"sse4_2"}, "Nehalem"},
      {"Sandybridge", {"avx"}, "Sandybridge"},
      {"Haswell", {"avx2", "fma"}, "Haswell"},
      {"Zen", {"avx2", "fma"}, "Zen"},
      {"SkylakeX", plus(kAvx512Core, {"avx512cd", "fma"}), "SkylakeX"},
      {"Cooperlake", plus(kAvx512Core, {"avx512cd", "fma", "avx512_bf16"}), "Cooperlake"}};
  return kChoices;
}

// oneDNN 2.x's ONEDNN_MAX_CPU_ISA values (a cap: oneDNN silently takes less when the CPU lacks
// the ISA, so dynfault checks the CPU itself). AMX is left out: this build of oneDNN caps it
// without saying so.
const std::vector<Choice>& onednn_choices() {
  static const std::vector<Choice> kChoices = {
      {"sse41", {"sse4_1"}, "SSE41"},
      {"avx", {"avx"}, "AVX"},
      {"avx2", {"avx2", "fma"}, "AVX2"},
      {"avx2_vnni", {"avx2", "fma", "avx_vnni"}, "AVX2_VNNI"},
      {"avx512_core", kAvx512Core, "AVX512_CORE"},
      {"avx512_core_vnni", plus(kAvx512Core, {"avx512_vnni"}), "AVX512_CORE_VNNI"},
      {"avx512_core_bf16", plus(kAvx512Core, {"avx512_vnni", "avx512_bf16"}), "AVX512_CORE_BF16"}};
  return kChoices;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const Choice* find_choice(const std::vector<Choice>& choices, const std::string& value) {
  for (const auto& c : choices)
    if (lower(c.name) == lower(value)) return &c;
  return nullptr;
}

std::vector<std::string> names(const std::vector<Choice>& choices) {
  std::vector<std::string> out;
  for (const auto& c : choices) out.push_back(c.name);
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<std::string> missing_flags(const Choice& c, const CpuInfo& cpu) {
  std::vector<std::string> out;
  for (const auto& f : c.needs)
    if (!cpu.flags.count(f)) out.push_back(f);
  return out;
}

std::vector<std::string> offered(const std::vector<Choice>& choices, const CpuInfo& cpu) {
  std::vector<std::string> out;
  for (const auto& c : choices)
    if (missing_flags(c, cpu).empty()) out.push_back(c.name);
  return out;
}

}  // namespace

const std::vector<std::string>& aten_capabilities() {
  static const auto kNames = names(aten_choices());
  return kNames;
}
const std::vector<std::string>& openblas_coretypes() {
  static const auto kNames = names(openblas_choices());
  return kNames;
}
const std::vector<std::string>& onednn_isas() {
  static const auto kNames = names(onednn_choices());
  return kNames;
}

std::string canonical_spelling(const std::vector<std::string>& names, const std::string& value) {
  for (const auto& n : names)
    if (lower(n) == lower(value)) return n;
  return value;
}

std::string NumericEnv::to_json() const {
  return Json{{"aten_capability", aten_capability},
              {"openblas_coretype", openblas_coretype},
              {"onednn_isa", onednn_isa},
              {"intra_op_threads", intra_op_threads},
              {"blas_threads", blas_threads}}
      .dump();
}

NumericEnv NumericEnv::from_json(const std::string& text) {
  NumericEnv env;
  try {
    const Json j = Json::parse(text);
    DYNFAULT_CHECK(j.is_object(), "expected a JSON object");
    for (const auto& [key, value] : j.items()) {
      if (key == "aten_capability")
        env.aten_capability = value.get<std::string>();
      else if (key == "openblas_coretype")
        env.openblas_coretype = value.get<std::string>();
      else if (key == "onednn_isa")
        env.onednn_isa = value.get<std::string>();
      else if (key == "intra_op_threads")
        env.intra_op_threads = value.get<int64_t>();
      else if (key == "blas_threads")
        env.blas_threads = value.get<int64_t>();
      else
        throw Error("unknown key '" + key + "'");
    }
    for (const char* key :
         {"aten_capability", "openblas_coretype", "onednn_isa", "intra_op_threads", "blas_threads"})
      DYNFAULT_CHECK(j.contains(key), "missing key '", key, "'");
    env.validate();
  } catch (const std::exception& e) {
    throw Error("numeric environment '" + text + "': " + e.what());
  }
  return env;
}

void NumericEnv::validate() const {
  const auto check = [](const char* key, const std::string& value,
                        const std::vector<Choice>& choices, bool off_allowed) {
    if (value == "auto" || (off_allowed && value == "off")) return;
    const Choice* c = find_choice(choices, value);
    if (c == nullptr || c->name != value)
      throw ConfigError("", 0, std::string("numeric.") + key, value,
                        "unknown value (known: " + join(names(choices)) +
                            (off_allowed ? ", off" : "") + ", auto)");
  };
  check("aten_capability", aten_capability, aten_choices(), false);
  check("openblas_coretype", openblas_coretype, openblas_choices(), false);
  check("onednn_isa", onednn_isa, onednn_choices(), true);
  const std::pair<const char*, int64_t> counts[] = {{"intra_op_threads", intra_op_threads},
                                                    {"blas_threads", blas_threads}};
  for (const auto& [key, n] : counts)
    if (n < 1 || n > 256)
      throw ConfigError("", 0, std::string("numeric.") + key, std::to_string(n),
                        "out of range [1, 256]");
}

bool NumericEnv::pinned() const {
  return aten_capability != "auto" && openblas_coretype != "auto" && onednn_isa != "auto";
}

std::vector<std::pair<std::string, std::string>> NumericEnv::variables() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (const Choice* c = find_choice(aten_choices(), aten_capability))
    out.emplace_back("ATEN_CPU_CAPABILITY", c->variable_value);
  if (const Choice* c = find_choice(onednn_choices(), onednn_isa))
    out.emplace_back("ONEDNN_MAX_CPU_ISA", c->variable_value);
  out.emplace_back("MKL_NUM_THREADS", std::to_string(intra_op_threads));
  out.emplace_back("OMP_NUM_THREADS", std::to_string(intra_op_threads));
  if (const Choice* c = find_choice(openblas_choices(), openblas_coretype))
    out.emplace_back("OPENBLAS_CORETYPE", c->variable_value);
  out.emplace_back("OPENBLAS_NUM_THREADS", std::to_string(blas_threads));
  std::sort(out.begin(), out.end());
  return out;
}

std::string NumericEnv::describe() const {
  const auto threads = [](int64_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? " thread" : " threads");
  };
  return "ATen " + aten_capability + ", OpenBLAS " + openblas_coretype + ", oneDNN " + onednn_isa +
         ", " + threads(intra_op_threads, "intra-op") + ", " + threads(blas_threads, "BLAS");
}

const CpuInfo& CpuInfo::current() {
  static const CpuInfo kCpu = [] {
    CpuInfo cpu;
    if (const char* flags = std::getenv("DYNFAULT_TEST_CPU_FLAGS")) {
      std::istringstream words(flags);
      for (std::string w; words >> w;) cpu.flags.insert(w);
      cpu.model = "a CPU with the flags of DYNFAULT_TEST_CPU_FLAGS";
      return cpu;
    }
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key = line.substr(0, colon);
      key.erase(key.find_last_not_of(" \t") + 1);
      const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
      if (key == "model name" && cpu.model.empty()) cpu.model = value;
      if (key == "flags" && cpu.flags.empty()) {
        std::istringstream words(value);
        for (std::string w; words >> w;) cpu.flags.insert(w);
      }
    }
    if (cpu.model.empty()) cpu.model = "unknown CPU";
    return cpu;
  }();
  return kCpu;
}

std::string cpu_offers(const CpuInfo& cpu) {
  return "aten_capability " + join(offered(aten_choices(), cpu)) + "; openblas_coretype " +
         join(offered(openblas_choices(), cpu)) + "; onednn_isa " +
         join(offered(onednn_choices(), cpu));
}

void require_cpu_supports(const NumericEnv& env, const CpuInfo& cpu) {
  struct Kind {
    const char* key;
    const std::string& value;
    const std::vector<Choice>& choices;
  };
  const Kind kinds[] = {{"aten_capability", env.aten_capability, aten_choices()},
                        {"openblas_coretype", env.openblas_coretype, openblas_choices()},
                        {"onednn_isa", env.onednn_isa, onednn_choices()}};
  for (const auto& kind : kinds) {
    const Choice* c = find_choice(kind.choices, kind.value);
    if (c == nullptr) continue;  // auto or off
    const auto missing = missing_flags(*c, cpu);
    if (!missing.empty())
      throw Error("numeric." + std::string(kind.key) + " '" + c->name +
                  "' needs CPU features this CPU (" + cpu.model + ") lacks: " + join(missing) +
                  "; no run can start in it here. This CPU offers " + cpu_offers(cpu));
  }
}

NumericEnv numeric_env_to_replay(const std::string& execution_numeric) {
  Json j;
  try {
    j = Json::parse(execution_numeric);
  } catch (const Json::exception& e) {
    throw Error("recorded numeric environment '" + execution_numeric + "': " + e.what());
  }
  DYNFAULT_CHECK(j.is_object() && j.contains("requested"), "recorded numeric environment '",
                 execution_numeric, "': no \"requested\" environment");
  NumericEnv env = NumericEnv::from_json(j["requested"].dump());
  if (!j.contains("effective") || !j["effective"].is_object()) return env;
  const Json& used = j["effective"];
  const auto pin = [&](std::string& field, const char* key, const std::vector<Choice>& choices) {
    if (field != "auto" || !used.contains(key) || !used[key].is_string()) return;
    if (const Choice* c = find_choice(choices, used[key].get<std::string>())) field = c->name;
  };
  pin(env.aten_capability, "aten_capability", aten_choices());
  pin(env.openblas_coretype, "openblas_coretype", openblas_choices());
  pin(env.onednn_isa, "onednn_isa", onednn_choices());
  return env;
}

std::string numeric_difference(const NumericEnv& requested, const NumericEnv& e) {
  std::vector<std::string> out;
  if (requested.aten_capability != "auto" && e.aten_capability != requested.aten_capability)
    out.push_back("ATen uses " + e.aten_capability + " kernels, not " + requested.aten_capability);
  if (requested.openblas_coretype != "auto" &&
      lower(e.openblas_coretype) != lower(requested.openblas_coretype))
    out.push_back(e.openblas_coretype == "none"
                      ? "the BLAS in use is not OpenBLAS, so its core type cannot be chosen"
                      : "OpenBLAS uses core " + e.openblas_coretype + ", not " +
                            requested.openblas_coretype);
  if (requested.onednn_isa != "auto" && e.onednn_isa != requested.onednn_isa)
    out.push_back("oneDNN uses " + e.onednn_isa + ", not " + requested.onednn_isa);
  if (e.intra_op_threads != requested.intra_op_threads)
    out.push_back("LibTorch uses " + std::to_string(e.intra_op_threads) +
                  " intra-op threads, not " + std::to_string(requested.intra_op_threads));
  if (e.blas_threads != requested.blas_threads)
    out.push_back("OpenBLAS uses " + std::to_string(e.blas_threads) + " threads, not " +
                  std::to_string(requested.blas_threads));
  return join(out, "; ");
}

}  // namespace dynfault::runner
