// The store step shared by the prefill GEMMs (gemm_float, gemm_int8): a tile accumulates
// weight rows × activation lanes, while the output is activation-major.
#pragma once

#include <cstdint>

namespace lk {

// acc: [nr][lane_stride] (weight row r, activation lane l); y: [lanes][y_stride], the rows of
// one activation group. Writes y[l][t0 + r] = acc[r][l] for r < nr, l < lanes.
inline void store_tile_transposed(const float* acc, int lane_stride, int nr, int lanes, float* y,
                                  int64_t y_stride, int64_t t0) {
  for (int l = 0; l < lanes; ++l) {
    float* yr = y + l * y_stride + t0;
    for (int r = 0; r < nr; ++r) yr[r] = acc[r * lane_stride + l];
  }
}

}  // namespace lk
