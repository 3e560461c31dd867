#include "kernels/attention.h"

// GCC 12 reports the _mm512_undefined_*() operands inside its own AVX-512 intrinsics
// (shuffles, conversions) as maybe-uninitialized once they are inlined into loops here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/half.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace lk {

namespace {

constexpr int kTile = 128;          // tokens per tile (prefill: sgemm per tile)
constexpr int kDecodeTile = 64;     // tokens per tile in decode: a K tile in f32 is 16 KiB at D=64
constexpr int kGemmMinQueries = 8;  // from here on, scores and P·V go through sgemm

// Local names and widths: kernels sits below kv in the link order, so it does not call
// kv_format_name()/kv_format_bits() (kv/kv_format.cpp).
const char* format_name(KvFormat f) {
  switch (f) {
    case KvFormat::kF32:
      return "f32";
    case KvFormat::kF16:
      return "f16";
    case KvFormat::kBF16:
      return "bf16";
    case KvFormat::kInt8:
      return "int8";
    case KvFormat::kInt4:
      return "int4";
    case KvFormat::kInt2:
      return "int2";
  }
  return "?";
}
int64_t format_bits(KvFormat f) {
  switch (f) {
    case KvFormat::kF32:
      return 32;
    case KvFormat::kF16:
    case KvFormat::kBF16:
      return 16;
    case KvFormat::kInt8:
      return 8;
    case KvFormat::kInt4:
      return 4;
    case KvFormat::kInt2:
      return 2;
  }
  return 0;
}

bool format_supported(KvFormat f) {
  return f == KvFormat::kF32 || f == KvFormat::kF16 || f == KvFormat::kBF16;
}

Status unsupported_format(KvFormat f) {
  return unsupported(
      "attention over KV format '{}' is not implemented by the contiguous "
      "kernel (supported: f32, f16, bf16)",
      format_name(f));
}

// Converts n rows of D elements of a float-format run to f32 (or points at them for f32).
const float* tile_as_f32(KvFormat f, const void* base, int64_t first, int n, int D,
                         std::vector<float>* buf) {
  if (f == KvFormat::kF32) return static_cast<const float*>(base) + first * D;
  buf->resize(static_cast<size_t>(n) * D);
  const auto* h = static_cast<const uint16_t*>(base) + first * D;
  float* o = buf->data();
  const int64_t count = static_cast<int64_t>(n) * D;
  int64_t i = 0;
#if defined(__AVX512F__) && defined(__F16C__)
  if (f == KvFormat::kF16) {
    for (; i + 16 <= count; i += 16) {
      _mm512_storeu_ps(
          o + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
    }
  } else {
    for (; i + 16 <= count; i += 16) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i));
      _mm512_storeu_ps(o + i, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)));
    }
  }
#endif
  for (; i < count; ++i) o[i] = f == KvFormat::kF16 ? f16_to_f32(h[i]) : bf16_to_f32(h[i]);
  return o;
}

#if defined(__AVX512F__)
// The sums of the 16 lanes of each acc[i], lane 4k+m holding the sum of acc[4m+k]: a
// transpose-add tree (15 adds, ~30 shuffles for 16 sums) instead of 16 horizontal reductions.
inline __m512 reduce16_4x4(const __m512* acc) {
  __m512 v1[8], v2[4];
  for (int i = 0; i < 8; ++i) {  // 128-bit lanes: [a.L0+a.L2, a.L1+a.L3, b.L0+b.L2, b.L1+b.L3]
    const __m512 a = acc[2 * i], b = acc[2 * i + 1];
    v1[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
  }
  for (int j = 0; j < 4; ++j) {  // lane k of v2[j] holds 4 partials of sum 4j+k
    const __m512 c = v1[2 * j], d = v1[2 * j + 1];
    v2[j] = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x88), _mm512_shuffle_f32x4(c, d, 0xDD));
  }
  const __m512 u =
      _mm512_add_ps(_mm512_unpacklo_ps(v2[0], v2[1]), _mm512_unpackhi_ps(v2[0], v2[1]));
  const __m512 w =
      _mm512_add_ps(_mm512_unpacklo_ps(v2[2], v2[3]), _mm512_unpackhi_ps(v2[2], v2[3]));
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(u, w, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(u, w, _MM_SHUFFLE(3, 2, 3, 2)));
  return r;  // element 4k+m of r is sum 4m+k
}

