#include "kernels/gemv.h"

#include <immintrin.h>

#include <cstring>
#include <vector>

#include "core/half.h"
#include "kernels/row_convert.h"

namespace lk {

namespace {

constexpr int kMaxX = 4;  // activation vectors handled per pass over a row

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__F16C__)
#define LK_GEMV_AVX512 1

// Loads 16 weights starting at element i of a float-typed row as f32 lanes.
struct LoadF32 {
  static __m512 load(const uint8_t* row, int64_t i) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i);
  }
  static __m512 load_masked(const uint8_t* row, int64_t i, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + i);
  }
};
struct LoadF16 {
  static __m512 load(const uint8_t* row, int64_t i) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(row) + i)));
  }
  static __m512 load_masked(const uint8_t* row, int64_t i, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + i));
  }
};
struct LoadBF16 {
  static __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static __m512 load(const uint8_t* row, int64_t i) {
    return widen(_mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(row) + i)));
  }
  static __m512 load_masked(const uint8_t* row, int64_t i, __mmask16 m) {
    return widen(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + i));
  }
};

// One row of a float dtype against NX activation vectors; two accumulators per vector
// keep two FMA chains in flight.
template <class L, int NX>
void row_dot_float(const uint8_t* row, int64_t n, const float* x, int64_t xs, float* out) {
  __m512 acc0[NX], acc1[NX];
  for (int t = 0; t < NX; ++t) acc0[t] = acc1[t] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 w0 = L::load(row, i), w1 = L::load(row, i + 16);
    for (int t = 0; t < NX; ++t) {
      acc0[t] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + t * xs + i), acc0[t]);
      acc1[t] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + t * xs + i + 16), acc1[t]);
    }
  }
  for (; i < n; i += 16) {
    const int64_t left = n - i;
    const __mmask16 m =
        left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    const __m512 w = L::load_masked(row, i, m);
    for (int t = 0; t < NX; ++t) {
      acc0[t] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m, x + t * xs + i), acc0[t]);
    }
  }
  for (int t = 0; t < NX; ++t) out[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[t], acc1[t]));
}

inline float load_f16_scale(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// q8_0: per 32-element block, f16 scale d then 32 int8; the block's partial dot is formed
// in f32 and scaled once.
template <int NX>
void row_dot_q8_0(const uint8_t* row, int64_t n, const float* x, int64_t xs, float* out) {
  __m512 acc[NX];
  for (int t = 0; t < NX; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b, row += 34) {
    const __m512 d = _mm512_set1_ps(load_f16_scale(row));
    const __m512 w0 = _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2))));
    const __m512 w1 = _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 18))));
    for (int t = 0; t < NX; ++t) {
      const float* xb = x + t * xs + b * 32;
      __m512 p = _mm512_mul_ps(w0, _mm512_loadu_ps(xb));
      p = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xb + 16), p);
      acc[t] = _mm512_fmadd_ps(d, p, acc[t]);
    }
  }
  for (int t = 0; t < NX; ++t) out[t] = _mm512_reduce_add_ps(acc[t]);
}

// q4_0: f16 scale then 16 bytes; low nibbles are elements 0..15, high nibbles 16..31,
// each stored + 8.
template <int NX>
void row_dot_q4_0(const uint8_t* row, int64_t n, const float* x, int64_t xs, float* out) {
  __m512 acc[NX];
  for (int t = 0; t < NX; ++t) acc[t] = _mm512_setzero_ps();
  const __m128i low4 = _mm_set1_epi8(0x0f);
  const __m512 eight = _mm512_set1_ps(8.0f);
  for (int64_t b = 0; b < n / 32; ++b, row += 18) {
    const __m512 d = _mm512_set1_ps(load_f16_scale(row));
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2));
    const __m512 w0 =
        _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(v, low4))), eight);
    const __m512 w1 = _mm512_sub_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v, 4), low4))), eight);
    for (int t = 0; t < NX; ++t) {
      const float* xb = x + t * xs + b * 32;
      __m512 p = _mm512_mul_ps(w0, _mm512_loadu_ps(xb));
      p = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xb + 16), p);
      acc[t] = _mm512_fmadd_ps(d, p, acc[t]);
    }
  }
  for (int t = 0; t < NX; ++t) out[t] = _mm512_reduce_add_ps(acc[t]);
}

using RowDotFn = void (*)(const uint8_t*, int64_t, const float*, int64_t, float*);

