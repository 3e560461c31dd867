#include "kernels/roofline.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/timer.h"

namespace lk {

namespace {

// Three plain reads of a thread's range (summed so the loads cannot be optimized away):
// which one the memory system serves fastest differs between machines, so the probe takes
// the best. Every byte is read exactly once per pass by every method.
#if defined(__AVX512F__)
// One sequential stream, 4 independent add chains.
float read_seq4(const float* p, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; i < n; ++i) s += p[i];
  return s;
}
// One sequential stream, two cache lines per step, 8 chains.
float read_seq8(const float* p, int64_t n) {
  __m512 a[8];
  for (auto& v : a) v = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 128 <= n; i += 128)
    for (int k = 0; k < 8; ++k) a[k] = _mm512_add_ps(a[k], _mm512_load_ps(p + i + 16 * k));
  __m512 t = a[0];
  for (int k = 1; k < 8; ++k) t = _mm512_add_ps(t, a[k]);
  float s = _mm512_reduce_add_ps(t);
  for (; i < n; ++i) s += p[i];
  return s;
}
// The range cut in 4 parts read side by side: 4 streams in flight per thread.
float read_streams4(const float* p, int64_t n) {
  const int64_t q = n / 4 / 16 * 16;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < q; i += 16) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + q + i));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + 2 * q + i));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + 3 * q + i));
  }
  float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (int64_t i = 4 * q; i < n; ++i) s += p[i];
  return s;
}
#else
float read_seq4(const float* p, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += p[i];
  return s;
}
float read_seq8(const float* p, int64_t n) {
  return read_seq4(p, n);
}
float read_streams4(const float* p, int64_t n) {
  return read_seq4(p, n);
}
#endif

struct ReadMethod {
  const char* name;
  float (*fn)(const float*, int64_t);
};
constexpr ReadMethod kReadMethods[] = {
    {"seq4", read_seq4}, {"seq8", read_seq8}, {"streams4", read_streams4}};

}  // namespace

BandwidthResult measure_read_bandwidth(int64_t buffer_bytes, int reps) {
  const int64_t n = buffer_bytes / 4;
  float* buf = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(n) * 4));
  // First touch from the threads that will read it.
  parallel_for(
      n,
      [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) buf[i] = 1.0f;
      },
      1 << 20);
  BandwidthResult r;
  r.buffer_bytes = n * 4;
  r.threads = num_threads();
  volatile float sink = 0;
  for (int rep = 0; rep < reps; ++rep) {
    for (const ReadMethod& m : kReadMethods) {
      Timer t;
      parallel_for(n / 64, [&](int64_t a, int64_t b) {
        const float s = m.fn(buf + a * 64, (b - a) * 64);
        sink = sink + s;
      });
      const double bps = static_cast<double>(n) * 4 / t.seconds();
      if (bps > r.bytes_per_second) {
        r.bytes_per_second = bps;
        r.method = m.name;
      }
    }
  }
  std::free(buf);
  return r;
}

GemmPeakResult measure_sgemm_peak(int n, int reps) {
  std::vector<float> a(static_cast<size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
  openblas_set_num_threads(num_threads());
  GemmPeakResult r;
  r.n = n;
  r.threads = num_threads();
  for (int rep = 0; rep < reps + 1; ++rep) {  // first call warms up (packing buffers, threads)
    Timer t;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data(), n, b.data(), n,
                0.0f, c.data(), n);
    const double sec = t.seconds();
    if (rep > 0) r.flops_per_second = std::max(r.flops_per_second, 2.0 * n * n * n / sec);
  }
  openblas_set_num_threads(1);  // matmul() parallelizes itself and wants BLAS single-threaded
  return r;
}

}  // namespace lk
