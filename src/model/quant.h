// Block formats of the GGUF weight types and conversion to and from f32.
// Dequantization is bit-exact with ggml's reference (and the gguf Python package): every
// product is rounded to f32 in the same order, with floating-point contraction disabled.
// Quantization: f16/bf16 round to nearest even; Q8_0 and Q4_0 follow ggml's reference
// formulas bit for bit; the K-quants use a simple scale search (per-sub-block min/max with
// scales rounded up so no value clips) — correctness of a K-quant file is defined by its
// dequantization, and the round-trip error is bounded by half a quantization step.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "model/tensor.h"

namespace lk {

inline constexpr int kQK = 32;    // elements per Q8_0 / Q4_0 block
inline constexpr int kQKK = 256;  // elements per K-quant super-block

struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t qs[kQK];
};
struct BlockQ4_0 {
  uint16_t d;           // f16 scale
  uint8_t qs[kQK / 2];  // element j in the low nibble of qs[j], j + 16 in the high nibble
};
struct BlockQ4_K {
  uint16_t d;            // f16 super-scale of the 8 sub-block scales
  uint16_t dmin;         // f16 super-scale of the 8 sub-block mins
  uint8_t scales[12];    // 8 × (6-bit scale, 6-bit min), packed
  uint8_t qs[kQKK / 2];  // 4-bit quants: 64-element chunks, low nibbles first
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQKK / 8];  // 5th bit: bit s of qh[l] belongs to element 32 s + l
  uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];      // low 4 bits
  uint8_t qh[kQKK / 4];      // high 2 bits
  int8_t scales[kQKK / 16];  // one per 16 elements
  uint16_t d;                // f16 super-scale
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// dst[0..n) = the n elements at src (n a multiple of the block size of t).
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
// dst = the encoding of src[0..n) as t (dtype_row_bytes(t, n) bytes; n a multiple of the
// block size). Non-finite inputs are not meaningful (they encode as 0 in the quantized types).
void quantize_row(DType t, const float* src, void* dst, int64_t n);

// The whole tensor as f32 (kInvalidArgument when its data is absent, e.g. header-only).
Result<std::vector<float>> dequantize_tensor(const TensorView& t);

// Unpacks the 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block.
void q4k_scale_min(const uint8_t* scales, int j, uint8_t* sc, uint8_t* m);

}  // namespace lk