template <template <int> class K>
RowDotFn pick(int nx) {
  switch (nx) {
    case 1:
      return &K<1>::run;
    case 2:
      return &K<2>::run;
    case 3:
      return &K<3>::run;
    default:
      return &K<4>::run;
  }
}
template <int NX>
struct KF32 {
  static void run(const uint8_t* r, int64_t n, const float* x, int64_t s, float* o) {
    row_dot_float<LoadF32, NX>(r, n, x, s, o);
  }
};
template <int NX>
struct KF16 {
  static void run(const uint8_t* r, int64_t n, const float* x, int64_t s, float* o) {
    row_dot_float<LoadF16, NX>(r, n, x, s, o);
  }
};
template <int NX>
struct KBF16 {
  static void run(const uint8_t* r, int64_t n, const float* x, int64_t s, float* o) {
    row_dot_float<LoadBF16, NX>(r, n, x, s, o);
  }
};
template <int NX>
struct KQ8 {
  static void run(const uint8_t* r, int64_t n, const float* x, int64_t s, float* o) {
    row_dot_q8_0<NX>(r, n, x, s, o);
  }
};
template <int NX>
struct KQ4 {
  static void run(const uint8_t* r, int64_t n, const float* x, int64_t s, float* o) {
    row_dot_q4_0<NX>(r, n, x, s, o);
  }
};

RowDotFn row_dot_for(DType t, int nx) {
  switch (t) {
    case DType::kF32:
      return pick<KF32>(nx);
    case DType::kF16:
      return pick<KF16>(nx);
    case DType::kBF16:
      return pick<KBF16>(nx);
    case DType::kQ8_0:
      return pick<KQ8>(nx);
    case DType::kQ4_0:
      return pick<KQ4>(nx);
    default:
      return nullptr;
  }
}
#endif  // AVX-512

}  // namespace

bool gemv_has_native_kernel(DType t) {
#ifdef LK_GEMV_AVX512
  return row_dot_for(t, 1) != nullptr;
#else
  return false;
#endif
}

Status gemv_rows_scalar(const TensorView& w, int64_t r0, int64_t r1, const float* x, int64_t n_x,
                        int64_t x_stride, float* y, int64_t y_stride) {
  const int64_t n = w.ne[0];
  std::vector<float> row(n);
  for (int64_t r = r0; r < r1; ++r) {
    LK_RETURN_IF_ERROR(row_to_f32(w, r, row.data()));
    for (int64_t t = 0; t < n_x; ++t) {
      const float* xt = x + t * x_stride;
      float s = 0.0f;
      for (int64_t j = 0; j < n; ++j) s += row[j] * xt[j];
      y[t * y_stride + r] = s;
    }
  }
  return Status::ok();
}

Status gemv_rows(const TensorView& w, int64_t r0, int64_t r1, const float* x, int64_t n_x,
                 int64_t x_stride, float* y, int64_t y_stride) {
#ifdef LK_GEMV_AVX512
  const int64_t n = w.ne[0];
  const int64_t rb = w.row_bytes();
  if (row_dot_for(w.dtype, 1) != nullptr) {
    for (int64_t t0 = 0; t0 < n_x; t0 += kMaxX) {
      const int nx = static_cast<int>(std::min<int64_t>(kMaxX, n_x - t0));
      const RowDotFn fn = row_dot_for(w.dtype, nx);
      const float* xt = x + t0 * x_stride;
      float out[kMaxX];
      const auto* base = static_cast<const uint8_t*>(w.data);
      for (int64_t r = r0; r < r1; ++r) {
        fn(base + r * rb, n, xt, x_stride, out);
        for (int t = 0; t < nx; ++t) y[(t0 + t) * y_stride + r] = out[t];
      }
    }
    return Status::ok();
  }
  // Other dtypes: convert each row once to f32 and reuse it for every activation vector.
  thread_local std::vector<float> row;
  row.resize(n);
  const RowDotFn f32 = row_dot_for(DType::kF32, 1);
  for (int64_t r = r0; r < r1; ++r) {
    LK_RETURN_IF_ERROR(row_to_f32(w, r, row.data()));
    for (int64_t t = 0; t < n_x; ++t) {
      float o;
      f32(reinterpret_cast<const uint8_t*>(row.data()), n, x + t * x_stride, 0, &o);
      y[t * y_stride + r] = o;
    }
  }
  return Status::ok();
#else
  return gemv_rows_scalar(w, r0, r1, x, n_x, x_stride, y, y_stride);
#endif
}

}  // namespace lk
