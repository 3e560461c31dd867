#include "kernels/gemm_float.h"
#include "kernels/gemm_tile.h"

#include <immintrin.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "core/half.h"
#include "kernels/row_convert.h"
#include "kernels/work_pool.h"

namespace lk {

namespace {

constexpr int kRows = 8;    // weight rows per tile (interleave8_rows)
constexpr int kLanes = 16;  // activation rows per group

#if defined(__AVX512F__)
#define LK_GEMM_FLOAT 1

// Sweeps the activation groups of one weight tile 3 at a time (the register budget of the
// 8 x 48 tile), then 2 or 1 for the rest: fn(std::integral_constant<int, NG>, g, acc of g).
template <typename Fn>
void for_group_tiles(int64_t groups, float* acc, Fn&& fn) {
  for (int64_t g = 0; g < groups;) {
    float* am = acc + g * kRows * kLanes;
    const int64_t left = groups - g;
    if (left >= 3) {
      fn(std::integral_constant<int, 3>{}, g, am);
      g += 3;
    } else if (left == 2) {
      fn(std::integral_constant<int, 2>{}, g, am);
      g += 2;
    } else {
      fn(std::integral_constant<int, 1>{}, g, am);
      g += 1;
    }
  }
}

// Writes one tile's sums acc [groups][kRows][16] to y rows (output columns t0 .. t0 + nr).
void store_group_tiles(const float* acc, const FloatActivations& a, int nr, float* y,
                       int64_t y_stride, int64_t t0) {
  for (int64_t g = 0; g < a.groups; ++g) {
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, a.rows - g * kLanes));
    store_tile_transposed(acc + g * kRows * kLanes, kLanes, nr, lanes, y + g * kLanes * y_stride,
                          y_stride, t0);
  }
}

// acc[(j * kRows + r) * 16 + lane] += sum over k in [k0, k1) of w[k][r] * x(row (g0 + j) * 16
// + lane)[k], j < NG: a 8 x 16·NG register tile, the weight broadcast, no horizontal sums.
// w is the tile's panel [n][kRows]: the 8 weights of one k share a cache line (as rows
// n floats apart they would all fall in the same L1 set).
template <int NG>
void tile_kernel(const float* w, int64_t n, const FloatActivations& a, int64_t g0, int64_t k0,
                 int64_t k1, float* acc_mem) {
  __m512 acc[kRows][NG];
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < NG; ++j) acc[r][j] = _mm512_loadu_ps(acc_mem + (j * kRows + r) * kLanes);
  const float* x[NG];
  for (int j = 0; j < NG; ++j) x[j] = a.data.data() + (g0 + j) * n * kLanes;
  for (int64_t k = k0; k < k1; ++k) {
    __m512 xv[NG];
    for (int j = 0; j < NG; ++j) xv[j] = _mm512_loadu_ps(x[j] + k * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const __m512 wv = _mm512_set1_ps(w[k * kRows + r]);
      for (int j = 0; j < NG; ++j) acc[r][j] = _mm512_fmadd_ps(wv, xv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < NG; ++j) _mm512_storeu_ps(acc_mem + (j * kRows + r) * kLanes, acc[r][j]);
}
#endif

#if defined(__AVX512BF16__)
#define LK_GEMM_BF16 1
// The bf16 form of tile_kernel over k pairs [p0, p1): w is the panel [pairs][kRows] of
// (w[2p], w[2p+1]) bf16 pairs, x pairs [groups][pairs][16]; vdpbf16ps adds both products.
template <int NG>
void tile_kernel_bf16(const uint32_t* w, int64_t kp, const FloatActivations& a, int64_t g0,
                      int64_t p0, int64_t p1, float* acc_mem) {
  __m512 acc[kRows][NG];
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < NG; ++j) acc[r][j] = _mm512_loadu_ps(acc_mem + (j * kRows + r) * kLanes);
  const uint32_t* x[NG];
  for (int j = 0; j < NG; ++j) x[j] = a.pairs.data() + (g0 + j) * kp * kLanes;
  for (int64_t p = p0; p < p1; ++p) {
    __m512bh xv[NG];
    for (int j = 0; j < NG; ++j) xv[j] = (__m512bh)_mm512_loadu_si512(x[j] + p * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const __m512bh wv = (__m512bh)_mm512_set1_epi32(static_cast<int>(w[p * kRows + r]));
      for (int j = 0; j < NG; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], wv, xv[j]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < NG; ++j) _mm512_storeu_ps(acc_mem + (j * kRows + r) * kLanes, acc[r][j]);
}

// out[p] = (bf16(x[2p]), bf16(x[2p + 1])) for p < ceil(n / 2), x[n] taken as 0.
void to_bf16_pairs(const float* x, int64_t n, uint32_t* out) {
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(x + k));
    _mm512_storeu_si512(out + k / 2, (__m512i)h);
  }
  for (; k < n; k += 2) {
    const uint32_t lo = f32_to_bf16(x[k]), hi = k + 1 < n ? f32_to_bf16(x[k + 1]) : 0;
    out[k / 2] = lo | (hi << 16);
  }
}
#endif

