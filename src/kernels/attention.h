// Causal attention of one kv-head group over the K/V a KvHeadView exposes, read in place
// run by run (kv/kv_view.h): never a copy of the whole context. The `group` query heads that
// share the kv head are computed together so each cached K and V is read once per step.
// Online softmax over tiles of tokens (flash-attention style); few queries (decode) use
// AVX-512 dot products, many (prefill chunks) use sgemm per tile.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "kv/kv_view.h"

namespace lk {

struct AttentionQuery {
  const float* q = nullptr;  // head g of query i at q[i * stride + g * head_dim]
  int64_t stride = 0;
  const int32_t* positions = nullptr;  // [n_q]; cached token visible iff its position <= it
  int n_q = 0;
  int group = 1;  // query heads per kv head
  int head_dim = 0;
  float scale = 1.0f;  // usually 1/sqrt(head_dim)
};

// out: same layout as q (out[i * out_stride + g * head_dim]). Runs must list tokens in
// ascending position order. kUnsupported for KV formats without a kernel here (int8/int4/
// int2 are decoded by the kv module's quantized kernels).
Status attention_kv_head(const KvHeadView& view, const AttentionQuery& query, float* out,
                         int64_t out_stride);

// Split-K decoding (flash-decoding): the same attention over a part of a view's tokens,
// with each row's log-sum-exp of its scores written to lse[i * group + g] (-inf when no
// token of the part is visible), so parts computed on different threads can be merged.
Status attention_kv_head_lse(const KvHeadView& view, const AttentionQuery& query, float* out,
                             int64_t out_stride, float* lse);

// Cuts a view into `parts` views of about equal token counts, in order. Float-format runs
// (f32/f16/bf16) are cut inside; runs of other formats stay whole (KIVI groups share
// per-channel parameters). Some parts may be empty.
std::vector<KvHeadView> split_view(const KvHeadView& view, int parts, int head_dim);

// dst[r][0..D) = softmax-weighted combination of the parts' normalized rows:
// sum_p exp(lse_p[r]) * out_p[r] / sum_p exp(lse_p[r]). outs[p] is [rows][D] contiguous.
void attention_merge(std::span<const float* const> outs, std::span<const float* const> lses,
                     int rows, int head_dim, float* const* dst);

// Plain scalar reference: all visible tokens, f32, two-pass softmax.
Status attention_kv_head_scalar(const KvHeadView& view, const AttentionQuery& query, float* out,
                                int64_t out_stride);

// Bytes of K and V a query set reads from a view (every visible token once per group).
int64_t attention_bytes_read(const KvHeadView& view, int head_dim);

}  // namespace lk
