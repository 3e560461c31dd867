// The hook between the engine's forward pass and a compression driver (compress/driver.h).
// The engine calls it, when one is set, for every sequence piece of every step:
//   filter_view()     — before attention reads a (layer, kv-head): may restrict the runs a
//                       decode query reads (Quest). Called from worker threads.
//   after_attention() — after the layer's attention over the piece's new tokens: sees the
//                       post-RoPE queries, may evict through the KV manager.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "kv/kv_view.h"

namespace lk {

class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  // q: the group's query heads of each query, q[i * q_stride + g * head_dim], n_q queries.
  virtual KvHeadView filter_view(SeqId seq, int layer, int kv_head, KvHeadView view, const float* q,
                                 int64_t q_stride, int n_q) {
    return view;
  }
  // q: [n][q_dim] post-RoPE queries (q_stride = q_dim); positions: [n].
  virtual Status after_attention(SeqId seq, int layer, const float* q, int64_t q_stride,
                                 std::span<const int32_t> positions) = 0;
};

}  // namespace lk
