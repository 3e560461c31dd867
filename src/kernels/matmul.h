// y = W x for a batch of activation rows, the one entry point the fast forward uses for
// every projection. Few rows (decode of B sequences): the AVX-512 GEMV kernels, one read of
// W for all rows. Many rows (prefill chunks): OpenBLAS sgemm on tiles of W — f32 weights in
// place, other dtypes dequantized tile by tile to f32 first. Threads: lk::parallel_for over
// output rows (OpenBLAS itself runs single-threaded inside each task).
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "model/tensor.h"

namespace lk {

// Activation rows at or below this use the GEMV kernels; above, GEMM.
inline constexpr int64_t kGemvMaxRows = 8;

// x: [n_x][n] (n = w.ne[0]); y: [n_x][m] (m = w.ne[1]).
Status matmul(const TensorView& w, const float* x, int64_t n_x, float* y);

// Several projections of the same activations (q/k/v, gate/up): ys[i] = ws[i] x. In the
// GEMV regime all rows are split over the threads in one parallel region.
Status matmul_multi(std::span<const TensorView* const> ws, const float* x, int64_t n_x,
                    std::span<float* const> ys);

// Forces one path (tests, benchmarks): false = GEMV kernels, true = tiled GEMM.
Status matmul_with(const TensorView& w, const float* x, int64_t n_x, float* y, bool gemm);

// Single-threaded sgemm for callers that parallelize themselves (attention):
// C[M][N] (ldc) = alpha * A[M][K] (lda) * B^T where B is [N][K] (ldb), + beta * C.
void sgemm_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// C[M][N] = alpha * A[M][K] * B[K][N] (ldb) + beta * C.
void sgemm_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace lk
