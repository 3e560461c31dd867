// Prefill GEMM for quantized weights (q8_0, q4_0, q4_k, q5_k, q6_k) with int8 products:
// activations are quantized once per call to int8 per 32 elements (one f32 scale each, as
// llama.cpp does), each tile of 8 weight rows is decoded to int8 codes with per-sub-block
// f32 scales (and mins for q4_k/q5_k) — the weights' own codes, no requantization — and the
// products run on AVX-512 VNNI (vpdpbusd): one instruction multiplies 4 consecutive weights
// of one row with the same 4 elements of 16 activation rows, so the int32 sums of a sub-block
// need no horizontal reduction. Error: exactly the activation rounding
// (|x - x_q| <= max|x_block| / 254), as the int8 GEMV path.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "model/tensor.h"

namespace lk {

// True when this build has the VNNI kernel and dtype has an int8 decoder.
bool gemm_int8_supported(DType t);

// Activations laid out for the kernel: rows in groups of 16 (the last group zero-padded),
// per group and 32-element block: 8 quads x 16 rows x 4 bytes of (q + 128) as u8, the 16
// rows' scales, and the 16 rows' exact f32 block sums (for the q4_k/q5_k mins).
struct Int8Activations {
  int64_t n = 0;             // elements per row (a multiple of 32)
  int64_t rows = 0;          // activation rows
  int64_t groups = 0;        // ceil(rows / 16)
  std::vector<uint8_t> q;    // [groups][n/32][8][16][4]
  std::vector<float> scale;  // [groups][n/32][16]
  std::vector<float> sum;    // [groups][n/32][16]
};

// Quantizes x ([rows][n], row stride x_stride) into a; rows split over the work pool.
void quantize_activations_int8(const float* x, int64_t rows, int64_t n, int64_t x_stride,
                               Int8Activations* a);

// y[t * y_stride + r] = dot(W row r, x_t) for r in [r0, r1) and every activation row t.
Status gemm_int8_rows(const TensorView& w, int64_t r0, int64_t r1, const Int8Activations& a,
                      float* y, int64_t y_stride);

}  // namespace lk
