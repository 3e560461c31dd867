#include "kernels/gemm_int8.h"
#include "kernels/gemm_tile.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "kernels/work_pool.h"
#include "model/quant.h"

namespace lk {

namespace {

constexpr int kRows = 8;    // weight rows per tile (one int32 and one f32 accumulator each)
constexpr int kLanes = 16;  // activation rows per group (one zmm of int32 lanes)
constexpr int kBlock = 32;  // activation quantization block

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__F16C__)
#define LK_GEMM_INT8 1

// One tile of kRows weight rows decoded to int8 codes: element k of row r is
// scale[r][k / kb] * q[r][k] + min[r][k / 32] (min only for q4_k/q5_k); corr[r][s] is
// -128 * (sum of the codes of sub-block s), the term that undoes the +128 bias of the
// unsigned activations.
struct Panel {
  int kb = 32;  // sub-block size: 32, or 16 for q6_k
  bool has_min = false;
  int64_t n = 0;
  std::vector<int8_t> q;      // [kRows][n]
  std::vector<float> scale;   // [kRows][n / kb]
  std::vector<int32_t> corr;  // [kRows][n / kb]
  std::vector<float> min;     // [kRows][n / 32]
  void reset(DType t, int64_t n_elems) {
    kb = t == DType::kQ6_K ? 16 : 32;
    has_min = t == DType::kQ4_K || t == DType::kQ5_K;
    n = n_elems;
    q.resize(kRows * n);
    scale.resize(kRows * (n / kb));
    corr.resize(kRows * (n / kb));
    min.assign(kRows * (n / 32), 0.0f);
  }
  // Rows past the end of the matrix contribute zeros.
  void clear_row(int r) {
    std::fill_n(q.begin() + r * n, n, int8_t{0});
    std::fill_n(scale.begin() + r * (n / kb), n / kb, 0.0f);
    std::fill_n(corr.begin() + r * (n / kb), n / kb, 0);
  }
};

float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Decodes one weight row into panel row r. Codes are the file's own; only the scale
// products (d * sub-scale) are formed in f32, as model/quant.h's dequantization does.
void decode_row(DType t, const uint8_t* row, int64_t n, Panel* p, int r) {
  int8_t* q = p->q.data() + r * n;
  float* sc = p->scale.data() + r * (n / p->kb);
  float* mn = p->min.data() + r * (n / 32);
  switch (t) {
    case DType::kQ8_0:
      for (int64_t b = 0; b < n / 32; ++b, row += 34) {
        sc[b] = f16(row);
        std::memcpy(q + b * 32, row + 2, 32);
      }
      break;
    case DType::kQ4_0:
      for (int64_t b = 0; b < n / 32; ++b, row += 18) {
        sc[b] = f16(row);
        for (int j = 0; j < 16; ++j) {
          q[b * 32 + j] = static_cast<int8_t>((row[2 + j] & 0x0f) - 8);
          q[b * 32 + 16 + j] = static_cast<int8_t>((row[2 + j] >> 4) - 8);
        }
      }
      break;
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const bool q5 = t == DType::kQ5_K;
      const int64_t bytes = q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
      for (int64_t i = 0; i < n / kQKK; ++i, row += bytes) {
        const float d = f16(row), dmin = f16(row + 2);
        const uint8_t* scales = row + 4;
        const uint8_t* qh = q5 ? row + 16 : nullptr;
        const uint8_t* ql = q5 ? row + 48 : row + 16;
        for (int c = 0; c < 4; ++c, ql += 32) {
          for (int h = 0; h < 2; ++h) {
            uint8_t s, m;
            q4k_scale_min(scales, 2 * c + h, &s, &m);
            const int64_t sb = i * 8 + 2 * c + h;
            sc[sb] = d * s;
            mn[sb] = -(dmin * m);
            int8_t* o = q + sb * 32;
            for (int l = 0; l < 32; ++l) {
              int v = h == 0 ? (ql[l] & 0x0f) : (ql[l] >> 4);
              if (q5 && (qh[l] & (1u << (2 * c + h)))) v += 16;
              o[l] = static_cast<int8_t>(v);
            }
          }
        }
      }
      break;
    }
    case DType::kQ6_K:
      for (int64_t i = 0; i < n / kQKK; ++i, row += sizeof(BlockQ6_K)) {
        const auto* b = reinterpret_cast<const BlockQ6_K*>(row);
        const float d = f16(row + offsetof(BlockQ6_K, d));
        for (int s = 0; s < 16; ++s) sc[i * 16 + s] = d * static_cast<float>(b->scales[s]);
        int8_t* y = q + i * kQKK;
        for (int h = 0; h < 2; ++h) {
          const uint8_t* ql = b->ql + 64 * h;
          const uint8_t* qh = b->qh + 32 * h;
          int8_t* yy = y + 128 * h;
          for (int l = 0; l < 32; ++l) {
            yy[l] = static_cast<int8_t>(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
            yy[l + 32] =
                static_cast<int8_t>(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
            yy[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            yy[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
          }
        }
      }
      break;
    default:
      break;
  }
  int32_t* corr = p->corr.data() + r * (n / p->kb);
  for (int64_t s = 0; s < n / p->kb; ++s) {
    int32_t sum = 0;
    for (int j = 0; j < p->kb; ++j) sum += q[s * p->kb + j];
    corr[s] = -128 * sum;
  }
}

// out[r][lane] = dot(panel row r, activation row 16 g + lane), r < kRows.
template <int KB, bool kMin>
void tile_kernel(const Panel& p, const Int8Activations& a, int64_t g, float* out) {
  const int64_t n = p.n, nb = n / kBlock;
  constexpr int kSub = kBlock / KB;  // sub-blocks per activation block
  constexpr int kQuads = KB / 4;
  const uint8_t* xq = a.q.data() + g * nb * (8 * 64);
  const float* xs = a.scale.data() + g * nb * kLanes;
  const float* xsum = a.sum.data() + g * nb * kLanes;
  const int8_t* wq[kRows];
  const float* wsc[kRows];
  const int32_t* wcorr[kRows];
  const float* wmin[kRows];
  for (int r = 0; r < kRows; ++r) {
    wq[r] = p.q.data() + r * n;
    wsc[r] = p.scale.data() + r * (n / KB);
    wcorr[r] = p.corr.data() + r * (n / KB);
    wmin[r] = p.min.data() + r * nb;
  }
  __m512 acc[kRows];
  for (int r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const __m512 dx = _mm512_loadu_ps(xs + b * kLanes);
    for (int s = 0; s < kSub; ++s) {
      const int64_t sb = b * kSub + s;
      __m512i ai[kRows];
      for (int r = 0; r < kRows; ++r) ai[r] = _mm512_set1_epi32(wcorr[r][sb]);
      for (int qd = s * kQuads; qd < (s + 1) * kQuads; ++qd) {
        const __m512i xv = _mm512_loadu_si512(xq + (b * 8 + qd) * 64);
        const int64_t k = b * kBlock + qd * 4;
        for (int r = 0; r < kRows; ++r) {
          int32_t w4;
          std::memcpy(&w4, wq[r] + k, 4);
          ai[r] = _mm512_dpbusd_epi32(ai[r], xv, _mm512_set1_epi32(w4));
        }
      }
      for (int r = 0; r < kRows; ++r) {
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ai[r]),
                                 _mm512_mul_ps(_mm512_set1_ps(wsc[r][sb]), dx), acc[r]);
      }
    }
    if constexpr (kMin) {
      const __m512 sx = _mm512_loadu_ps(xsum + b * kLanes);
      for (int r = 0; r < kRows; ++r)
        acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(wmin[r][b]), sx, acc[r]);
    }
  }
  for (int r = 0; r < kRows; ++r) _mm512_storeu_ps(out + r * kLanes, acc[r]);
}

using TileFn = void (*)(const Panel&, const Int8Activations&, int64_t, float*);

TileFn tile_fn(DType t) {
  switch (t) {
    case DType::kQ8_0:
    case DType::kQ4_0:
      return &tile_kernel<32, false>;
    case DType::kQ4_K:
    case DType::kQ5_K:
      return &tile_kernel<32, true>;
    case DType::kQ6_K:
      return &tile_kernel<16, false>;
    default:
      return nullptr;
  }
}

// Quantizes activation row t into its group's slots.
void quantize_row(const float* x, int64_t n, int64_t t, Int8Activations* a) {
  const int64_t nb = n / kBlock, g = t / kLanes, lane = t % kLanes;
  uint8_t* q = a->q.data() + g * nb * (8 * 64) + lane * 4;
  float* sc = a->scale.data() + g * nb * kLanes + lane;
  float* sum = a->sum.data() + g * nb * kLanes + lane;
  for (int64_t b = 0; b < nb; ++b) {
    const __m512 x0 = _mm512_loadu_ps(x + b * 32), x1 = _mm512_loadu_ps(x + b * 32 + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    sc[b * kLanes] = amax / 127.0f;
    sum[b * kLanes] = _mm512_reduce_add_ps(_mm512_add_ps(x0, x1));
    const __m512i bias = _mm512_set1_epi32(128);
    const __m512 s = _mm512_set1_ps(id);
    alignas(16) uint8_t u[32];
    _mm_store_si128(
        reinterpret_cast<__m128i*>(u),
        _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(x0, s)), bias)));
    _mm_store_si128(
        reinterpret_cast<__m128i*>(u + 16),
        _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(x1, s)), bias)));
    uint8_t* qb = q + b * (8 * 64);
    for (int qd = 0; qd < 8; ++qd) std::memcpy(qb + qd * 64, u + qd * 4, 4);
  }
}
#endif  // LK_GEMM_INT8

}  // namespace

