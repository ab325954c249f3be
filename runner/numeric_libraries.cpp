#include "runner/numeric_libraries.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <dlfcn.h>

#include <cctype>
#include <sstream>

#include "programs/recipe.h"

namespace dynfault::runner {
namespace {

using programs::Json;

// OpenBLAS names its core in its own case in the configuration string.
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// A library function found at run time, or nullptr when the library is not loaded.
template <typename Fn>
Fn library_function(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

std::string openblas_corename() {
  const auto fn = library_function<const char* (*)()>("openblas_get_corename");
  return fn ? std::string(fn()) : std::string();
}

/// ATen's capability in effect, from its configuration report ("CPU capability usage: AVX2"):
/// the dispatcher's choice is not exported otherwise.
std::string aten_capability_in_effect() {
  const std::string config = at::show_config();
  const std::string tag = "CPU capability usage: ";
  const auto p = config.find(tag);
  if (p == std::string::npos) return "unknown";
  const std::string v = config.substr(p + tag.size(), config.find('\n', p) - p - tag.size());
  if (v == "NO AVX") return "default";
  if (v == "AVX2") return "avx2";
  if (v == "AVX512") return "avx512";
  return "unknown (" + v + ")";
}

std::string onednn_isa_in_effect() {
  if (!at::globalContext().userEnabledMkldnn()) return "off";
  const auto fn = library_function<int (*)()>("dnnl_get_effective_cpu_isa");
  if (fn == nullptr) return "none";
  // dnnl_cpu_isa_t of oneDNN 2.x (include/oneapi/dnnl/dnnl_types.h).
  switch (fn()) {
    case 0x1:
      return "sse41";
    case 0x3:
      return "avx";
    case 0x7:
      return "avx2";
    case 0x407:
      return "avx2_vnni";
    case 0x27:
      return "avx512_core";
    case 0x67:
      return "avx512_core_vnni";
    case 0xe7:
      return "avx512_core_bf16";
    case 0x3e7:
      return "avx512_core_amx";
    default: {
      std::ostringstream os;
      os << "unknown (0x" << std::hex << fn() << ")";
      return os.str();
    }
  }
}

/// "1.13.0" from "... TORCH_VERSION=1.13.0, ...".
std::string torch_version() {
  const std::string config = at::show_config();
  const std::string tag = "TORCH_VERSION=";
  const auto p = config.find(tag);
  if (p == std::string::npos) return "unknown";
  const auto end = config.find_first_of(", \n", p + tag.size());
  return config.substr(p + tag.size(), end - p - tag.size());
}

/// "0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY MAX_THREADS=64" from OpenBLAS's configuration,
/// without the core name (which the numeric environment chooses, not the build).
std::string openblas_version() {
  const auto fn = library_function<const char* (*)()>("openblas_get_config");
  if (fn == nullptr) return "none";
  std::istringstream words(fn());
  const std::string core = lower(openblas_corename());
  std::string word, out;
  words >> word;  // "OpenBLAS"
  while (words >> word)
    if (lower(word) != core) out += (out.empty() ? "" : " ") + word;
  return out;
}

/// "2.6.3" from "Intel(R) MKL-DNN v2.6.3 (Git Hash N/A)".
std::string onednn_version() {
  const std::string s = at::get_mkldnn_version();
  const auto v = s.find(" v");
  if (v == std::string::npos) return s.empty() ? "none" : s;
  return s.substr(v + 2, s.find(' ', v + 2) - v - 2);
}

}  // namespace

std::map<std::string, std::string> library_versions() {
  return {{"libtorch", torch_version()},
          {"onednn", onednn_version()},
          {"openblas", openblas_version()}};
}

std::string library_versions_json() { return Json(library_versions()).dump(); }

void apply_in_process(const NumericEnv& env) {
  at::set_num_threads(static_cast<int>(env.intra_op_threads));
  at::globalContext().setUserEnabledMkldnn(env.onednn_isa != "off");
  if (const auto fn = library_function<void (*)(int)>("openblas_set_num_threads"))
    fn(static_cast<int>(env.blas_threads));
}

NumericEnv effective_numeric_env(const NumericEnv& requested) {
  NumericEnv e = requested;
  e.aten_capability = aten_capability_in_effect();
  const std::string core = openblas_corename();
  e.openblas_coretype = core.empty() ? "none" : canonical_spelling(openblas_coretypes(), core);
  e.onednn_isa = onednn_isa_in_effect();
  e.intra_op_threads = at::get_num_threads();
  if (const auto fn = library_function<int (*)()>("openblas_get_num_threads"))
    e.blas_threads = fn();
  return e;
}

std::string numeric_mismatch(const NumericEnv& requested) {
  return numeric_difference(requested, effective_numeric_env(requested));
}

}  // namespace dynfault::runner
