// Decode-path matrix-vector kernels: rows [r0, r1) of a weight W (ne = [n, m]) times up to
// a few activation vectors at once, so a batch of B sequences reads every weight byte once
// per step. Hand-written AVX-512 per weight dtype (f32, f16, bf16, q8_0, q4_0: dequantized
// in registers and multiplied in f32); other dtypes go through a per-thread f32 row.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "model/tensor.h"

namespace lk {

// y[t * y_stride + r] = dot(W row r, x + t * x_stride) for r in [r0, r1), t in [0, n_x).
// Fails with kUnsupported for a dtype without a kernel or converter.
Status gemv_rows(const TensorView& w, int64_t r0, int64_t r1, const float* x, int64_t n_x,
                 int64_t x_stride, float* y, int64_t y_stride);

// The same product with plain scalar code (row_to_f32, then a sequential f32 sum): the
// reference the AVX-512 kernels are tested against.
Status gemv_rows_scalar(const TensorView& w, int64_t r0, int64_t r1, const float* x, int64_t n_x,
                        int64_t x_stride, float* y, int64_t y_stride);

// q8_0/q4_0 weights: quantize the activations to int8 blocks (as llama.cpp does) and use the
// AVX-512 VNNI integer dot product (on), or decode the weights to f32 in registers and keep
// f32 activations (off). Process-wide; on by default where VNNI exists. The int8 path adds
// the activation rounding error (|x - x_q| <= max|x| / 254 per 32-block).
void gemv_set_int8_activations(bool on);
bool gemv_int8_activations();

// True when dtype has a hand-written kernel (otherwise rows are converted first).
bool gemv_has_native_kernel(DType t);

}  // namespace lk
