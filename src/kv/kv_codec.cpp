#include "kv/kv_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/half.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace lk {

BlockLayout block_layout(KvFormat format, int block_tokens, int head_dim) {
  LK_CHECK_MSG(block_tokens > 0 && head_dim > 0 && head_dim % 4 == 0, "B={} D={}", block_tokens,
               head_dim);
  BlockLayout l;
  l.format = format;
  l.block_tokens = block_tokens;
  l.head_dim = head_dim;
  const int64_t B = block_tokens, D = head_dim;
  switch (format) {
    case KvFormat::kF32: l.row_bytes = 4 * D; break;
    case KvFormat::kF16:
    case KvFormat::kBF16: l.row_bytes = 2 * D; break;
    case KvFormat::kInt8:
      l.row_bytes = D;
      l.param_bytes = 2 * B * 4;
      break;
    case KvFormat::kInt4:
      l.row_bytes = D / 2;
      l.param_bytes = (2 * D + 2 * B) * 2;
      break;
    case KvFormat::kInt2:
      l.row_bytes = D / 4;
      l.param_bytes = (2 * D + 2 * B) * 2;
      break;
  }
  l.data_bytes = 2 * B * l.row_bytes;
  return l;
}

namespace {

void encode_float_row(KvFormat f, const float* x, int D, uint8_t* out) {
  switch (f) {
    case KvFormat::kF32: std::memcpy(out, x, 4 * static_cast<size_t>(D)); break;
    case KvFormat::kF16: {
      auto* o = reinterpret_cast<uint16_t*>(out);
      int d = 0;
#if defined(__F16C__) && defined(__AVX__)
      for (; d + 8 <= D; d += 8)  // round to nearest even, as f32_to_f16
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o + d),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + d), _MM_FROUND_TO_NEAREST_INT));
#endif
      for (; d < D; ++d) o[d] = f32_to_f16(x[d]);
      break;
    }
    case KvFormat::kBF16: {
      auto* o = reinterpret_cast<uint16_t*>(out);
      for (int d = 0; d < D; ++d) o[d] = f32_to_bf16(x[d]);
      break;
    }
    default: LK_CHECK_MSG(false, "not a float format: {}", kv_format_name(f));
  }
}

void decode_float_row(KvFormat f, const uint8_t* in, int D, float* x) {
  switch (f) {
    case KvFormat::kF32: std::memcpy(x, in, 4 * static_cast<size_t>(D)); break;
    case KvFormat::kF16: {
      auto* i = reinterpret_cast<const uint16_t*>(in);
      int d = 0;
#if defined(__F16C__) && defined(__AVX__)
      for (; d + 8 <= D; d += 8)
        _mm256_storeu_ps(x + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(i + d))));
#endif
      for (; d < D; ++d) x[d] = f16_to_f32(i[d]);
      break;
    }
    case KvFormat::kBF16: {
      auto* i = reinterpret_cast<const uint16_t*>(in);
      for (int d = 0; d < D; ++d) x[d] = bf16_to_f32(i[d]);
      break;
    }
    default: LK_CHECK_MSG(false, "not a float format: {}", kv_format_name(f));
  }
}

// Symmetric per-token int8: x ≈ code * scale, scale = max|x| / 127.
float encode_int8_row(const float* x, int D, int8_t* out) {
  float amax = 0.0f;
  for (int d = 0; d < D; ++d) amax = std::max(amax, std::fabs(x[d]));
  const float scale = amax / 127.0f;
  const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
  for (int d = 0; d < D; ++d) {
    const float q = std::nearbyint(x[d] * inv);
    out[d] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
  }
  return scale;
}

