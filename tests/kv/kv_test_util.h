// Helpers for the kv tests: small manager configs, random K/V, and an f32 reference attention
// (the oracle: plain softmax over dequantized-by-definition f32 inputs). A throwaway
// redis-server comes from the library's launcher (kv/redis_process.h).
#pragma once

#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "kv/kv_manager.h"
#include "test_util.h"

namespace lk::test {

inline KvManagerConfig small_config(KvFormat f = KvFormat::kF16, int block = 4,
                                    int64_t budget = 8 << 20) {
  KvManagerConfig c;
  c.n_layers = 2;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.block_tokens = block;
  c.format = f;
  c.residual_format = KvFormat::kF16;
  c.budget_bytes = budget;
  c.model_digest = "test-model";
  return c;
}

inline std::unique_ptr<KvManager> make_manager(const KvManagerConfig& c) {
  auto r = KvManager::create(c);
  if (!r.is_ok()) throw std::runtime_error(r.status().to_string());
  return std::move(r).value();
}

// Random K/V for n tokens: [n][n_kv_heads][head_dim].
inline std::vector<float> random_kv(int64_t n, const KvManagerConfig& c, std::mt19937& rng,
                                    float scale = 1.0f) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> x(static_cast<size_t>(n * c.n_kv_heads * c.head_dim));
  for (auto& v : x) v = nd(rng);
  return x;
}

// Appends n tokens at positions [start, start + n) to every layer of seq.
inline Status append_all_layers(KvManager& m, SeqId seq, int64_t start, int64_t n,
                                const std::vector<float>& k, const std::vector<float>& v) {
  std::vector<int32_t> pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(start + i);
  for (int l = 0; l < m.config().n_layers; ++l) {
    Status st = m.append(seq, l, pos, k.data(), v.data());
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

// Reference: out[i] = softmax(scale * q_i . K^T, masked by position) V, in double.
inline void reference_attention(const std::vector<float>& keys, const std::vector<float>& vals,
                                const std::vector<int32_t>& pos, int D, const float* q,
                                const int32_t* q_pos, int n_q, float scale, float* out) {
  const size_t n = pos.size();
  for (int i = 0; i < n_q; ++i) {
    std::vector<double> s(n);
    double mx = -1e300;
    for (size_t t = 0; t < n; ++t) {
      if (q_pos && pos[t] > q_pos[i]) continue;
      double acc = 0;
      for (int d = 0; d < D; ++d) acc += double(q[i * D + d]) * keys[t * D + d];
      s[t] = acc * scale;
      mx = std::max(mx, s[t]);
    }
    double sum = 0;
    std::vector<double> o(D, 0.0);
    for (size_t t = 0; t < n; ++t) {
      if (q_pos && pos[t] > q_pos[i]) continue;
      const double w = std::exp(s[t] - mx);
      sum += w;
      for (int d = 0; d < D; ++d) o[d] += w * vals[t * D + d];
    }
    for (int d = 0; d < D; ++d) out[i * D + d] = sum > 0 ? static_cast<float>(o[d] / sum) : 0.0f;
  }
}

}  // namespace lk::test
