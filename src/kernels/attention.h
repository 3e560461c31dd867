// Causal attention of one kv-head group over the K/V a KvHeadView exposes, read in place
// run by run (kv/kv_view.h): never a copy of the whole context. The `group` query heads that
// share the kv head are computed together so each cached K and V is read once per step.
// Online softmax over tiles of tokens (flash-attention style); few queries (decode) use
// AVX-512 dot products, many (prefill chunks) use sgemm per tile.
#pragma once

#include <cstdint>

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

// Plain scalar reference: all visible tokens, f32, two-pass softmax.
Status attention_kv_head_scalar(const KvHeadView& view, const AttentionQuery& query, float* out,
                                int64_t out_stride);

// Bytes of K and V a query set reads from a view (every visible token once per group).
int64_t attention_bytes_read(const KvHeadView& view, int head_dim);

}  // namespace lk
