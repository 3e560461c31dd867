#include "engine/reference_forward.h"

#include <algorithm>
#include <cmath>

#include "engine/rope_freqs.h"
#include "kernels/row_convert.h"

namespace lk {

ReferenceForward::ReferenceForward(const Model& model, int max_positions)
    : model_(model), max_positions_(max_positions), inv_freq_(rope_inv_freqs(model.spec)) {
  const ModelSpec& s = model.spec;
  const int64_t kv_dim = int64_t{s.n_kv_heads} * s.head_dim;
  key_cache_.assign(int64_t{s.n_layers} * max_positions * kv_dim, 0.0f);
  value_cache_.assign(key_cache_.size(), 0.0f);
  row_.resize(std::max<int64_t>({s.d_model, s.ffn_dim, int64_t{s.n_heads} * s.head_dim}));
}

Status ReferenceForward::matmul(const TensorView& w, const float* x, float* out) {
  const int64_t n = w.ne[0];
  for (int64_t i = 0; i < w.ne[1]; ++i) {
    LK_RETURN_IF_ERROR(row_to_f32(w, i, row_.data()));
    float val = 0.0f;
    for (int64_t j = 0; j < n; ++j) val += row_[j] * x[j];
    out[i] = val;
  }
  return Status::ok();
}

void ReferenceForward::rmsnorm(float* out, const float* x, const float* weight, int n) const {
  float ss = 0.0f;
  for (int j = 0; j < n; ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(n);
  ss += model_.spec.rms_eps;
  ss = 1.0f / std::sqrt(ss);
  for (int j = 0; j < n; ++j) out[j] = weight[j] * (ss * x[j]);
}

void ReferenceForward::rope(float* vec, int n_heads, int pos) const {
  const int D = model_.spec.head_dim;
  for (int h = 0; h < n_heads; ++h) {
    float* v = vec + h * D;
    for (int i = 0; i < D / 2; ++i) {
      const float angle = static_cast<float>(pos) * inv_freq_[i];
      const float c = std::cos(angle), s = std::sin(angle);
      // Which two dimensions rotate together depends on the checkpoint's convention.
      const int a = model_.rope_style == RopeStyle::kAdjacentPairs ? 2 * i : i;
      const int b = model_.rope_style == RopeStyle::kAdjacentPairs ? 2 * i + 1 : i + D / 2;
      const float v0 = v[a], v1 = v[b];
      v[a] = v0 * c - v1 * s;
      v[b] = v0 * s + v1 * c;
    }
  }
}

Result<std::vector<float>> ReferenceForward::forward(int token, int pos) {
  const ModelSpec& s = model_.spec;
  const ModelWeights& w = model_.weights;
  if (token < 0 || token >= s.vocab_size) {
    return invalid_argument("token id {} out of range [0, {})", token, s.vocab_size);
  }
  if (pos < 0 || pos >= max_positions_) {
    return invalid_argument("position {} out of range [0, {})", pos, max_positions_);
  }
  const int dim = s.d_model, D = s.head_dim, n_heads = s.n_heads, n_kv = s.n_kv_heads;
  const int q_dim = n_heads * D, kv_dim = n_kv * D, group = n_heads / n_kv;

  std::vector<float> x(dim), xb(std::max(dim, q_dim)), xb2(dim), q(q_dim), hb(s.ffn_dim),
      hb2(s.ffn_dim), att(pos + 1);
  LK_RETURN_IF_ERROR(row_to_f32(w.tok_embd, token, x.data()));

  for (int l = 0; l < s.n_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    rmsnorm(xb.data(), x.data(), static_cast<const float*>(L.attn_norm.data), dim);

    const int64_t loff = int64_t{l} * max_positions_ * kv_dim;
    float* k = key_cache_.data() + loff + int64_t{pos} * kv_dim;
    float* v = value_cache_.data() + loff + int64_t{pos} * kv_dim;
    LK_RETURN_IF_ERROR(matmul(L.wq, xb.data(), q.data()));
    LK_RETURN_IF_ERROR(matmul(L.wk, xb.data(), k));
    LK_RETURN_IF_ERROR(matmul(L.wv, xb.data(), v));
    if (L.bq.data) {
      for (int i = 0; i < q_dim; ++i) q[i] += static_cast<const float*>(L.bq.data)[i];
      for (int i = 0; i < kv_dim; ++i) k[i] += static_cast<const float*>(L.bk.data)[i];
      for (int i = 0; i < kv_dim; ++i) v[i] += static_cast<const float*>(L.bv.data)[i];
    }
    if (L.q_norm.data) {  // qwen3: RMSNorm over each head's q and k, before RoPE
      for (int h = 0; h < n_heads; ++h) {
        rmsnorm(q.data() + h * D, q.data() + h * D, static_cast<const float*>(L.q_norm.data), D);
      }
      for (int h = 0; h < n_kv; ++h) {
        rmsnorm(k + h * D, k + h * D, static_cast<const float*>(L.k_norm.data), D);
      }
    }
    rope(q.data(), n_heads, pos);
    rope(k, n_kv, pos);

    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    for (int h = 0; h < n_heads; ++h) {
      const float* qh = q.data() + h * D;
      const int kvh = h / group;
      float max_val = -INFINITY;
      for (int t = 0; t <= pos; ++t) {
        const float* kt = key_cache_.data() + loff + int64_t{t} * kv_dim + kvh * D;
        float score = 0.0f;
        for (int i = 0; i < D; ++i) score += qh[i] * kt[i];
        att[t] = score * scale;
        max_val = std::max(max_val, att[t]);
      }
      float sum = 0.0f;
      for (int t = 0; t <= pos; ++t) {
        att[t] = std::exp(att[t] - max_val);
        sum += att[t];
      }
      float* out = xb.data() + h * D;
      std::fill(out, out + D, 0.0f);
      for (int t = 0; t <= pos; ++t) {
        const float* vt = value_cache_.data() + loff + int64_t{t} * kv_dim + kvh * D;
        const float a = att[t] / sum;
        for (int i = 0; i < D; ++i) out[i] += a * vt[i];
      }
    }
    LK_RETURN_IF_ERROR(matmul(L.wo, xb.data(), xb2.data()));
    for (int i = 0; i < dim; ++i) x[i] += xb2[i];

    rmsnorm(xb.data(), x.data(), static_cast<const float*>(L.ffn_norm.data), dim);
    LK_RETURN_IF_ERROR(matmul(L.w_gate, xb.data(), hb.data()));
    LK_RETURN_IF_ERROR(matmul(L.w_up, xb.data(), hb2.data()));
    for (int i = 0; i < s.ffn_dim; ++i) {
      const float g = hb[i];
      hb[i] = g * (1.0f / (1.0f + std::exp(-g))) * hb2[i];  // SiLU(gate) * up
    }
    LK_RETURN_IF_ERROR(matmul(L.w_down, hb.data(), xb2.data()));
    for (int i = 0; i < dim; ++i) x[i] += xb2[i];
  }
  rmsnorm(x.data(), x.data(), static_cast<const float*>(w.output_norm.data), dim);
  std::vector<float> logits(s.vocab_size);
  LK_RETURN_IF_ERROR(matmul(w.output, x.data(), logits.data()));
  return logits;
}

}  // namespace lk