// Asymmetric (scale, zero) for values in [lo, hi] with codes 0..qmax, rounded to f16 first so
// that encoding uses exactly the parameters the decoder will read.
void kivi_params(float lo, float hi, int qmax, uint16_t* scale_h, uint16_t* zero_h, float* s,
                 float* z) {
  float scale = (hi - lo) / static_cast<float>(qmax);
  scale = std::min(scale, 65504.0f);
  *scale_h = f32_to_f16(scale);
  *zero_h = f32_to_f16(std::clamp(lo, -65504.0f, 65504.0f));
  *s = f16_to_f32(*scale_h);
  *z = f16_to_f32(*zero_h);
}

inline int kivi_encode(float x, float s, float z, int qmax) {
  if (!(s > 0.0f)) return 0;
  const float q = std::nearbyint((x - z) / s);
  return static_cast<int>(std::clamp(q, 0.0f, static_cast<float>(qmax)));
}

inline void kivi_put(uint8_t* row, int d, int code, KvFormat f) {
  if (f == KvFormat::kInt4) {
    const int sh = (d & 1) * 4;
    row[d >> 1] = static_cast<uint8_t>((row[d >> 1] & ~(0xF << sh)) | (code << sh));
  } else {
    const int sh = (d & 3) * 2;
    row[d >> 2] = static_cast<uint8_t>((row[d >> 2] & ~(0x3 << sh)) | (code << sh));
  }
}

}  // namespace

void codec_write_token(const BlockLayout& l, uint8_t* data, uint8_t* params, int slot,
                       const float* k, const float* v) {
  LK_CHECK(slot >= 0 && slot < l.block_tokens);
  uint8_t* krow = data + slot * l.row_bytes;
  uint8_t* vrow = data + l.v_offset() + slot * l.row_bytes;
  if (l.format == KvFormat::kInt8) {
    auto* scales = reinterpret_cast<float*>(params);
    scales[slot] = encode_int8_row(k, l.head_dim, reinterpret_cast<int8_t*>(krow));
    scales[l.block_tokens + slot] = encode_int8_row(v, l.head_dim, reinterpret_cast<int8_t*>(vrow));
    return;
  }
  LK_CHECK_MSG(!kv_format_is_kivi(l.format), "KIVI blocks are written a group at a time");
  encode_float_row(l.format, k, l.head_dim, krow);
  encode_float_row(l.format, v, l.head_dim, vrow);
}

void codec_read_token(const BlockLayout& l, const uint8_t* data, const uint8_t* params, int slot,
                      float* k, float* v) {
  const int D = l.head_dim;
  const uint8_t* krow = data + slot * l.row_bytes;
  const uint8_t* vrow = data + l.v_offset() + slot * l.row_bytes;
  if (l.format == KvFormat::kInt8) {
    auto* scales = reinterpret_cast<const float*>(params);
    const float ks = scales[slot], vs = scales[l.block_tokens + slot];
    for (int d = 0; d < D; ++d) {
      k[d] = static_cast<float>(reinterpret_cast<const int8_t*>(krow)[d]) * ks;
      v[d] = static_cast<float>(reinterpret_cast<const int8_t*>(vrow)[d]) * vs;
    }
    return;
  }
  if (kv_format_is_kivi(l.format)) {
    auto* kp = reinterpret_cast<const uint16_t*>(params);       // [D][2]
    const uint16_t* vp = kp + 2 * D + 2 * slot;                   // [2]
    const float vs = f16_to_f32(vp[0]), vz = f16_to_f32(vp[1]);
    for (int d = 0; d < D; ++d) {
      k[d] = kivi_code(krow, d, l.format) * f16_to_f32(kp[2 * d]) + f16_to_f32(kp[2 * d + 1]);
      v[d] = kivi_code(vrow, d, l.format) * vs + vz;
    }
    return;
  }
  decode_float_row(l.format, krow, D, k);
  decode_float_row(l.format, vrow, D, v);
}

