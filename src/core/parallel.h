// Data-parallel loops over OpenMP. The thread count is process-wide (set_num_threads, the
// CLI's -t); kernels split work with parallel_for so every hot loop honours it.
#pragma once

#include <cstdint>
#include <functional>

namespace lk {

void set_num_threads(int n);  // n <= 0: all hardware threads
int num_threads();

// Calls fn(begin, end) on disjoint chunks covering [0, n), in parallel.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                  int64_t min_chunk = 1);

}  // namespace lk
