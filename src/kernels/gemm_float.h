// Prefill GEMM for float weights (f32, f16, bf16) with AVX-512 FMA: activations are packed
// once per call into panels of 16 rows ([k][16 rows], f32, exact), each tile of 8 weight
// rows is converted to f32 (exact for f16/bf16), and a 8 x 32 register tile accumulates
// y = W x with the weight element broadcast and 16 activation rows per vector — no
// horizontal sums, one pass over W. Results equal sgemm's up to f32 summation order.
// Replaces OpenBLAS for projections: each sgemm call repacks the activation block, which
// for tiles of W costs more than it saves at prefill sizes.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "model/tensor.h"

namespace lk {

// True when this build has the AVX-512 kernel and dtype is f32, f16 or bf16.
bool gemm_float_supported(DType t);

// Opt-in bf16 products (process-wide, off by default): weights and activations are rounded
// to bf16 (round to nearest even) and multiplied by AVX-512 BF16 vdpbf16ps (two products
// per f32 lane per instruction, f32 sums): twice the FMA rate, with a relative error per
// product of up to ~2^-8 instead of exact f32 products. kUnsupported where the CPU or
// build lacks AVX-512 BF16.
Status gemm_float_set_bf16(bool on);
bool gemm_float_bf16();

// Activation rows packed for the kernel: groups of 16 rows (the last zero-padded),
// per group [n][16] f32, or in bf16 mode [ceil(n/2)][16] pairs of bf16 (k even in the low
// half).
struct FloatActivations {
  int64_t n = 0, rows = 0, groups = 0;
  bool bf16 = false;
  std::vector<float> data;      // [groups][n][16]
  std::vector<uint32_t> pairs;  // bf16 mode: [groups][(n + 1) / 2][16]
};

// Packs x ([rows][n], row stride x_stride); rows split over the work pool.
void pack_activations_float(const float* x, int64_t rows, int64_t n, int64_t x_stride,
                            FloatActivations* a);

// y[t * y_stride + r] = dot(W row r, x_t) for r in [r0, r1) and every activation row t.
Status gemm_float_rows(const TensorView& w, int64_t r0, int64_t r1, const FloatActivations& a,
                       float* y, int64_t y_stride);

}  // namespace lk