// Lane i of the result = the sum of the 16 lanes of acc[i].
inline __m512 reduce16(const __m512* acc) {
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(idx, reduce16_4x4(acc));
}

#endif

// o[0..D) += sum_t p[t] * V[t][0..D), keeping 64 output lanes in registers per pass.
void accumulate_weighted_rows(float* o, const float* p, const float* V, int n, int D) {
  int d0 = 0;
#if defined(__AVX512F__)
  for (; d0 + 64 <= D; d0 += 64) {
    __m512 a0 = _mm512_loadu_ps(o + d0), a1 = _mm512_loadu_ps(o + d0 + 16),
           a2 = _mm512_loadu_ps(o + d0 + 32), a3 = _mm512_loadu_ps(o + d0 + 48);
    for (int t = 0; t < n; ++t) {
      const __m512 pt = _mm512_set1_ps(p[t]);
      const float* v = V + static_cast<int64_t>(t) * D + d0;
      a0 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(v), a0);
      a1 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(v + 16), a1);
      a2 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(v + 32), a2);
      a3 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(v + 48), a3);
    }
    _mm512_storeu_ps(o + d0, a0);
    _mm512_storeu_ps(o + d0 + 16, a1);
    _mm512_storeu_ps(o + d0 + 32, a2);
    _mm512_storeu_ps(o + d0 + 48, a3);
  }
#endif
  for (int t = 0; t < n; ++t) {
    const float pt = p[t];
    const float* v = V + static_cast<int64_t>(t) * D;
    for (int d = d0; d < D; ++d) o[d] += pt * v[d];
  }
}

#if defined(__AVX512F__) && defined(__F16C__)
// 16 elements of a float-format KV row as f32 lanes.
template <KvFormat F>
inline __m512 load16(const void* base, int64_t i) {
  if constexpr (F == KvFormat::kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(base) + i);
  } else if constexpr (F == KvFormat::kF16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + i)));
  } else {
    const __m256i v = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
  }
}

