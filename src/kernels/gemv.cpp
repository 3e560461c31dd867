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

// kRowsWide rows of a float dtype against one activation vector (decode): x is loaded once
// per step for all of them. For long rows (x of n floats no longer fits in L1 beside the
// weight stream: ffn_down's 32 KiB at n = 8192) reading x again for every row halved the
// weight read rate; for short rows one row at a time reads faster (its x stays in L1).
constexpr int kRowsWide = 8;
constexpr int64_t kWideMinN = 4096;  // x of 16 KiB and more
template <class L>
void rows_wide_dot_float(const uint8_t* row, int64_t rb, int64_t n, const float* x, float* out) {
  __m512 acc[kRowsWide];
  for (int j = 0; j < kRowsWide; ++j) acc[j] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 xv = _mm512_loadu_ps(x + i);
    for (int j = 0; j < kRowsWide; ++j)
      acc[j] = _mm512_fmadd_ps(L::load(row + j * rb, i), xv, acc[j]);
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
    for (int j = 0; j < kRowsWide; ++j)
      acc[j] = _mm512_fmadd_ps(L::load_masked(row + j * rb, i, m), xv, acc[j]);
  }
  for (int j = 0; j < kRowsWide; ++j) out[j] = _mm512_reduce_add_ps(acc[j]);
}
using RowsWideFn = void (*)(const uint8_t*, int64_t, int64_t, const float*, float*);
RowsWideFn rows_wide_for(DType t) {
  switch (t) {
    case DType::kF32:
      return &rows_wide_dot_float<LoadF32>;
    case DType::kF16:
      return &rows_wide_dot_float<LoadF16>;
    case DType::kBF16:
      return &rows_wide_dot_float<LoadBF16>;
    default:
      return nullptr;
  }
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

// The kernel instance for nx activation rows (1..4; more are done 4 at a time).
template <class Fn, template <int> class K>
Fn pick(int nx) {
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
      return pick<RowDotFn, KF32>(nx);
    case DType::kF16:
      return pick<RowDotFn, KF16>(nx);
    case DType::kBF16:
      return pick<RowDotFn, KBF16>(nx);
    case DType::kQ8_0:
      return pick<RowDotFn, KQ8>(nx);
    case DType::kQ4_0:
      return pick<RowDotFn, KQ4>(nx);
    default:
      return nullptr;
  }
}
#endif  // AVX-512

#if defined(LK_GEMV_AVX512) && defined(__AVX512VNNI__)
#define LK_GEMV_VNNI 1
// An activation vector quantized like llama.cpp's q8_0 activations: per 32 elements one f32
// scale and 32 int8 (round to nearest, |q| <= 127).
struct XBlock {
  float d;
  int8_t q[32];
};

void quantize_x(const float* x, int64_t n, XBlock* out) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const __m512 x0 = _mm512_loadu_ps(x + b * 32), x1 = _mm512_loadu_ps(x + b * 32 + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
    const float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
    out[b].d = d;
    const __m512 s = _mm512_set1_ps(id);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].q),
                     _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x0, s))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].q + 16),
                     _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x1, s))));
  }
}

// Signed int8 weights w (32 lanes) against NX quantized activations: |w| * sign(x, w)
// through vpdpbusd (u8 x s8), one f32 FMA per block and vector.
template <int NX>
inline void block_int_dot(__m256i w, float dw, const XBlock* const* xb, int64_t b, __m256* acc) {
  const __m256i aw = _mm256_sign_epi8(w, w);
  for (int t = 0; t < NX; ++t) {
    const XBlock& xq = xb[t][b];
    const __m256i sx =
        _mm256_sign_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q)), w);
    const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw, sx);
    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * xq.d), acc[t]);
  }
}

inline float hsum256(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

template <int NX>
void row_dot_q8_0_int(const uint8_t* row, int64_t n, const XBlock* const* xb, float* out) {
  __m256 acc[NX];
  for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b, row += 34) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2));
    block_int_dot<NX>(w, load_f16_scale(row), xb, b, acc);
  }
  for (int t = 0; t < NX; ++t) out[t] = hsum256(acc[t]);
}

