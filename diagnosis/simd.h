#pragma once
/// SIMD helpers for the learners' inner loops: GCC/Clang vector types of doubles and floats. Lane
/// by lane a vector operation is the scalar operation, so a kernel written with them rounds
/// exactly as the plain loop it replaces (no reassociation, no -ffast-math).
///
/// DYNFAULT_SIMD_CLONES compiles a function for AVX2 and for baseline x86-64 and picks one when
/// the program loads (GCC target_clones): 4-double (8-float) vectors are one AVX register or two
/// SSE2 ones.
/// AVX2 is requested without FMA, so a * b + c is never contracted: both versions give the same
/// bits.
#include <cstddef>
#include <cstring>

namespace dynfault::diagnosis::simd {

typedef double V2 __attribute__((vector_size(16)));
typedef double V4 __attribute__((vector_size(32)));
typedef float F4 __attribute__((vector_size(16)));
typedef float F8 __attribute__((vector_size(32)));

/// Unaligned load and store of a vector (by reference: no vector passes a call boundary, whose
/// ABI would differ between the AVX2 and the baseline versions of a caller).
template <typename V, typename T>
__attribute__((always_inline)) inline void load(V& v, const T* p) {
  std::memcpy(&v, p, sizeof(V));
}
template <typename V, typename T>
__attribute__((always_inline)) inline void store(T* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}

}  // namespace dynfault::diagnosis::simd

// (Define DYNFAULT_SIMD_CLONES empty to build the baseline version only.)
#ifndef DYNFAULT_SIMD_CLONES
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define DYNFAULT_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DYNFAULT_SIMD_CLONES
#endif
#endif
