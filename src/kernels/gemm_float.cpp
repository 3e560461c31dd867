#include "kernels/gemm_float.h"
#include "kernels/gemm_tile.h"

#include <immintrin.h>

#include <algorithm>

#include "kernels/row_convert.h"
#include "kernels/work_pool.h"

namespace lk {

namespace {

constexpr int kRows = 8;    // weight rows per tile
constexpr int kLanes = 16;  // activation rows per group

#if defined(__AVX512F__)
#define LK_GEMM_FLOAT 1

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

}  // namespace

bool gemm_float_supported(DType t) {
#ifdef LK_GEMM_FLOAT
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16;
#else
  (void)t;
  return false;
#endif
}

void pack_activations_float(const float* x, int64_t rows, int64_t n, int64_t x_stride,
                            FloatActivations* a) {
  a->n = n;
  a->rows = rows;
  a->groups = (rows + kLanes - 1) / kLanes;
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

Status gemm_float_rows(const TensorView& w, int64_t r0, int64_t r1, const FloatActivations& a,
                       float* y, int64_t y_stride) {
#ifdef LK_GEMM_FLOAT
  if (!gemm_float_supported(w.dtype) || a.n != w.ne[0]) {
    return unsupported("float GEMM: weight type {} has no kernel", dtype_name(w.dtype));
  }
  const int64_t n = w.ne[0];
  thread_local std::vector<float> row;    // [n] f32: one weight row
  thread_local std::vector<float> panel;  // [n][kRows] f32: the tile's rows interleaved
  row.resize(n);
  panel.resize(kRows * n);
  // k in blocks so the activation panels of a block (groups x kKc x 64 B, 512 KiB at 512
  // rows) stay in L2 while the tile's rows sweep them; partial sums wait in acc.
  constexpr int64_t kKc = 256;
  thread_local std::vector<float> acc;  // [groups][kRows][16]
  for (int64_t t0 = r0; t0 < r1; t0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - t0));
    if (nr < kRows) std::fill(panel.begin(), panel.end(), 0.0f);
    for (int r = 0; r < nr; ++r) {
      LK_RETURN_IF_ERROR(row_to_f32(w, t0 + r, row.data()));
      for (int64_t k = 0; k < n; ++k) panel[k * kRows + r] = row[k];
    }
    acc.assign(a.groups * kRows * kLanes, 0.0f);
    for (int64_t k0 = 0; k0 < n; k0 += kKc) {
      const int64_t k1 = std::min(n, k0 + kKc);
      for (int64_t g = 0; g < a.groups;) {
        float* am = acc.data() + g * kRows * kLanes;
        const int64_t left = a.groups - g;
        if (left >= 3) {
          tile_kernel<3>(panel.data(), n, a, g, k0, k1, am);
          g += 3;
        } else if (left == 2) {
          tile_kernel<2>(panel.data(), n, a, g, k0, k1, am);
          g += 2;
        } else {
          tile_kernel<1>(panel.data(), n, a, g, k0, k1, am);
          g += 1;
        }
      }
    }
    for (int64_t g = 0; g < a.groups; ++g) {
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, a.rows - g * kLanes));
      store_tile_transposed(acc.data() + g * kRows * kLanes, kLanes, nr, lanes,
                            y + g * kLanes * y_stride, y_stride, t0);
    }
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