template <int NX>
void row_dot_q4_0_int(const uint8_t* row, int64_t n, const XBlock* const* xb, float* out) {
  __m256 acc[NX];
  for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_ps();
  const __m128i low4 = _mm_set1_epi8(0x0f);
  const __m256i eight = _mm256_set1_epi8(8);
  for (int64_t b = 0; b < n / 32; ++b, row += 18) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2));
    const __m256i q =
        _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), low4), _mm_and_si128(v, low4));
    block_int_dot<NX>(_mm256_sub_epi8(q, eight), load_f16_scale(row), xb, b, acc);
  }
  for (int t = 0; t < NX; ++t) out[t] = hsum256(acc[t]);
}

using IntRowDotFn = void (*)(const uint8_t*, int64_t, const XBlock* const*, float*);
template <int NX>
struct KQ8I {
  static void run(const uint8_t* r, int64_t n, const XBlock* const* x, float* o) {
    row_dot_q8_0_int<NX>(r, n, x, o);
  }
};
template <int NX>
struct KQ4I {
  static void run(const uint8_t* r, int64_t n, const XBlock* const* x, float* o) {
    row_dot_q4_0_int<NX>(r, n, x, o);
  }
};

Status gemv_rows_int8(const TensorView& w, int64_t r0, int64_t r1, const float* x, int64_t n_x,
                      int64_t x_stride, float* y, int64_t y_stride) {
  const int64_t n = w.ne[0], rb = w.row_bytes(), nb = n / 32;
  thread_local std::vector<XBlock> xq;
  xq.resize(static_cast<size_t>(n_x * nb));
  for (int64_t t = 0; t < n_x; ++t) quantize_x(x + t * x_stride, n, xq.data() + t * nb);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t t0 = 0; t0 < n_x; t0 += kMaxX) {
    const int nx = static_cast<int>(std::min<int64_t>(kMaxX, n_x - t0));
    const IntRowDotFn fn =
        w.dtype == DType::kQ8_0 ? pick<IntRowDotFn, KQ8I>(nx) : pick<IntRowDotFn, KQ4I>(nx);
    const XBlock* xs[kMaxX];
    for (int t = 0; t < nx; ++t) xs[t] = xq.data() + (t0 + t) * nb;
    float out[kMaxX];
    for (int64_t r = r0; r < r1; ++r) {
      fn(base + r * rb, n, xs, out);
      for (int t = 0; t < nx; ++t) y[(t0 + t) * y_stride + r] = out[t];
    }
  }
  return Status::ok();
}
#endif  // VNNI

bool g_int8_activations = true;

}  // namespace

void gemv_set_int8_activations(bool on) {
  g_int8_activations = on;
}
bool gemv_int8_activations() {
#ifdef LK_GEMV_VNNI
  return g_int8_activations;
#else
  return false;
#endif
}

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
#ifdef LK_GEMV_VNNI
  if (g_int8_activations && (w.dtype == DType::kQ8_0 || w.dtype == DType::kQ4_0)) {
    return gemv_rows_int8(w, r0, r1, x, n_x, x_stride, y, y_stride);
  }
#endif
  const int64_t n = w.ne[0];
  const int64_t rb = w.row_bytes();
  if (row_dot_for(w.dtype, 1) != nullptr) {
    for (int64_t t0 = 0; t0 < n_x; t0 += kMaxX) {
      const int nx = static_cast<int>(std::min<int64_t>(kMaxX, n_x - t0));
      const RowDotFn fn = row_dot_for(w.dtype, nx);
      const float* xt = x + t0 * x_stride;
      float out[kMaxX];
      const auto* base = static_cast<const uint8_t*>(w.data);
      int64_t r = r0;
      if (nx == 1 && n >= kWideMinN) {
        const RowsWideFn fw = rows_wide_for(w.dtype);
        for (; r + kRowsWide <= r1; r += kRowsWide)
          fw(base + r * rb, rb, n, xt, y + t0 * y_stride + r);
      }
      for (; r < r1; ++r) {
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
