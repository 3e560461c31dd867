#include "kernels/attention_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/check.h"
#include "core/half.h"
#include "kv/kv_codec.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace lk {

namespace {

inline float h2f(uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  return f16_to_f32(h);
#endif
}

// Row decoders for float formats: x[d] from the element type.
template <typename Load>
void scores_rows(const KvRun& run, int D, const float* q, int n_q, float scale, float* scores,
                 Load load) {
  const int n = run.n_tokens;
  for (int t = 0; t < n; ++t) {
    for (int i = 0; i < n_q; ++i) {
      const float* qi = q + static_cast<int64_t>(i) * D;
      float acc = 0.0f;
      for (int d = 0; d < D; ++d) acc += qi[d] * load(t, d);
      scores[static_cast<int64_t>(i) * n + t] = acc * scale;
    }
  }
}

template <typename Load>
void accumulate_rows(const KvRun& run, int D, const float* w, int n_q, float* out, Load load) {
  const int n = run.n_tokens;
  for (int t = 0; t < n; ++t) {
    for (int i = 0; i < n_q; ++i) {
      const float wt = w[static_cast<int64_t>(i) * n + t];
      if (wt == 0.0f) continue;
      float* o = out + static_cast<int64_t>(i) * D;
      for (int d = 0; d < D; ++d) o[d] += wt * load(t, d);
    }
  }
}

void kivi_scores(const KvRun& run, int D, const float* q, int n_q, float scale, float* scores) {
  const int n = run.n_tokens;
  const int row_bytes = run.format == KvFormat::kInt4 ? D / 2 : D / 4;
  const auto* codes = static_cast<const uint8_t*>(run.k);
  std::vector<float> qs(D);  // q_d * s_d for the run's group
  for (int i = 0; i < n_q; ++i) {
    const float* qi = q + static_cast<int64_t>(i) * D;
    float bias = 0.0f;
    for (int d = 0; d < D; ++d) {
      qs[d] = qi[d] * h2f(run.k_qparams[2 * d]);
      bias += qi[d] * h2f(run.k_qparams[2 * d + 1]);
    }
    for (int t = 0; t < n; ++t) {
      const uint8_t* row = codes + static_cast<int64_t>(t) * row_bytes;
      float acc = 0.0f;
      if (run.format == KvFormat::kInt4) {
        for (int b = 0; b < row_bytes; ++b) {
          acc += qs[2 * b] * static_cast<float>(row[b] & 0xF) +
                 qs[2 * b + 1] * static_cast<float>(row[b] >> 4);
        }
      } else {
        for (int b = 0; b < row_bytes; ++b) {
          const int c = row[b];
          acc += qs[4 * b] * static_cast<float>(c & 3) +
                 qs[4 * b + 1] * static_cast<float>((c >> 2) & 3) +
                 qs[4 * b + 2] * static_cast<float>((c >> 4) & 3) +
                 qs[4 * b + 3] * static_cast<float>(c >> 6);
        }
      }
      scores[static_cast<int64_t>(i) * n + t] = (acc + bias) * scale;
    }
  }
}

void kivi_accumulate(const KvRun& run, int D, const float* w, int n_q, float* out) {
  const int n = run.n_tokens;
  const int row_bytes = run.format == KvFormat::kInt4 ? D / 2 : D / 4;
  const auto* codes = static_cast<const uint8_t*>(run.v);
  for (int t = 0; t < n; ++t) {
    const uint8_t* row = codes + static_cast<int64_t>(t) * row_bytes;
    const float s = h2f(run.v_qparams[2 * t]), z = h2f(run.v_qparams[2 * t + 1]);
    for (int i = 0; i < n_q; ++i) {
      const float wt = w[static_cast<int64_t>(i) * n + t];
      if (wt == 0.0f) continue;
      const float ws = wt * s, wz = wt * z;
      float* o = out + static_cast<int64_t>(i) * D;
      if (run.format == KvFormat::kInt4) {
        for (int b = 0; b < row_bytes; ++b) {
          o[2 * b] += ws * static_cast<float>(row[b] & 0xF) + wz;
          o[2 * b + 1] += ws * static_cast<float>(row[b] >> 4) + wz;
        }
      } else {
        for (int b = 0; b < row_bytes; ++b) {
          const int c = row[b];
          o[4 * b] += ws * static_cast<float>(c & 3) + wz;
          o[4 * b + 1] += ws * static_cast<float>((c >> 2) & 3) + wz;
          o[4 * b + 2] += ws * static_cast<float>((c >> 4) & 3) + wz;
          o[4 * b + 3] += ws * static_cast<float>(c >> 6) + wz;
        }
      }
    }
  }
}

}  // namespace