// For R query rows at once: o_r[d0..d0+16L) += sum_t p_r[t] * V[t][d0..d0+16L), V read (and
// converted from its storage format) once for all R rows. L (vectors per row) is a
// compile-time constant so the R*L accumulators stay in registers: with a run-time count
// the compiler spilled them and the loop cost ~1.5x its FMAs.
template <KvFormat F, int R, int L, int PS = 1>
inline void accumulate_rows_chunk(float* const* o, const float* const* p, const void* V,
                                  int64_t first, int n, int D, int d0) {
  const float* pr[R];
  __m512 a[R][L];
  for (int r = 0; r < R; ++r) {
    pr[r] = p[r];
    for (int c = 0; c < L; ++c) a[r][c] = _mm512_loadu_ps(o[r] + d0 + 16 * c);
  }
  int64_t row = first * D + d0;
  for (int t = 0; t < n; ++t, row += D) {
    __m512 v[L];
    for (int c = 0; c < L; ++c) v[c] = load16<F>(V, row + 16 * c);
    for (int r = 0; r < R; ++r) {
      const __m512 pt = _mm512_set1_ps(pr[r][t * PS]);
      for (int c = 0; c < L; ++c) a[r][c] = _mm512_fmadd_ps(pt, v[c], a[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < L; ++c) _mm512_storeu_ps(o[r] + d0 + 16 * c, a[r][c]);
}

// All D columns, 64 at a time (D is a multiple of 16 here). Row r's weight of token t is
// p[r][t * PS].
template <KvFormat F, int R, int PS = 1>
void accumulate_rows_v(float* const* o, const float* const* p, const void* V, int64_t first, int n,
                       int D) {
  for (int d0 = 0; d0 < D; d0 += 64) {
    switch (std::min(64, D - d0) / 16) {
      case 1:
        accumulate_rows_chunk<F, R, 1, PS>(o, p, V, first, n, D, d0);
        break;
      case 2:
        accumulate_rows_chunk<F, R, 2, PS>(o, p, V, first, n, D, d0);
        break;
      case 3:
        accumulate_rows_chunk<F, R, 3, PS>(o, p, V, first, n, D, d0);
        break;
      default:
        accumulate_rows_chunk<F, R, 4, PS>(o, p, V, first, n, D, d0);
        break;
    }
  }
}

template <KvFormat F>
void accumulate_rows_v_any(float* const* o, const float* const* p, int rows, const void* V,
                           int64_t first, int n, int D) {
  for (int r0 = 0; r0 < rows; r0 += 4) {
    switch (std::min(4, rows - r0)) {
      case 1:
        accumulate_rows_v<F, 1>(o + r0, p + r0, V, first, n, D);
        break;
      case 2:
        accumulate_rows_v<F, 2>(o + r0, p + r0, V, first, n, D);
        break;
      case 3:
        accumulate_rows_v<F, 3>(o + r0, p + r0, V, first, n, D);
        break;
      default:
        accumulate_rows_v<F, 4>(o + r0, p + r0, V, first, n, D);
        break;
    }
  }
}

void accumulate_rows(KvFormat f, float* const* o, const float* const* p, int rows, const void* V,
                     int64_t first, int n, int D) {
  switch (f) {
    case KvFormat::kF32:
      return accumulate_rows_v_any<KvFormat::kF32>(o, p, rows, V, first, n, D);
    case KvFormat::kF16:
      return accumulate_rows_v_any<KvFormat::kF16>(o, p, rows, V, first, n, D);
    default:
      return accumulate_rows_v_any<KvFormat::kBF16>(o, p, rows, V, first, n, D);
  }
}

// Decode scores straight from the stored K (no f32 copy): s[r][t] = scale * q[r] . K[first+t]
// for R query rows and T = 16 / R tokens at a time. Each K vector is loaded and converted once
// for all R rows and the R*T partial-sum vectors are reduced together by reduce16, so a
// token costs R*D/16 FMAs plus ~3 shuffles per row.
template <KvFormat F, int R>
void scores_rows(const float* const* q, float* const* s, const void* K, int64_t first, int n, int D,
                 float scale) {
  constexpr int T = 16 / R;
  const __m512 vscale = _mm512_set1_ps(scale);
  int t0 = 0;
  for (; t0 + T <= n; t0 += T) {
    __m512 acc[16];
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
    const int64_t row0 = (first + t0) * D;
    for (int d = 0; d < D; d += 16) {
      __m512 qv[R];
      for (int r = 0; r < R; ++r) {
        qv[r] = _mm512_loadu_ps(q[r] + d);
        // Keeps q in a register: folded into each FMA it would be loaded T times.
        __asm__("" : "+v"(qv[r]));
      }
      for (int t = 0; t < T; ++t) {
        const __m512 k = load16<F>(K, row0 + int64_t{t} * D + d);
        for (int r = 0; r < R; ++r) acc[r * T + t] = _mm512_fmadd_ps(qv[r], k, acc[r * T + t]);
      }
    }
    alignas(64) float sums[16];  // sums[r * T + t]
    _mm512_store_ps(sums, _mm512_mul_ps(reduce16(acc), vscale));
    for (int r = 0; r < R; ++r) std::copy_n(sums + r * T, T, s[r] + t0);
  }
  for (; t0 < n; ++t0) {  // the last (n % T) tokens of a run
    const int64_t row = (first + t0) * D;
    for (int r = 0; r < R; ++r) {
      __m512 acc = _mm512_setzero_ps();
      for (int d = 0; d < D; d += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(q[r] + d), load16<F>(K, row + d), acc);
      s[r][t0] = _mm512_reduce_add_ps(acc) * scale;
    }
  }
}

// All `rows` query rows, in groups of 4 (then 2, 1): K stays in L1 between the groups.
template <KvFormat F>
void scores_rows_any(const float* const* q, float* const* s, int rows, const void* K, int64_t first,
                     int n, int D, float scale) {
  int r0 = 0;
  for (; r0 + 4 <= rows; r0 += 4) scores_rows<F, 4>(q + r0, s + r0, K, first, n, D, scale);
  for (; r0 + 2 <= rows; r0 += 2) scores_rows<F, 2>(q + r0, s + r0, K, first, n, D, scale);
  for (; r0 < rows; ++r0) scores_rows<F, 1>(q + r0, s + r0, K, first, n, D, scale);
}

void scores_rows_fmt(KvFormat f, const float* const* q, float* const* s, int rows, const void* K,
                     int64_t first, int n, int D, float scale) {
  switch (f) {
    case KvFormat::kF32:
      return scores_rows_any<KvFormat::kF32>(q, s, rows, K, first, n, D, scale);
    case KvFormat::kF16:
      return scores_rows_any<KvFormat::kF16>(q, s, rows, K, first, n, D, scale);
    default:
      return scores_rows_any<KvFormat::kBF16>(q, s, rows, K, first, n, D, scale);
  }
}

// One query, 4 heads per kv head (the common GQA decode): scores for the tile kept
// token-major, st[t * 4 + r], straight from reduce16_4x4 (no permute, no per-row copies), so
// the masking, running max, exp and sums of the 4 rows run on whole vectors.
template <KvFormat F>
void scores4_tm(const float* const* q, float* st, const void* K, int64_t first, int n, int D,
                float scale) {
  const __m512 vscale = _mm512_set1_ps(scale);
  int t0 = 0;
  for (; t0 + 4 <= n; t0 += 4) {
    __m512 acc[16];  // acc[r * 4 + t]
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
    const int64_t row0 = (first + t0) * D;
    for (int d = 0; d < D; d += 16) {
      __m512 qv[4];
      for (int r = 0; r < 4; ++r) {
        qv[r] = _mm512_loadu_ps(q[r] + d);
        __asm__("" : "+v"(qv[r]));  // q stays in a register (see scores_rows)
      }
      for (int t = 0; t < 4; ++t) {
        const __m512 k = load16<F>(K, row0 + int64_t{t} * D + d);
        for (int r = 0; r < 4; ++r) acc[r * 4 + t] = _mm512_fmadd_ps(qv[r], k, acc[r * 4 + t]);
      }
    }
    _mm512_storeu_ps(st + t0 * 4, _mm512_mul_ps(reduce16_4x4(acc), vscale));
  }
  for (; t0 < n; ++t0) {  // the last (n % 4) tokens
    const int64_t row = (first + t0) * D;
    for (int r = 0; r < 4; ++r) {
      __m512 acc = _mm512_setzero_ps();
      for (int d = 0; d < D; d += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(q[r] + d), load16<F>(K, row + d), acc);
      st[t0 * 4 + r] = _mm512_reduce_add_ps(acc) * scale;
    }
  }
}

// Lane l of the result = op over the lanes of v with the same l % 4 (one row each).
inline __m512 rows4_max(__m512 v) {
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
  return _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
}
inline __m512 rows4_sum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
  return _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
}

// attention_kv_head_lse for n_q = 1, group = 4, D % 16 == 0 over float runs.
void decode_group4(const KvHeadView& view, const AttentionQuery& qs, float* out, float* lse) {
  const int D = qs.head_dim;
  const int32_t qpos = qs.positions[0];
  alignas(64) float st[kDecodeTile * 4];  // [t][4 rows]
  float* o[4];
  const float* q[4];
  const float* p[4];
  for (int r = 0; r < 4; ++r) {
    o[r] = out + r * D;
    q[r] = qs.q + r * D;
    p[r] = st + r;
    std::fill_n(o[r], D, 0.0f);
  }
  __m512 m = _mm512_set1_ps(-INFINITY), l = _mm512_setzero_ps();  // lane r (mod 4): row r
  for (const KvRun& run : view.runs) {
    for (int64_t t0 = 0; t0 < run.n_tokens; t0 += kDecodeTile) {
      const int n = static_cast<int>(std::min<int64_t>(kDecodeTile, run.n_tokens - t0));
      const int32_t* pos = run.positions + t0;
      if (pos[0] > qpos) break;  // ascending positions: nothing later is visible
      const int visible = static_cast<int>(std::upper_bound(pos, pos + n, qpos) - pos);
      switch (run.format) {
        case KvFormat::kF32:
          scores4_tm<KvFormat::kF32>(q, st, run.k, t0, visible, D, qs.scale);
          break;
        case KvFormat::kF16:
          scores4_tm<KvFormat::kF16>(q, st, run.k, t0, visible, D, qs.scale);
          break;
        default:
          scores4_tm<KvFormat::kBF16>(q, st, run.k, t0, visible, D, qs.scale);
          break;
      }
      const int count = visible * 4;
      __m512 mt = m;
      for (int i = 0; i < count; i += 16) {
        const __mmask16 k =
            count - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (count - i)) - 1);
        mt = _mm512_mask_max_ps(mt, k, mt, _mm512_maskz_loadu_ps(k, st + i));
      }
      const __m512 m_new = rows4_max(mt);
      alignas(64) float corr[16];  // lanes 0-3: exp(m_old - m_new); 0 on the first tile
      _mm512_store_ps(corr, _mm512_sub_ps(m, m_new));
      exp_inplace(corr, 4);
      for (int i = 0; i < count; i += 16) {
        const __mmask16 k =
            count - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(st + i, k, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, st + i), m_new));
      }
      exp_inplace(st, count);
      __m512 sum = _mm512_setzero_ps();
      for (int i = 0; i < count; i += 16) {
        const __mmask16 k =
            count - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (count - i)) - 1);
        sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(k, st + i));
      }
      const __m512 vc = _mm512_broadcast_f32x4(_mm_load_ps(corr));
      l = _mm512_fmadd_ps(l, vc, rows4_sum(sum));
      m = m_new;
      for (int r = 0; r < 4; ++r) {
        if (corr[r] == 1.0f) continue;
        const __m512 c = _mm512_set1_ps(corr[r]);
        for (int d = 0; d < D; d += 16)
          _mm512_storeu_ps(o[r] + d, _mm512_mul_ps(c, _mm512_loadu_ps(o[r] + d)));
      }
      switch (run.format) {
        case KvFormat::kF32:
          accumulate_rows_v<KvFormat::kF32, 4, 4>(o, p, run.v, t0, visible, D);
          break;
        case KvFormat::kF16:
          accumulate_rows_v<KvFormat::kF16, 4, 4>(o, p, run.v, t0, visible, D);
          break;
        default:
          accumulate_rows_v<KvFormat::kBF16, 4, 4>(o, p, run.v, t0, visible, D);
          break;
      }
    }
  }
  alignas(64) float ms[16], ls[16];
  _mm512_store_ps(ms, m);
  _mm512_store_ps(ls, l);
  for (int r = 0; r < 4; ++r) {
    const float inv = ls[r] > 0.0f ? 1.0f / ls[r] : 0.0f;
    for (int d = 0; d < D; ++d) o[r][d] *= inv;
    if (lse) lse[r] = ls[r] > 0.0f ? ms[r] + std::log(ls[r]) : -INFINITY;
  }
}