void codec_quantize_group(const BlockLayout& l, uint8_t* data, uint8_t* params, int n,
                          const float* k, const float* v) {
  LK_CHECK(kv_format_is_kivi(l.format) && n > 0 && n <= l.block_tokens);
  const int D = l.head_dim, qmax = kivi_qmax(l.format);
  auto* kp = reinterpret_cast<uint16_t*>(params);
  uint16_t* vp = kp + 2 * D;
  std::memset(data, 0, static_cast<size_t>(l.data_bytes));
  // K: per channel over the n tokens of the group (KIVI: outlier channels get their own range).
  for (int d = 0; d < D; ++d) {
    float lo = k[d], hi = k[d];
    for (int t = 1; t < n; ++t) {
      lo = std::min(lo, k[t * D + d]);
      hi = std::max(hi, k[t * D + d]);
    }
    float s, z;
    kivi_params(lo, hi, qmax, &kp[2 * d], &kp[2 * d + 1], &s, &z);
    for (int t = 0; t < n; ++t)
      kivi_put(data + t * l.row_bytes, d, kivi_encode(k[t * D + d], s, z, qmax), l.format);
  }
  // V: per token.
  uint8_t* vbase = data + l.v_offset();
  for (int t = 0; t < n; ++t) {
    const float* x = v + t * D;
    float lo = x[0], hi = x[0];
    for (int d = 1; d < D; ++d) {
      lo = std::min(lo, x[d]);
      hi = std::max(hi, x[d]);
    }
    float s, z;
    kivi_params(lo, hi, qmax, &vp[2 * t], &vp[2 * t + 1], &s, &z);
    for (int d = 0; d < D; ++d)
      kivi_put(vbase + t * l.row_bytes, d, kivi_encode(x[d], s, z, qmax), l.format);
  }
  for (int t = n; t < l.block_tokens; ++t) vp[2 * t] = vp[2 * t + 1] = 0;
}

void codec_move_token(const BlockLayout& l, uint8_t* data, uint8_t* params, int from, int to) {
  if (from == to) return;
  const size_t rb = static_cast<size_t>(l.row_bytes);
  std::memmove(data + to * rb, data + from * rb, rb);
  std::memmove(data + l.v_offset() + to * rb, data + l.v_offset() + from * rb, rb);
  if (l.format == KvFormat::kInt8) {
    auto* s = reinterpret_cast<float*>(params);
    s[to] = s[from];
    s[l.block_tokens + to] = s[l.block_tokens + from];
  } else if (kv_format_is_kivi(l.format)) {
    uint16_t* vp = reinterpret_cast<uint16_t*>(params) + 2 * l.head_dim;
    vp[2 * to] = vp[2 * from];
    vp[2 * to + 1] = vp[2 * from + 1];
  }
}

void codec_copy_token(const BlockLayout& l, const uint8_t* src, const uint8_t* src_params,
                      int from, uint8_t* dst, uint8_t* dst_params, int to) {
  LK_CHECK(kv_format_per_token(l.format));
  const size_t rb = static_cast<size_t>(l.row_bytes);
  std::memcpy(dst + to * rb, src + from * rb, rb);
  std::memcpy(dst + l.v_offset() + to * rb, src + l.v_offset() + from * rb, rb);
  if (l.format == KvFormat::kInt8) {
    auto* s = reinterpret_cast<const float*>(src_params);
    auto* d = reinterpret_cast<float*>(dst_params);
    d[to] = s[from];
    d[l.block_tokens + to] = s[l.block_tokens + from];
  }
}

KvRun codec_run(const BlockLayout& l, const uint8_t* data, const uint8_t* params, int n,
                const int32_t* positions) {
  KvRun r;
  r.format = l.format;
  r.n_tokens = n;
  r.k = data;
  r.v = data + l.v_offset();
  r.positions = positions;
  if (l.format == KvFormat::kInt8) {
    r.k_scale = reinterpret_cast<const float*>(params);
    r.v_scale = r.k_scale + l.block_tokens;
  } else if (kv_format_is_kivi(l.format)) {
    r.k_qparams = reinterpret_cast<const uint16_t*>(params);
    r.v_qparams = r.k_qparams + 2 * l.head_dim;
  }
  return r;
}

}  // namespace lk
