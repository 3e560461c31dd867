#include "compress/observe.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "core/half.h"
#include "kv/kv_codec.h"

namespace lk::compress {

void run_key(const KvRun& r, int t, int D, float* out) {
  switch (r.format) {
    case KvFormat::kF32: {
      const float* k = static_cast<const float*>(r.k) + int64_t{t} * D;
      std::copy_n(k, D, out);
      return;
    }
    case KvFormat::kF16: {
      const uint16_t* k = static_cast<const uint16_t*>(r.k) + int64_t{t} * D;
      for (int d = 0; d < D; ++d) out[d] = f16_to_f32(k[d]);
      return;
    }
    case KvFormat::kBF16: {
      const uint16_t* k = static_cast<const uint16_t*>(r.k) + int64_t{t} * D;
      for (int d = 0; d < D; ++d) out[d] = bf16_to_f32(k[d]);
      return;
    }
    case KvFormat::kInt8: {
      const int8_t* k = static_cast<const int8_t*>(r.k) + int64_t{t} * D;
      for (int d = 0; d < D; ++d) out[d] = static_cast<float>(k[d]) * r.k_scale[t];
      return;
    }
    case KvFormat::kInt4:
    case KvFormat::kInt2: {
      const int64_t row = int64_t{D} * kv_format_bits(r.format) / 8;
      const uint8_t* k = static_cast<const uint8_t*>(r.k) + int64_t{t} * row;
      for (int d = 0; d < D; ++d)
        out[d] = static_cast<float>(kivi_code(k, d, r.format)) * f16_to_f32(r.k_qparams[2 * d]) +
                 f16_to_f32(r.k_qparams[2 * d + 1]);
      return;
    }
  }
  LK_CHECK_MSG(false, "unknown KV format {}", static_cast<int>(r.format));
}

void run_value(const KvRun& r, int t, int D, float* out) {
  switch (r.format) {
    case KvFormat::kF32:
      std::copy_n(static_cast<const float*>(r.v) + int64_t{t} * D, D, out);
      return;
    case KvFormat::kF16: {
      const uint16_t* v = static_cast<const uint16_t*>(r.v) + int64_t{t} * D;
      for (int d = 0; d < D; ++d) out[d] = f16_to_f32(v[d]);
      return;
    }
    case KvFormat::kBF16: {
      const uint16_t* v = static_cast<const uint16_t*>(r.v) + int64_t{t} * D;
      for (int d = 0; d < D; ++d) out[d] = bf16_to_f32(v[d]);
      return;
    }
    case KvFormat::kInt8: {
      const int8_t* v = static_cast<const int8_t*>(r.v) + int64_t{t} * D;
      for (int d = 0; d < D; ++d) out[d] = static_cast<float>(v[d]) * r.v_scale[t];
      return;
    }
    case KvFormat::kInt4:
    case KvFormat::kInt2: {
      const int64_t row = int64_t{D} * kv_format_bits(r.format) / 8;
      const uint8_t* v = static_cast<const uint8_t*>(r.v) + int64_t{t} * row;
      const float scale = f16_to_f32(r.v_qparams[2 * t]), zero = f16_to_f32(r.v_qparams[2 * t + 1]);
      for (int d = 0; d < D; ++d)
        out[d] = static_cast<float>(kivi_code(v, d, r.format)) * scale + zero;
      return;
    }
  }
  LK_CHECK_MSG(false, "unknown KV format {}", static_cast<int>(r.format));
}

void view_keys(const KvHeadView& v, int D, std::vector<float>* keys,
               std::vector<int32_t>* positions) {
  const int64_t n = v.n_tokens();
  keys->resize(static_cast<size_t>(n * D));
  positions->resize(static_cast<size_t>(n));
  int64_t i = 0;
  for (const KvRun& r : v.runs)
    for (int t = 0; t < r.n_tokens; ++t, ++i) {
      run_key(r, t, D, keys->data() + i * D);
      (*positions)[i] = r.positions[t];
    }
}

void attention_probs(const KvHeadView& v, const float* q, int64_t q_stride,
                     const int32_t* q_positions, int n_q, int group, int D, float scale,
                     std::vector<float>* probs, std::vector<int32_t>* key_positions) {
  std::vector<float> keys;
  view_keys(v, D, &keys, key_positions);
  const int64_t n = static_cast<int64_t>(key_positions->size());
  probs->assign(static_cast<size_t>(int64_t{n_q} * group * n), 0.0f);
  for (int i = 0; i < n_q; ++i)
    for (int g = 0; g < group; ++g) {
      const float* qi = q + i * q_stride + int64_t{g} * D;
      float* row = probs->data() + (int64_t{i} * group + g) * n;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < n; ++k) {
        if ((*key_positions)[k] > q_positions[i]) continue;
        float s = 0;
        for (int d = 0; d < D; ++d) s += qi[d] * keys[k * D + d];
        row[k] = s * scale;
        mx = std::max(mx, row[k]);
      }
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        if ((*key_positions)[k] > q_positions[i]) {
          row[k] = 0;
          continue;
        }
        row[k] = std::exp(row[k] - mx);
        sum += row[k];
      }
      if (sum > 0)
        for (int64_t k = 0; k < n; ++k) row[k] = static_cast<float>(row[k] / sum);
    }
}

}  // namespace lk::compress
