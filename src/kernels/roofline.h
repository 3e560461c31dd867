// This machine's ceilings, measured: memory read bandwidth (plain AVX-512 reads over a buffer
// far larger than the last-level cache, all threads; the best of three read loops) and the f32 GEMM
// peak (OpenBLAS sgemm on large square matrices, all threads). `longkv bench` reports speed as a %
// of them.
#pragma once

#include <cstdint>

namespace lk {

struct BandwidthResult {
  double bytes_per_second = 0;
  int64_t buffer_bytes = 0;
  int threads = 0;
  const char* method = "";  // the read loop that was fastest (seq4, seq8, streams4)
};

// Best of `reps` rounds of each read loop reading `buffer_bytes` (default 1 GiB: >> a 32 MiB L3)
// with lk::num_threads() threads.
BandwidthResult measure_read_bandwidth(int64_t buffer_bytes = int64_t{1} << 30, int reps = 5);

struct GemmPeakResult {
  double flops_per_second = 0;
  int n = 0;  // square size used
  int threads = 0;
};

// Best of `reps` sgemm calls of n x n x n, OpenBLAS threaded over lk::num_threads().
GemmPeakResult measure_sgemm_peak(int n = 2048, int reps = 3);

}  // namespace lk
