#include "model/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/half.h"

// Floating-point contraction (fused multiply-add) would change the rounding of d * q - m
// and break bit-exactness with the reference; it is turned off for the code below.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace lk {

namespace {

// Rounds half away from zero and clamps to [lo, hi]; NaN maps to 0 clamped (no UB casts).
int round_clamp(float v, int lo, int hi) {
  if (!(v == v)) v = 0;
  v = std::round(v);
  if (v < static_cast<float>(lo)) return lo;
  if (v > static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

// The f16 value nearest to x from above (so a scale stored as f16 never shrinks and no
// quantized value clips).
uint16_t f16_at_least(float x) {
  uint16_t h = f32_to_f16(x);
  if (f16_to_f32(h) < x && (h & 0x7fff) < 0x7bff) ++h;  // positive x: next larger f16
  return h;
}

void dequant_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[i * kQK + j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void dequant_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[i * kQK + j] = d * static_cast<float>((b[i].qs[j] & 0x0f) - 8);
      y[i * kQK + j + kQK / 2] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

void dequant_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int c = 0; c < 4; ++c, q += 32) {  // 64 elements: low nibbles, then high nibbles
      uint8_t sc, m;
      q4k_scale_min(b[i].scales, 2 * c, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      q4k_scale_min(b[i].scales, 2 * c + 1, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) y[64 * c + l] = d1 * static_cast<float>(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) y[64 * c + 32 + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequant_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const uint8_t* ql = b[i].qs;
    for (int c = 0; c < 4; ++c, ql += 32) {
      uint8_t sc, m;
      q4k_scale_min(b[i].scales, 2 * c, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      q4k_scale_min(b[i].scales, 2 * c + 1, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      const uint8_t u1 = static_cast<uint8_t>(1u << (2 * c)),
                    u2 = static_cast<uint8_t>(2u << (2 * c));
      for (int l = 0; l < 32; ++l)
        y[64 * c + l] = d1 * static_cast<float>((ql[l] & 0x0f) + (b[i].qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        y[64 * c + 32 + l] =
            d2 * static_cast<float>((ql[l] >> 4) + (b[i].qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
}

void dequant_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    const float d = f16_to_f32(b[i].d);
    for (int h = 0; h < 2; ++h) {  // two halves of 128 elements
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      const int8_t* sc = b[i].scales + 8 * h;
      float* yy = y + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        yy[l] = (d * static_cast<float>(sc[is + 0])) * static_cast<float>(q1);
        yy[l + 32] = (d * static_cast<float>(sc[is + 2])) * static_cast<float>(q2);
        yy[l + 64] = (d * static_cast<float>(sc[is + 4])) * static_cast<float>(q3);
        yy[l + 96] = (d * static_cast<float>(sc[is + 6])) * static_cast<float>(q4);
      }
    }
  }
}

// ggml's quantize_row_q8_0_ref, as the gguf package reproduces it.
void quant_q8_0(const float* x, BlockQ8_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < kQK; ++j)
      b[i].qs[j] = static_cast<int8_t>(round_clamp(x[j] * id, -127, 127));
  }
}

// ggml's quantize_row_q4_0_ref: the element of largest magnitude maps to -8.
void quant_q4_0(const float* x, BlockQ4_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQK; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    auto q = [&](float v) {
      float t = std::trunc(v * id + 8.5f);
      if (!(t == t) || t < 0) t = 0;
      return static_cast<uint8_t>(std::min(15.0f, t));
    };
    for (int j = 0; j < kQK / 2; ++j)
      b[i].qs[j] = static_cast<uint8_t>(q(x[j]) | (q(x[j + kQK / 2]) << 4));
  }
}

void pack_scale_min(uint8_t* s, int j, int sc, int m) {
  if (j < 4) {
    s[j] = static_cast<uint8_t>((s[j] & 0xc0) | sc);
    s[j + 4] = static_cast<uint8_t>((s[j + 4] & 0xc0) | m);
  } else {
    s[j + 4] = static_cast<uint8_t>((sc & 0x0f) | ((m & 0x0f) << 4));
    s[j - 4] = static_cast<uint8_t>((s[j - 4] & 0x3f) | ((sc >> 4) << 6));
    s[j] = static_cast<uint8_t>((s[j] & 0x3f) | ((m >> 4) << 6));
  }
}

// Shared by Q4_K (levels 15) and Q5_K (levels 31): per 32-element sub-block an offset
// m ≥ -min(x, 0) and a step; both 6-bit multiples of f16 super-scales rounded up, so every
// x lands in [0, levels] steps without clipping. Writes d, dmin, scales and q[256].
void quant_k_scales(const float* x, int levels, uint16_t* d_out, uint16_t* dmin_out,
                    uint8_t* scales, uint8_t* q) {
  float mn[8], mx[8];
  float max_mn = 0;
  for (int j = 0; j < 8; ++j) {
    float lo = 0, hi = 0;
    for (int l = 0; l < 32; ++l) {
      const float v = std::isfinite(x[32 * j + l]) ? x[32 * j + l] : 0.0f;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    mn[j] = -lo;
    mx[j] = hi;
    max_mn = std::max(max_mn, mn[j]);
  }
  const uint16_t dmin_h = f16_at_least(max_mn / 63.0f);
  const float dmin = f16_to_f32(dmin_h);
  int m_q[8];
  float off[8], step_raw[8];
  float max_step = 0;
  for (int j = 0; j < 8; ++j) {
    m_q[j] = dmin > 0 ? std::min(63, static_cast<int>(std::ceil(mn[j] / dmin))) : 0;
    off[j] = dmin * static_cast<float>(m_q[j]);
    step_raw[j] = (mx[j] + off[j]) / static_cast<float>(levels);
    max_step = std::max(max_step, step_raw[j]);
  }
  const uint16_t d_h = f16_at_least(max_step / 63.0f);
  const float d = f16_to_f32(d_h);
  std::memset(scales, 0, 12);
  for (int j = 0; j < 8; ++j) {
    const int sc = d > 0 ? std::min(63, static_cast<int>(std::ceil(step_raw[j] / d))) : 0;
    pack_scale_min(scales, j, sc, m_q[j]);
    const float step = d * static_cast<float>(sc);
    const float inv = step > 0 ? 1.0f / step : 0.0f;
    for (int l = 0; l < 32; ++l)
      q[32 * j + l] = static_cast<uint8_t>(round_clamp((x[32 * j + l] + off[j]) * inv, 0, levels));
  }
  *d_out = d_h;
  *dmin_out = dmin_h;
}

void quant_q4_k(const float* x, BlockQ4_K* b, int64_t nb) {
  uint8_t q[kQKK];
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    quant_k_scales(x, 15, &b[i].d, &b[i].dmin, b[i].scales, q);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b[i].qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void quant_q5_k(const float* x, BlockQ5_K* b, int64_t nb) {
  uint8_t q[kQKK];
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    quant_k_scales(x, 31, &b[i].d, &b[i].dmin, b[i].scales, q);
    std::memset(b[i].qh, 0, sizeof(b[i].qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
        b[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
        if (lo & 16) b[i].qh[l] |= static_cast<uint8_t>(1u << (2 * c));
        if (hi & 16) b[i].qh[l] |= static_cast<uint8_t>(2u << (2 * c));
      }
    }
  }
}

// Per 16 elements a signed step (amax / 31, so q spans [-31, 31] of the [-32, 31] range),
// stored as an int8 multiple of an f16 super-scale rounded up.
void quant_q6_k(const float* x, BlockQ6_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float step_raw[16], max_step = 0;
    for (int s = 0; s < 16; ++s) {
      float amax = 0;
      for (int l = 0; l < 16; ++l)
        if (std::isfinite(x[16 * s + l])) amax = std::max(amax, std::fabs(x[16 * s + l]));
      step_raw[s] = amax / 31.0f;
      max_step = std::max(max_step, step_raw[s]);
    }
    b[i].d = f16_at_least(max_step / 127.0f);
    const float d = f16_to_f32(b[i].d);
    int q[kQKK];
    for (int s = 0; s < 16; ++s) {
      const int sc = d > 0 ? std::min(127, static_cast<int>(std::ceil(step_raw[s] / d))) : 0;
      b[i].scales[s] = static_cast<int8_t>(sc);
      const float step = d * static_cast<float>(sc);
      const float inv = step > 0 ? 1.0f / step : 0.0f;
      for (int l = 0; l < 16; ++l) q[16 * s + l] = round_clamp(x[16 * s + l] * inv, -32, 31) + 32;
    }
    std::memset(b[i].qh, 0, sizeof(b[i].qh));
    for (int h = 0; h < 2; ++h) {
      const int* qq = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        b[i].ql[64 * h + l] = static_cast<uint8_t>((qq[l] & 0x0f) | ((qq[l + 64] & 0x0f) << 4));
        b[i].ql[64 * h + l + 32] =
            static_cast<uint8_t>((qq[l + 32] & 0x0f) | ((qq[l + 96] & 0x0f) << 4));
        b[i].qh[32 * h + l] =
            static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) |
                                 ((qq[l + 64] >> 4) << 4) | ((qq[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace

void q4k_scale_min(const uint8_t* s, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  const int64_t bs = dtype_block_elems(t);
  LK_CHECK_MSG(n % bs == 0, "{} elements is not a multiple of the {} block size {}", n,
               dtype_name(t), bs);
  const int64_t nb = n / bs;
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    }
    case DType::kBF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    case DType::kQ8_0:
      dequant_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
      return;
    case DType::kQ4_0:
      dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
      return;
    case DType::kQ4_K:
      dequant_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb);
      return;
    case DType::kQ5_K:
      dequant_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb);
      return;
    case DType::kQ6_K:
      dequant_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
      return;
  }
  LK_CHECK_MSG(false, "unknown dtype {}", static_cast<int>(t));
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
  const int64_t bs = dtype_block_elems(t);
  LK_CHECK_MSG(n % bs == 0, "{} elements is not a multiple of the {} block size {}", n,
               dtype_name(t), bs);
  const int64_t nb = n / bs;
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::kBF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::kQ8_0:
      quant_q8_0(src, static_cast<BlockQ8_0*>(dst), nb);
      return;
    case DType::kQ4_0:
      quant_q4_0(src, static_cast<BlockQ4_0*>(dst), nb);
      return;
    case DType::kQ4_K:
      quant_q4_k(src, static_cast<BlockQ4_K*>(dst), nb);
      return;
    case DType::kQ5_K:
      quant_q5_k(src, static_cast<BlockQ5_K*>(dst), nb);
      return;
    case DType::kQ6_K:
      quant_q6_k(src, static_cast<BlockQ6_K*>(dst), nb);
      return;
  }
  LK_CHECK_MSG(false, "unknown dtype {}", static_cast<int>(t));
}

Result<std::vector<float>> dequantize_tensor(const TensorView& t) {
  if (t.data == nullptr)
    return invalid_argument("tensor '{}' has no data (opened header-only?)", t.name);
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  dequantize_row(t.dtype, t.data, out.data(), t.n_elements());
  return out;
}

}  // namespace lk