// max(m, x[0..n)).
float max_with(float m, const float* x, int n) {
  __m512 v = _mm512_set1_ps(m);
  for (int i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    v = _mm512_mask_max_ps(v, k, v, _mm512_maskz_loadu_ps(k, x + i));
  }
  return _mm512_reduce_max_ps(v);
}
#define LK_ATTN_FUSED_V 1
#endif

// Online-softmax state of one (query, head) row.
struct RowState {
  float m = -INFINITY;
  float l = 0.0f;
};

}  // namespace

int64_t attention_bytes_read(const KvHeadView& view, int head_dim) {
  int64_t b = 0;
  for (const auto& r : view.runs)
    b += int64_t{r.n_tokens} * head_dim * 2 * format_bits(r.format) / 8;
  return b;
}

Status attention_kv_head(const KvHeadView& view, const AttentionQuery& qs, float* out,
                         int64_t out_stride) {
  return attention_kv_head_lse(view, qs, out, out_stride, nullptr);
}

Status attention_kv_head_lse(const KvHeadView& view, const AttentionQuery& qs, float* out,
                             int64_t out_stride, float* lse) {
  const int D = qs.head_dim, G = qs.group, nq = qs.n_q;
#ifdef LK_ATTN_FUSED_V
  if (nq == 1 && G == 4 && D % 16 == 0) {
    for (const KvRun& run : view.runs)
      if (!format_supported(run.format)) return unsupported_format(run.format);
    decode_group4(view, qs, out, lse);
    return Status::ok();
  }
#endif
  const int rows = nq * G;
  thread_local std::vector<RowState> state;
  thread_local std::vector<float> kbuf, vbuf, scores;
  state.assign(rows, RowState{});
  for (int i = 0; i < nq; ++i) {
    for (int g = 0; g < G; ++g) std::fill_n(out + i * out_stride + g * D, D, 0.0f);
  }
  const int32_t max_qpos = *std::max_element(qs.positions, qs.positions + nq);
  const bool use_gemm = nq >= kGemmMinQueries;
#ifdef LK_ATTN_FUSED_V
  // Decode: K and V are read in their storage format (no f32 copies) by scores_rows_fmt and
  // accumulate_rows, each byte once from memory; a tile of K stays in L1 while groups of
  // query rows use it.
  const bool fused_v = !use_gemm && D % 16 == 0;
#else
  const bool fused_v = false;
#endif
  const int tile = fused_v ? kDecodeTile : kTile;
  scores.resize(static_cast<size_t>(rows) * tile);
  thread_local std::vector<float*> out_rows;
  thread_local std::vector<const float*> p_rows, q_rows;
  thread_local std::vector<float*> s_rows;
  out_rows.resize(rows);
  p_rows.resize(rows);
  q_rows.resize(rows);
  s_rows.resize(rows);
  for (int i = 0; i < nq; ++i) {
    for (int g = 0; g < G; ++g) {
      out_rows[i * G + g] = out + i * out_stride + g * D;
      s_rows[i * G + g] = scores.data() + static_cast<int64_t>(i * G + g) * tile;
      p_rows[i * G + g] = s_rows[i * G + g];
      q_rows[i * G + g] = qs.q + i * qs.stride + g * D;
    }
  }

  for (const KvRun& run : view.runs) {
    if (!format_supported(run.format)) return unsupported_format(run.format);
    for (int64_t t0 = 0; t0 < run.n_tokens; t0 += tile) {
      const int n = static_cast<int>(std::min<int64_t>(tile, run.n_tokens - t0));
      const int32_t* pos = run.positions + t0;
      if (pos[0] > max_qpos) break;  // ascending positions: nothing later is visible
      const float* K = fused_v ? nullptr : tile_as_f32(run.format, run.k, t0, n, D, &kbuf);
      const float* V = fused_v ? nullptr : tile_as_f32(run.format, run.v, t0, n, D, &vbuf);
      // scores[(i*G+g)][t] for the tile
      if (use_gemm) {
        for (int g = 0; g < G; ++g) {
          // rows i*G+g are strided by G rows in `scores`
          sgemm_nt(nq, n, D, qs.scale, qs.q + g * D, qs.stride, K, D, 0.0f,
                   scores.data() + static_cast<int64_t>(g) * tile, int64_t{G} * tile);
        }
      } else if (fused_v) {
#ifdef LK_ATTN_FUSED_V
        scores_rows_fmt(run.format, q_rows.data(), s_rows.data(), rows, run.k, t0, n, D, qs.scale);
#endif
      } else {
        for (int r = 0; r < rows; ++r) {
          for (int t = 0; t < n; ++t)
            s_rows[r][t] = dot_f32(q_rows[r], K + static_cast<int64_t>(t) * D, D) * qs.scale;
        }
      }
      // Mask, update the running max and sum, turn scores into unnormalized weights.
      for (int i = 0; i < nq; ++i) {
        const int visible = static_cast<int>(std::upper_bound(pos, pos + n, qs.positions[i]) - pos);
        for (int g = 0; g < G; ++g) {
          const int r = i * G + g;
          float* s = scores.data() + static_cast<int64_t>(r) * tile;
          std::fill(s + visible, s + n, 0.0f);
          float* o = out + i * out_stride + g * D;
          if (visible == 0) continue;
#ifdef LK_ATTN_FUSED_V
          const float m_new = max_with(state[r].m, s, visible);
#else
          float m_new = state[r].m;
          for (int t = 0; t < visible; ++t) m_new = std::max(m_new, s[t]);
#endif
          const float corr = std::exp(state[r].m - m_new);  // exp(-inf) = 0 on the first tile
          const float sum = exp_shift_sum(s, visible, m_new);
          state[r].l = state[r].l * corr + sum;
          state[r].m = m_new;
          if (corr != 1.0f) {
            for (int d = 0; d < D; ++d) o[d] *= corr;
          }
          if (!use_gemm && !fused_v) accumulate_weighted_rows(o, s, V, visible, D);
        }
      }
      if (use_gemm) {
        for (int g = 0; g < G; ++g) {
          sgemm_nn(nq, D, n, 1.0f, scores.data() + static_cast<int64_t>(g) * tile,
                   int64_t{G} * tile, V, D, 1.0f, out + g * D, out_stride);
        }
      }
#ifdef LK_ATTN_FUSED_V
      if (fused_v)
        accumulate_rows(run.format, out_rows.data(), p_rows.data(), rows, run.v, t0, n, D);
#endif
    }
  }
  for (int i = 0; i < nq; ++i) {
    for (int g = 0; g < G; ++g) {
      const float l = state[i * G + g].l;
      float* o = out + i * out_stride + g * D;
      const float inv = l > 0.0f ? 1.0f / l : 0.0f;
      for (int d = 0; d < D; ++d) o[d] *= inv;
      if (lse) lse[i * G + g] = l > 0.0f ? state[i * G + g].m + std::log(l) : -INFINITY;
    }
  }
  return Status::ok();
}