void attn_run_scores(const KvRun& run, int D, const float* q, int n_q, float scale, float* scores) {
  switch (run.format) {
    case KvFormat::kF32: {
      auto* k = static_cast<const float*>(run.k);
      scores_rows(run, D, q, n_q, scale, scores,
                  [&](int t, int d) { return k[static_cast<int64_t>(t) * D + d]; });
      break;
    }
    case KvFormat::kF16: {
      auto* k = static_cast<const uint16_t*>(run.k);
      scores_rows(run, D, q, n_q, scale, scores,
                  [&](int t, int d) { return h2f(k[static_cast<int64_t>(t) * D + d]); });
      break;
    }
    case KvFormat::kBF16: {
      auto* k = static_cast<const uint16_t*>(run.k);
      scores_rows(run, D, q, n_q, scale, scores,
                  [&](int t, int d) { return bf16_to_f32(k[static_cast<int64_t>(t) * D + d]); });
      break;
    }
    case KvFormat::kInt8: {
      // dot(q, c_t) * s_t: the per-token scale factors out of the dot product.
      auto* k = static_cast<const int8_t*>(run.k);
      const int n = run.n_tokens;
      for (int t = 0; t < n; ++t) {
        const int8_t* row = k + static_cast<int64_t>(t) * D;
        for (int i = 0; i < n_q; ++i) {
          const float* qi = q + static_cast<int64_t>(i) * D;
          float acc = 0.0f;
          for (int d = 0; d < D; ++d) acc += qi[d] * static_cast<float>(row[d]);
          scores[static_cast<int64_t>(i) * n + t] = acc * run.k_scale[t] * scale;
        }
      }
      break;
    }
    case KvFormat::kInt4:
    case KvFormat::kInt2:
      kivi_scores(run, D, q, n_q, scale, scores);
      break;
  }
}

void attn_run_accumulate(const KvRun& run, int D, const float* w, int n_q, float* out) {
  switch (run.format) {
    case KvFormat::kF32: {
      auto* v = static_cast<const float*>(run.v);
      accumulate_rows(run, D, w, n_q, out,
                      [&](int t, int d) { return v[static_cast<int64_t>(t) * D + d]; });
      break;
    }
    case KvFormat::kF16: {
      auto* v = static_cast<const uint16_t*>(run.v);
      accumulate_rows(run, D, w, n_q, out,
                      [&](int t, int d) { return h2f(v[static_cast<int64_t>(t) * D + d]); });
      break;
    }
    case KvFormat::kBF16: {
      auto* v = static_cast<const uint16_t*>(run.v);
      accumulate_rows(run, D, w, n_q, out, [&](int t, int d) {
        return bf16_to_f32(v[static_cast<int64_t>(t) * D + d]);
      });
      break;
    }
    case KvFormat::kInt8: {
      auto* v = static_cast<const int8_t*>(run.v);
      const int n = run.n_tokens;
      for (int t = 0; t < n; ++t) {
        const int8_t* row = v + static_cast<int64_t>(t) * D;
        for (int i = 0; i < n_q; ++i) {
          const float ws = w[static_cast<int64_t>(i) * n + t] * run.v_scale[t];
          if (ws == 0.0f) continue;
          float* o = out + static_cast<int64_t>(i) * D;
          for (int d = 0; d < D; ++d) o[d] += ws * static_cast<float>(row[d]);
        }
      }
      break;
    }
    case KvFormat::kInt4:
    case KvFormat::kInt2:
      kivi_accumulate(run, D, w, n_q, out);
      break;
  }
}