bool g_bf16 = false;

}  // namespace

bool gemm_float_supported(DType t) {
#ifdef LK_GEMM_FLOAT
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16;
#else
  (void)t;
  return false;
#endif
}

Status gemm_float_set_bf16(bool on) {
#ifdef LK_GEMM_BF16
  g_bf16 = on;
  return Status::ok();
#else
  if (on) return unsupported("bf16 prefill GEMM needs AVX-512 BF16 (this CPU or build has none)");
  g_bf16 = false;
  return Status::ok();
#endif
}

bool gemm_float_bf16() {
  return g_bf16;
}

void pack_activations_float(const float* x, int64_t rows, int64_t n, int64_t x_stride,
                            FloatActivations* a) {
  a->n = n;
  a->rows = rows;
  a->groups = (rows + kLanes - 1) / kLanes;
  a->bf16 = g_bf16;
#ifdef LK_GEMM_BF16
  if (a->bf16) {
    const int64_t kp = (n + 1) / 2;
    a->data.clear();
    a->pairs.assign(a->groups * kp * kLanes, 0u);
    pool_for(
        a->groups,
        [&](int64_t g0, int64_t g1) {
          std::vector<uint32_t> row(kp);
          for (int64_t g = g0; g < g1; ++g) {
            uint32_t* dst = a->pairs.data() + g * kp * kLanes;
            const int64_t lanes = std::min<int64_t>(kLanes, rows - g * kLanes);
            for (int64_t l = 0; l < lanes; ++l) {
              to_bf16_pairs(x + (g * kLanes + l) * x_stride, n, row.data());
              for (int64_t p = 0; p < kp; ++p) dst[p * kLanes + l] = row[p];
            }
          }
        },
        1);
    return;
  }
#endif
  a->pairs.clear();
  a->data.assign(a->groups * n * kLanes, 0.0f);
  pool_for(
      a->groups,
      [&](int64_t g0, int64_t g1) {
        for (int64_t g = g0; g < g1; ++g) {
          float* dst = a->data.data() + g * n * kLanes;
          const int64_t lanes = std::min<int64_t>(kLanes, rows - g * kLanes);
          for (int64_t l = 0; l < lanes; ++l) {
            const float* src = x + (g * kLanes + l) * x_stride;
            for (int64_t k = 0; k < n; ++k) dst[k * kLanes + l] = src[k];
          }
        }
      },
      1);
}