std::vector<KvHeadView> split_view(const KvHeadView& view, int parts, int head_dim) {
  parts = std::max(parts, 1);
  std::vector<KvHeadView> out(parts);
  const int64_t total = view.n_tokens();
  int64_t done = 0;  // tokens already assigned
  for (const KvRun& run : view.runs) {
    const bool cuttable = format_supported(run.format);
    int64_t first = 0;
    while (first < run.n_tokens) {
      // Part p holds tokens [p * total / parts, (p + 1) * total / parts).
      int p = 0;
      while (p + 1 < parts && (int64_t{p} + 1) * total / parts <= done) ++p;
      const int64_t end = (int64_t{p} + 1) * total / parts;
      const int64_t take = cuttable ? std::min(run.n_tokens - first, end - done) : run.n_tokens;
      KvRun r = run;
      if (cuttable) {
        const int64_t bytes = first * head_dim * format_bits(run.format) / 8;
        r.k = static_cast<const uint8_t*>(run.k) + bytes;
        r.v = static_cast<const uint8_t*>(run.v) + bytes;
        r.positions = run.positions + first;
        r.n_tokens = static_cast<int32_t>(take);
      }
      out[p].runs.push_back(r);
      first += take;
      done += take;
    }
  }
  return out;
}

void attention_merge(std::span<const float* const> outs, std::span<const float* const> lses,
                     int rows, int head_dim, float* const* dst) {
  for (int r = 0; r < rows; ++r) {
    float m = -INFINITY;
    for (const float* l : lses) m = std::max(m, l[r]);
    float* o = dst[r];
    std::fill_n(o, head_dim, 0.0f);
    if (m == -INFINITY) continue;  // no visible token in any part
    float total = 0.0f;
    for (size_t p = 0; p < outs.size(); ++p) {
      const float wgt = std::exp(lses[p][r] - m);
      if (wgt == 0.0f) continue;
      total += wgt;
      const float* src = outs[p] + static_cast<int64_t>(r) * head_dim;
      for (int d = 0; d < head_dim; ++d) o[d] += wgt * src[d];
    }
    const float inv = 1.0f / total;
    for (int d = 0; d < head_dim; ++d) o[d] *= inv;
  }
}