void attention_view(const KvHeadView& view, int D, const float* q, const int32_t* q_pos, int n_q,
                    float scale, float* out) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  std::vector<float> m(n_q, kNegInf), l(n_q, 0.0f);  // running max and normalizer per query
  std::fill(out, out + static_cast<int64_t>(n_q) * D, 0.0f);
  std::vector<float> s;
  for (const KvRun& run : view.runs) {
    const int n = run.n_tokens;
    if (n == 0) continue;
    s.resize(static_cast<size_t>(n_q) * n);
    attn_run_scores(run, D, q, n_q, scale, s.data());
    for (int i = 0; i < n_q; ++i) {
      float* si = s.data() + static_cast<int64_t>(i) * n;
      if (q_pos) {
        LK_CHECK(run.positions != nullptr);
        for (int t = 0; t < n; ++t)
          if (run.positions[t] > q_pos[i]) si[t] = kNegInf;
      }
      float mx = m[i];
      for (int t = 0; t < n; ++t) mx = std::max(mx, si[t]);
      if (mx == kNegInf) {  // nothing visible yet for this query
        std::fill(si, si + n, 0.0f);
        continue;
      }
      const float corr = m[i] == kNegInf ? 0.0f : std::exp(m[i] - mx);
      float* o = out + static_cast<int64_t>(i) * D;
      if (corr != 1.0f)
        for (int d = 0; d < D; ++d) o[d] *= corr;
      float sum = 0.0f;
      for (int t = 0; t < n; ++t) {
        si[t] = si[t] == kNegInf ? 0.0f : std::exp(si[t] - mx);
        sum += si[t];
      }
      l[i] = l[i] * corr + sum;
      m[i] = mx;
    }
    attn_run_accumulate(run, D, s.data(), n_q, out);
  }
  for (int i = 0; i < n_q; ++i) {
    float* o = out + static_cast<int64_t>(i) * D;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    for (int d = 0; d < D; ++d) o[d] *= inv;
  }
}

Status attention_kv_head_quant(const KvHeadView& view, const AttentionQuery& qs, float* out,
                               int64_t out_stride) {
  const int D = qs.head_dim, G = qs.group, nq = qs.n_q;
  if (D <= 0 || G <= 0 || nq < 0 || (nq > 0 && !qs.q))
    return invalid_argument("attention: bad query (head_dim {}, group {}, n_q {})", D, G, nq);
  for (const KvRun& r : view.runs)
    if (qs.positions && r.n_tokens > 0 && !r.positions)
      return invalid_argument("attention: causal query over a run without positions");
  // Gather the group's queries into rows [nq * G][D] (row i * G + g), positions repeated.
  std::vector<float> q(static_cast<size_t>(nq) * G * D), o(q.size());
  std::vector<int32_t> pos(qs.positions ? static_cast<size_t>(nq) * G : 0);
  for (int i = 0; i < nq; ++i)
    for (int g = 0; g < G; ++g) {
      std::copy(qs.q + i * qs.stride + g * D, qs.q + i * qs.stride + (g + 1) * D,
                q.begin() + (static_cast<int64_t>(i) * G + g) * D);
      if (qs.positions) pos[static_cast<size_t>(i) * G + g] = qs.positions[i];
    }
  attention_view(view, D, q.data(), qs.positions ? pos.data() : nullptr, nq * G, qs.scale,
                 o.data());
  for (int i = 0; i < nq; ++i)
    for (int g = 0; g < G; ++g)
      std::copy(o.begin() + (static_cast<int64_t>(i) * G + g) * D,
                o.begin() + (static_cast<int64_t>(i) * G + g + 1) * D,
                out + i * out_stride + g * D);
  return Status::ok();
}

Status attention_kv_head_any(const KvHeadView& view, const AttentionQuery& query, float* out,
                             int64_t out_stride) {
  for (const KvRun& r : view.runs) {
    if (r.format == KvFormat::kInt8 || r.format == KvFormat::kInt4 || r.format == KvFormat::kInt2)
      return attention_kv_head_quant(view, query, out, out_stride);
  }
  return attention_kv_head(view, query, out, out_stride);
}

}  // namespace lk
