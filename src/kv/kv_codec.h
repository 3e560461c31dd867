// Storage formats of one KV block: byte layouts, encoding of tokens into a block, and the
// KIVI group quantization. Layouts are documented in kv/README.md; the attention kernels
// (kernels/attention_quant.h) read the same bytes through a KvRun without a dequantized copy.
#pragma once

#include <cstdint>

#include "kv/kv_view.h"

namespace lk {

// Byte layout of one block of B tokens of one (layer, kv-head), head_dim D.
//  data area:  K codes [B][row_bytes] then V codes [B][row_bytes] (token-major).
//  param area (side array, stored apart from the data):
//    kInt8:         k_scale f32 [B], v_scale f32 [B]
//    kInt4 / kInt2: k_qparams f16 [D][2] (scale, zero per channel over the block's group),
//                   v_qparams f16 [B][2] (scale, zero per token)
//    float formats: none
struct BlockLayout {
  KvFormat format = KvFormat::kF32;
  int32_t block_tokens = 0;  // B
  int32_t head_dim = 0;      // D
  int64_t row_bytes = 0;     // bytes of one token's K (or V) codes
  int64_t data_bytes = 0;    // 2 * B * row_bytes
  int64_t param_bytes = 0;   // side-array bytes per block
  int64_t bytes() const { return data_bytes + param_bytes; }
  int64_t v_offset() const { return static_cast<int64_t>(block_tokens) * row_bytes; }
};

// Layout of `format` for blocks of block_tokens tokens and head_dim channels.
// Precondition: head_dim divisible by 4 (int2 packs four channels per byte).
BlockLayout block_layout(KvFormat format, int block_tokens, int head_dim);

// KIVI formats quantize K per channel over the whole block (a token group).
inline bool kv_format_is_kivi(KvFormat f) {
  return f == KvFormat::kInt4 || f == KvFormat::kInt2;
}
// Formats where each token is encoded on its own (tokens can move between blocks losslessly).
inline bool kv_format_per_token(KvFormat f) {
  return !kv_format_is_kivi(f);
}
// Largest code of a KIVI format (15 or 3).
inline int kivi_qmax(KvFormat f) {
  return f == KvFormat::kInt4 ? 15 : 3;
}

// Extracts code of channel d from a packed KIVI row.
inline int kivi_code(const uint8_t* row, int d, KvFormat f) {
  if (f == KvFormat::kInt4) return (row[d >> 1] >> ((d & 1) * 4)) & 0xF;
  return (row[d >> 2] >> ((d & 3) * 2)) & 0x3;
}

// Encodes token (k, v: f32 [D]) into slot `slot` of a block of a per-token format.
void codec_write_token(const BlockLayout& l, uint8_t* data, uint8_t* params, int slot,
                       const float* k, const float* v);

// Decodes slot `slot` of a block (any format) into f32 k, v [D].
void codec_read_token(const BlockLayout& l, const uint8_t* data, const uint8_t* params, int slot,
                      float* k, float* v);

// Quantizes n tokens (k, v: f32 [n][D]) into a KIVI block: K per channel over the n tokens,
// V per token. Precondition: kv_format_is_kivi(l.format), 0 < n <= B.
void codec_quantize_group(const BlockLayout& l, uint8_t* data, uint8_t* params, int n,
                          const float* k, const float* v);

// Moves token `from` to slot `to` inside one block (compaction). Per-token parameters move
// with it; KIVI per-channel K parameters describe the whole group and stay valid.
void codec_move_token(const BlockLayout& l, uint8_t* data, uint8_t* params, int from, int to);

// Copies token `from` of block (src, src_params) into slot `to` of block (dst, dst_params),
// both of layout l. Precondition: kv_format_per_token(l.format).
void codec_copy_token(const BlockLayout& l, const uint8_t* src, const uint8_t* src_params, int from,
                      uint8_t* dst, uint8_t* dst_params, int to);

// The KvRun describing the first n tokens of a block.
KvRun codec_run(const BlockLayout& l, const uint8_t* data, const uint8_t* params, int n,
                const int32_t* positions);

}  // namespace lk
