#include "kernels/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "core/check.h"
#include "core/first_error.h"
#include "core/parallel.h"
#include "kernels/gemm_float.h"
#include "kernels/gemm_int8.h"
#include "kernels/gemv.h"
#include "kernels/row_convert.h"
#include "kernels/work_pool.h"

namespace lk {

namespace {

// OpenBLAS must not spawn its own threads inside our parallel regions.
void blas_single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

Status matmul_gemv(const TensorView& w, const float* x, int64_t n_x, float* y) {
  const int64_t n = w.ne[0], m = w.ne[1];
  FirstError err;
  // A thread's share must be worth a parallel region (~64 KiB of weights): tiny matrices
  // run on the calling thread instead of paying the fork/join.
  const int64_t min_rows = std::max<int64_t>(16, (64 * 1024) / std::max<int64_t>(1, w.row_bytes()));
  pool_for(
      m, [&](int64_t r0, int64_t r1) { err.set(gemv_rows(w, r0, r1, x, n_x, n, y, m)); }, min_rows);
  return err.get();
}

bool g_float_gemm = true;

bool use_int8_gemm(const TensorView& w) {
  return gemv_int8_activations() && gemm_int8_supported(w.dtype);
}

// Quantized weights: int8 x int8 products on activations quantized once for all threads.
Status matmul_gemm_int8(const TensorView& w, const Int8Activations& xa, float* y) {
  const int64_t m = w.ne[1];
  constexpr int64_t kTile = 16;  // rows per task: two 8-row panels
  FirstError err;
  pool_for((m + kTile - 1) / kTile, [&](int64_t t0, int64_t t1) {
    err.set(gemm_int8_rows(w, t0 * kTile, std::min(m, t1 * kTile), xa, y, m));
  });
  return err.get();
}

// Float weights: the AVX-512 panel kernel on activations packed once for all threads.
Status matmul_gemm_float(const TensorView& w, const FloatActivations& xa, float* y) {
  const int64_t m = w.ne[1];
  constexpr int64_t kTile = 16;
  FirstError err;
  pool_for((m + kTile - 1) / kTile, [&](int64_t t0, int64_t t1) {
    err.set(gemm_float_rows(w, t0 * kTile, std::min(m, t1 * kTile), xa, y, m));
  });
  return err.get();
}

Status matmul_gemm(const TensorView& w, const float* x, int64_t n_x, float* y) {
  if (gemm_float_supported(w.dtype) && g_float_gemm) {
    thread_local FloatActivations xa;
    pack_activations_float(x, n_x, w.ne[0], w.ne[0], &xa);
    return matmul_gemm_float(w, xa, y);
  }
  if (use_int8_gemm(w)) {
    thread_local Int8Activations xa;
    quantize_activations_int8(x, n_x, w.ne[0], w.ne[0], &xa);
    return matmul_gemm_int8(w, xa, y);
  }
  blas_single_threaded();
  const int64_t n = w.ne[0], m = w.ne[1];
  // Each sgemm call packs the whole activation block again, so tiles of W are large (up to
  // 4 MiB of f32; OpenBLAS blocks for the caches itself) while still giving every thread
  // about two tiles to balance. (Tiles of 512 KiB cost 30% in repacking at n = 8192.)
  const int64_t per_thread = (m + 2 * num_threads() - 1) / (2 * num_threads());
  const int64_t tile =
      std::clamp<int64_t>(std::min<int64_t>((4 << 20) / 4 / n, per_thread), 16, 1024);
  const int64_t n_tiles = (m + tile - 1) / tile;
  FirstError err;
  pool_for(n_tiles, [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> buf;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r0 = t * tile, rows = std::min(tile, m - r0);
      const float* wt;
      if (w.dtype == DType::kF32) {
        wt = reinterpret_cast<const float*>(w.row(r0));
      } else {
        buf.resize(tile * n);
        for (int64_t r = 0; r < rows; ++r) {
          const Status s = row_to_f32(w, r0 + r, buf.data() + r * n);
          if (!s.is_ok()) {
            err.set(s);
            return;
          }
        }
        wt = buf.data();
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_x),
                  static_cast<int>(rows), static_cast<int>(n), 1.0f, x, static_cast<int>(n), wt,
                  static_cast<int>(n), 0.0f, y + r0, static_cast<int>(m));
    }
  });
  return err.get();
}

}  // namespace

Status matmul_multi(std::span<const TensorView* const> ws, const float* x, int64_t n_x,
                    std::span<float* const> ys) {
  LK_CHECK(ws.size() == ys.size());
  if (n_x > kGemvMaxRows) {
    // Projections of the same activations share one quantization (packing) of them.
    thread_local Int8Activations xa;
    thread_local FloatActivations xf;
    bool quantized = false, packed = false;
    for (size_t i = 0; i < ws.size(); ++i) {
      if (g_float_gemm && gemm_float_supported(ws[i]->dtype)) {
        if (!packed) pack_activations_float(x, n_x, ws[i]->ne[0], ws[i]->ne[0], &xf);
        packed = true;
        LK_RETURN_IF_ERROR(matmul_gemm_float(*ws[i], xf, ys[i]));
      } else if (use_int8_gemm(*ws[i])) {
        if (!quantized) quantize_activations_int8(x, n_x, ws[i]->ne[0], ws[i]->ne[0], &xa);
        quantized = true;
        LK_RETURN_IF_ERROR(matmul_gemm_int8(*ws[i], xa, ys[i]));
      } else {
        LK_RETURN_IF_ERROR(matmul_gemm(*ws[i], x, n_x, ys[i]));
      }
    }
    return Status::ok();
  }
  // Rows of all matrices laid end to end; each thread takes one contiguous range.
  std::vector<int64_t> start(ws.size() + 1, 0);
  int64_t bytes = 0;
  for (size_t i = 0; i < ws.size(); ++i) {
    LK_CHECK(ws[i]->ne[0] == ws[0]->ne[0]);
    start[i + 1] = start[i] + ws[i]->ne[1];
    bytes += ws[i]->row_bytes() * ws[i]->ne[1];
  }
  const int64_t total = start.back(), n = ws[0]->ne[0];
  const int64_t min_rows = std::max<int64_t>(16, (64 * 1024) * total / std::max<int64_t>(1, bytes));
  FirstError err;
  pool_for(
      total,
      [&](int64_t a, int64_t b) {
        for (size_t i = 0; i < ws.size(); ++i) {
          const int64_t lo = std::max(a, start[i]), hi = std::min(b, start[i + 1]);
          if (lo < hi) {
            err.set(
                gemv_rows(*ws[i], lo - start[i], hi - start[i], x, n_x, n, ys[i], ws[i]->ne[1]));
          }
        }
      },
      min_rows);
  return err.get();
}

Status matmul_with(const TensorView& w, const float* x, int64_t n_x, float* y, bool gemm) {
  if (n_x <= 0) return Status::ok();
  return gemm ? matmul_gemm(w, x, n_x, y) : matmul_gemv(w, x, n_x, y);
}

Status matmul(const TensorView& w, const float* x, int64_t n_x, float* y) {
  return matmul_with(w, x, n_x, y, n_x > kGemvMaxRows);
}

void sgemm_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  blas_single_threaded();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

void sgemm_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  blas_single_threaded();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

}  // namespace lk
