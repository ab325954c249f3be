#pragma once
/// Process-wide allocator setting for the commands that fit thousands of models.
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace dynfault {

/// Keeps freed heap memory in the process instead of returning it to the kernel. The evaluation
/// copies, scales and bins multi-megabyte training folds thousands of times; with glibc's
/// defaults every free above the trim threshold hands the pages back, and the next fold pays
/// page faults and zeroing for them again (about 10% of the evaluation's CPU time, measured by
/// bench/bench_evaluation). Memory use stays bounded by the peak. No effect without glibc.
inline void keep_freed_heap_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);   // allocations below 32 MiB come from the heap
  mallopt(M_TRIM_THRESHOLD, 512 << 20);  // and up to 512 MiB of free heap is kept
#endif
}

}  // namespace dynfault