#ifdef LK_GEMM_BF16
namespace {
// gemm_float_rows in bf16 mode: each tile's weight rows become a [pairs][kRows] bf16 panel.
Status gemm_bf16_rows(const TensorView& w, int64_t r0, int64_t r1, const FloatActivations& a,
                      float* y, int64_t y_stride) {
  const int64_t n = w.ne[0], kp = (n + 1) / 2;
  thread_local std::vector<float> row;       // [n] f32
  thread_local std::vector<uint32_t> prow;   // [kp] bf16 pairs
  thread_local std::vector<uint32_t> panel;  // [kp][kRows]
  row.resize(n);
  prow.resize(kp);
  panel.resize(kRows * kp);
  constexpr int64_t kKp = 256;          // k pairs per block: 512 k, the f32 kernel's L2 footprint
  thread_local std::vector<float> acc;  // [groups][kRows][16]
  for (int64_t t0 = r0; t0 < r1; t0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - t0));
    if (nr < kRows) std::fill(panel.begin(), panel.end(), 0u);
    for (int r = 0; r < nr; ++r) {
      LK_RETURN_IF_ERROR(row_to_f32(w, t0 + r, row.data()));
      to_bf16_pairs(row.data(), n, prow.data());
      for (int64_t p = 0; p < kp; ++p) panel[p * kRows + r] = prow[p];
    }
    acc.assign(a.groups * kRows * kLanes, 0.0f);
    for (int64_t p0 = 0; p0 < kp; p0 += kKp) {
      const int64_t p1 = std::min(kp, p0 + kKp);
      for_group_tiles(a.groups, acc.data(), [&](auto ng, int64_t g, float* am) {
        tile_kernel_bf16<decltype(ng)::value>(panel.data(), kp, a, g, p0, p1, am);
      });
    }
    store_group_tiles(acc.data(), a, nr, y, y_stride, t0);
  }
  return Status::ok();
}
}  // namespace
#endif

Status gemm_float_rows(const TensorView& w, int64_t r0, int64_t r1, const FloatActivations& a,
                       float* y, int64_t y_stride) {
#ifdef LK_GEMM_FLOAT
  if (!gemm_float_supported(w.dtype) || a.n != w.ne[0]) {
    return unsupported("float GEMM: weight type {} has no kernel", dtype_name(w.dtype));
  }
  const int64_t n = w.ne[0];
#ifdef LK_GEMM_BF16
  if (a.bf16) return gemm_bf16_rows(w, r0, r1, a, y, y_stride);
#endif
  thread_local std::vector<float> rows;   // [kRows][n] f32: the tile's weight rows
  thread_local std::vector<float> panel;  // [n][kRows] f32: the same, interleaved
  rows.resize(kRows * n);
  panel.resize(kRows * n);
  // k in blocks so the activation panels of a block (groups x kKc x 64 B, 512 KiB at 512
  // rows) stay in L2 while the tile's rows sweep them; partial sums wait in acc.
  constexpr int64_t kKc = 256;
  thread_local std::vector<float> acc;  // [groups][kRows][16]
  for (int64_t t0 = r0; t0 < r1; t0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - t0));
    if (nr < kRows) std::fill(rows.begin() + nr * n, rows.end(), 0.0f);
    for (int r = 0; r < nr; ++r) LK_RETURN_IF_ERROR(row_to_f32(w, t0 + r, rows.data() + r * n));
    interleave8_rows(rows.data(), n, panel.data());
    acc.assign(a.groups * kRows * kLanes, 0.0f);
    for (int64_t k0 = 0; k0 < n; k0 += kKc) {
      const int64_t k1 = std::min(n, k0 + kKc);
      for_group_tiles(a.groups, acc.data(), [&](auto ng, int64_t g, float* am) {
        tile_kernel<decltype(ng)::value>(panel.data(), n, a, g, k0, k1, am);
      });
    }
    store_group_tiles(acc.data(), a, nr, y, y_stride, t0);
  }
  return Status::ok();
#else
  (void)w;
  (void)r0;
  (void)r1;
  (void)a;
  (void)y;
  (void)y_stride;
  return unsupported("float GEMM needs AVX-512 (this build has none)");
#endif
}

}  // namespace lk
