#include "kernels/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/half.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace lk {

namespace {

constexpr int kTile = 128;          // tokens per tile
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
  const int D = qs.head_dim, G = qs.group, nq = qs.n_q;
  const int rows = nq * G;
  thread_local std::vector<RowState> state;
  thread_local std::vector<float> kbuf, vbuf, scores;
  state.assign(rows, RowState{});
  for (int i = 0; i < nq; ++i) {
    for (int g = 0; g < G; ++g) std::fill_n(out + i * out_stride + g * D, D, 0.0f);
  }
  const int32_t max_qpos = *std::max_element(qs.positions, qs.positions + nq);
  const bool use_gemm = nq >= kGemmMinQueries;
  scores.resize(static_cast<size_t>(rows) * kTile);

  for (const KvRun& run : view.runs) {
    if (!format_supported(run.format)) return unsupported_format(run.format);
    for (int64_t t0 = 0; t0 < run.n_tokens; t0 += kTile) {
      const int n = static_cast<int>(std::min<int64_t>(kTile, run.n_tokens - t0));
      const int32_t* pos = run.positions + t0;
      if (pos[0] > max_qpos) break;  // ascending positions: nothing later is visible
      const float* K = tile_as_f32(run.format, run.k, t0, n, D, &kbuf);
      const float* V = tile_as_f32(run.format, run.v, t0, n, D, &vbuf);
      // scores[(i*G+g)][t] for the tile
      if (use_gemm) {
        for (int g = 0; g < G; ++g) {
          // rows i*G+g are strided by G rows in `scores`
          sgemm_nt(nq, n, D, qs.scale, qs.q + g * D, qs.stride, K, D, 0.0f,
                   scores.data() + static_cast<int64_t>(g) * kTile, int64_t{G} * kTile);
        }
      } else {
        for (int i = 0; i < nq; ++i) {
          for (int g = 0; g < G; ++g) {
            const float* qv = qs.q + i * qs.stride + g * D;
            float* s = scores.data() + static_cast<int64_t>(i * G + g) * kTile;
            for (int t = 0; t < n; ++t)
              s[t] = dot_f32(qv, K + static_cast<int64_t>(t) * D, D) * qs.scale;
          }
        }
      }
      // Mask, update the running max and sum, turn scores into unnormalized weights.
      for (int i = 0; i < nq; ++i) {
        const int visible = static_cast<int>(std::upper_bound(pos, pos + n, qs.positions[i]) - pos);
        for (int g = 0; g < G; ++g) {
          const int r = i * G + g;
          float* s = scores.data() + static_cast<int64_t>(r) * kTile;
          std::fill(s + visible, s + n, 0.0f);
          float* o = out + i * out_stride + g * D;
          if (visible == 0) continue;
          float m_new = state[r].m;
          for (int t = 0; t < visible; ++t) m_new = std::max(m_new, s[t]);
          const float corr = std::exp(state[r].m - m_new);  // exp(-inf) = 0 on the first tile
          const float sum = exp_shift_sum(s, visible, m_new);
          state[r].l = state[r].l * corr + sum;
          state[r].m = m_new;
          if (corr != 1.0f) {
            for (int d = 0; d < D; ++d) o[d] *= corr;
          }
          if (!use_gemm) accumulate_weighted_rows(o, s, V, visible, D);
        }
      }
      if (use_gemm) {
        for (int g = 0; g < G; ++g) {
          sgemm_nn(nq, D, n, 1.0f, scores.data() + static_cast<int64_t>(g) * kTile,
                   int64_t{G} * kTile, V, D, 1.0f, out + g * D, out_stride);
        }
      }
    }
  }
  for (int i = 0; i < nq; ++i) {
    for (int g = 0; g < G; ++g) {
      const float l = state[i * G + g].l;
      float* o = out + i * out_stride + g * D;
      const float inv = l > 0.0f ? 1.0f / l : 0.0f;
      for (int d = 0; d < D; ++d) o[d] *= inv;
    }
  }
  return Status::ok();
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