bool gemm_int8_supported(DType t) {
#ifdef LK_GEMM_INT8
  return tile_fn(t) != nullptr;
#else
  (void)t;
  return false;
#endif
}

void quantize_activations_int8(const float* x, int64_t rows, int64_t n, int64_t x_stride,
                               Int8Activations* a) {
  a->n = n;
  a->rows = rows;
  a->groups = (rows + kLanes - 1) / kLanes;
  const int64_t nb = n / kBlock;
  // Padding rows stay zero: scale 0 makes their (meaningless) sums vanish.
  a->q.assign(a->groups * nb * 8 * 64, 0);
  a->scale.assign(a->groups * nb * kLanes, 0.0f);
  a->sum.assign(a->groups * nb * kLanes, 0.0f);
#ifdef LK_GEMM_INT8
  pool_for(
      rows,
      [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) quantize_row(x + t * x_stride, n, t, a);
      },
      kLanes);
#else
  (void)x;
  (void)x_stride;
#endif
}

Status gemm_int8_rows(const TensorView& w, int64_t r0, int64_t r1, const Int8Activations& a,
                      float* y, int64_t y_stride) {
#ifdef LK_GEMM_INT8
  const TileFn fn = tile_fn(w.dtype);
  if (fn == nullptr || a.n != w.ne[0] || a.n % kBlock != 0) {
    return unsupported("int8 GEMM: weight type {} with row length {} has no int8 kernel",
                       dtype_name(w.dtype), w.ne[0]);
  }
  const int64_t n = w.ne[0], rb = w.row_bytes();
  const auto* base = static_cast<const uint8_t*>(w.data);
  thread_local Panel panel;
  alignas(64) float out[kRows * kLanes];
  for (int64_t t0 = r0; t0 < r1; t0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - t0));
    panel.reset(w.dtype, n);
    for (int r = 0; r < nr; ++r) decode_row(w.dtype, base + (t0 + r) * rb, n, &panel, r);
    for (int r = nr; r < kRows; ++r) panel.clear_row(r);
    for (int64_t g = 0; g < a.groups; ++g) {
      fn(panel, a, g, out);
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, a.rows - g * kLanes));
      store_tile_transposed(out, kLanes, nr, lanes, y + g * kLanes * y_stride, y_stride, t0);
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
  return unsupported("int8 GEMM needs AVX-512 VNNI (this build has none)");
#endif
}

}  // namespace lk
