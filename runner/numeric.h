#pragma once
/// The numeric environment a campaign's runs compute in, so that a campaign gives the same
/// traces bit for bit on any x86-64 machine with the same LibTorch, OpenBLAS and oneDNN builds.
/// Torch-free header.
///
/// Three libraries each pick CPU kernels at run time, and each choice changes the bits of the
/// results: ATen (LibTorch's elementwise, reduction and random-number kernels:
/// ATEN_CPU_CAPABILITY), OpenBLAS (matrix products of linear and recurrent layers:
/// OPENBLAS_CORETYPE) and oneDNN (convolutions: ONEDNN_MAX_CPU_ISA). Left alone, each picks the
/// best the CPU offers, so two machines compute different traces. A campaign's `numeric:` mapping
/// fixes all three and the thread counts:
///
/// ```yaml
/// numeric:                      # optional; the values shown are the defaults
///   aten_capability: avx2       # default | avx2 | avx512 | auto
///   openblas_coretype: Haswell  # Prescott | Core2 | Nehalem | Sandybridge | Haswell | Zen |
///                               #   SkylakeX | Cooperlake | auto
///   onednn_isa: avx2            # sse41 | avx | avx2 | avx2_vnni | avx512_core |
///                               #   avx512_core_vnni | avx512_core_bf16 | off | auto
///   intra_op_threads: 1         # LibTorch's intra-op threads (also OMP_ and MKL_NUM_THREADS)
///   blas_threads: 1             # OPENBLAS_NUM_THREADS
/// ```
/// The defaults run on every x86-64 CPU with AVX2 and FMA (Intel since Haswell, 2013; AMD since
/// Zen, 2017) and give the same bits on all of them: the fastest choice that every such machine
/// offers. `auto` leaves a choice to the library (the machine's best, not portable: the kernels it
/// picks are recorded per run); `onednn_isa: off` computes convolutions in ATen instead.
///
/// The planner records the campaign's environment and the library versions; workers start with
/// exactly that environment whatever their parent's (runner/executor.h), check that the
/// libraries took it, and record per run what was in effect. What the libraries are and use can
/// only be read through LibTorch: that half is runner/numeric_libraries.h (dynfault::runner);
/// this half, in the torch-free dynfault::campaign, receives the versions as data.
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dynfault::runner {

struct NumericEnv {
  std::string aten_capability = "avx2";       ///< ATEN_CPU_CAPABILITY (or auto)
  std::string openblas_coretype = "Haswell";  ///< OPENBLAS_CORETYPE (or auto)
  std::string onednn_isa = "avx2";            ///< ONEDNN_MAX_CPU_ISA (or off, auto)
  int64_t intra_op_threads = 1;               ///< torch::set_num_threads, OMP/MKL_NUM_THREADS
  int64_t blas_threads = 1;                   ///< OPENBLAS_NUM_THREADS

  /// Canonical JSON text (sorted keys): stored in the campaign row and per run.
  std::string to_json() const;
  /// Reads to_json()'s text; throws dynfault::Error for a missing or unknown key or a value
  /// validate() refuses.
  static NumericEnv from_json(const std::string& text);
  /// Throws dynfault::ConfigError (key and value; file and line are the caller's) for an unknown
  /// capability, core type or ISA, or a thread count outside [1, 256].
  void validate() const;
  /// True when no choice is left to the library (`auto`): the same bits on any machine that
  /// offers these kernels.
  bool pinned() const;
  /// The environment variables a worker starts with (besides those of executor.h), sorted.
  std::vector<std::pair<std::string, std::string>> variables() const;
  /// One line: "ATen avx2, OpenBLAS Haswell, oneDNN avx2, 1 intra-op thread, 1 BLAS thread".
  std::string describe() const;
  bool operator==(const NumericEnv& o) const { return to_json() == o.to_json(); }
  bool operator!=(const NumericEnv& o) const { return !(*this == o); }
};

/// The accepted values, in order of the CPU features they need (`auto` and `off` aside).
const std::vector<std::string>& aten_capabilities();
const std::vector<std::string>& openblas_coretypes();
const std::vector<std::string>& onednn_isas();

/// `value` spelt as in `names` when it matches one without regard to case (OpenBLAS ignores the
/// case of core types), else `value` unchanged.
std::string canonical_spelling(const std::vector<std::string>& names, const std::string& value);

/// What the CPU offers: its model name and its feature flags (/proc/cpuinfo).
struct CpuInfo {
  std::string model;
  std::set<std::string> flags;
  /// This machine's CPU (read once). For tests, DYNFAULT_TEST_CPU_FLAGS="avx avx2 ..." stands
  /// for the flags of /proc/cpuinfo (a CPU that lacks what this machine has).
  static const CpuInfo& current();
};

/// The values of each kind this CPU can run: "aten_capability default, avx2; openblas_coretype
/// Prescott, ..., Zen; onednn_isa sse41, avx, avx2".
std::string cpu_offers(const CpuInfo& cpu);

/// Throws dynfault::Error before anything runs when `env` asks for kernels `cpu` lacks (they
/// would die of SIGILL or silently fall back), naming the missing flags and what the CPU offers.
void require_cpu_supports(const NumericEnv& env, const CpuInfo& cpu);

/// The environment in which to train a run again (`dynfault replay`), from its record
/// (db::RunExecution::numeric): the requested one, with each `auto` replaced by the kernels the
/// run actually used where that is a value dynfault can pin. Throws dynfault::Error.
NumericEnv numeric_env_to_replay(const std::string& execution_numeric);

/// "" when `effective` (what a process's libraries use, runner::effective_numeric_env) is
/// `requested` in every pinned choice and in the thread counts; else what differs, e.g.
/// "OpenBLAS uses core Cooperlake, not Haswell".
std::string numeric_difference(const NumericEnv& requested, const NumericEnv& effective);

}  // namespace dynfault::runner
