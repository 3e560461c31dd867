// The pack and store steps shared by the prefill GEMMs (gemm_float, gemm_int8): a tile
// accumulates weight rows × activation lanes, while the output is activation-major, and the
// weight panel is k-major. Both are 8 x 8 float transposes (AVX: 24 shuffles instead of 64
// scalar loads and stores).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace lk {

#if defined(__AVX__)
// dst[c * dst_stride + r] = src[r * src_stride + c] for r, c < 8.
inline void transpose8x8(const float* src, int64_t src_stride, float* dst, int64_t dst_stride) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * src_stride);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // a0 b0 a1 b1 | a4 b4 a5 b5
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // a2 b2 a3 b3 | a6 b6 a7 b7
  }
  for (int i = 0; i < 8; i += 4) {
    for (int j = 0; j < 2; ++j) {
      r[i + j] = _mm256_shuffle_ps(t[i + j], t[i + j + 2], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + j + 2] = _mm256_shuffle_ps(t[i + j], t[i + j + 2], _MM_SHUFFLE(3, 2, 3, 2));
    }
  }
  // r[0] = col 0|4 of rows 0-3, r[2] = col 1|5, r[1] = col 2|6, r[3] = col 3|7; r[4..7]: rows 4-7.
  const int order[4] = {0, 2, 1, 3};
  for (int c = 0; c < 4; ++c) {
    const __m256 lo = r[order[c]], hi = r[4 + order[c]];
    _mm256_storeu_ps(dst + c * dst_stride, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(dst + (c + 4) * dst_stride, _mm256_permute2f128_ps(lo, hi, 0x31));
  }
}
#endif

// acc: [nr][lane_stride] (weight row r, activation lane l); y: [lanes][y_stride], the rows of
// one activation group. Writes y[l][t0 + r] = acc[r][l] for r < nr, l < lanes.
inline void store_tile_transposed(const float* acc, int lane_stride, int nr, int lanes, float* y,
                                  int64_t y_stride, int64_t t0) {
  int l0 = 0;
#if defined(__AVX__)
  if (nr == 8) {
    for (; l0 + 8 <= lanes; l0 += 8)
      transpose8x8(acc + l0, lane_stride, y + l0 * y_stride + t0, y_stride);
  }
#endif
  for (int l = l0; l < lanes; ++l) {
    float* yr = y + l * y_stride + t0;
    for (int r = 0; r < nr; ++r) yr[r] = acc[r * lane_stride + l];
  }
}

// panel[k * 8 + r] = rows[r * n + k] for r < 8, k < n: 8 weight rows made k-major.
inline void interleave8_rows(const float* rows, int64_t n, float* panel) {
  int64_t k = 0;
#if defined(__AVX__)
  for (; k + 8 <= n; k += 8) transpose8x8(rows + k, n, panel + k * 8, 8);
#endif
  for (; k < n; ++k)
    for (int r = 0; r < 8; ++r) panel[k * 8 + r] = rows[r * n + k];
}

}  // namespace lk