Status attention_kv_head_scalar(const KvHeadView& view, const AttentionQuery& qs, float* out,
                                int64_t out_stride) {
  const int D = qs.head_dim;
  std::vector<float> k, v;
  std::vector<int32_t> pos;
  for (const KvRun& run : view.runs) {
    if (!format_supported(run.format)) return unsupported_format(run.format);
    std::vector<float> kb, vb;
    const float* K = tile_as_f32(run.format, run.k, 0, run.n_tokens, D, &kb);
    const float* V = tile_as_f32(run.format, run.v, 0, run.n_tokens, D, &vb);
    k.insert(k.end(), K, K + static_cast<int64_t>(run.n_tokens) * D);
    v.insert(v.end(), V, V + static_cast<int64_t>(run.n_tokens) * D);
    pos.insert(pos.end(), run.positions, run.positions + run.n_tokens);
  }
  std::vector<float> att;
  for (int i = 0; i < qs.n_q; ++i) {
    for (int g = 0; g < qs.group; ++g) {
      const float* qv = qs.q + i * qs.stride + g * D;
      float* o = out + i * out_stride + g * D;
      std::fill_n(o, D, 0.0f);
      att.clear();
      std::vector<size_t> idx;
      for (size_t t = 0; t < pos.size(); ++t) {
        if (pos[t] > qs.positions[i]) continue;
        float s = 0.0f;
        for (int d = 0; d < D; ++d) s += qv[d] * k[t * D + d];
        att.push_back(s * qs.scale);
        idx.push_back(t);
      }
      if (att.empty()) continue;
      softmax(att.data(), static_cast<int64_t>(att.size()));
      for (size_t j = 0; j < att.size(); ++j) {
        for (int d = 0; d < D; ++d) o[d] += att[j] * v[idx[j] * D + d];
      }
    }
  }
  return Status::ok();
}

}  // namespace lk
