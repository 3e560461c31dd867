// The hook between the engine's forward pass and a compression driver (compress/driver.h).
// The engine calls it, when one is set, for every sequence piece of every step:
//   before_rope()     — after the q/k/v projections (bias, q_norm) and before RoPE, from the
//                       step's thread: sees the layer input and may edit the pre-RoPE
//                       queries (DMS reads and zeroes its decision channel here).
//   after_rope()      — after RoPE, before K/V are cached: may edit the queries again.
//   filter_view()     — before attention reads a (layer, kv-head): may restrict the runs a
//                       decode query reads (Quest) or add runs the policy keeps outside the
//                       pool (MiniCache's merged tokens). Called from worker threads.
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
  // x: [n][d_model] the layer's input (residual stream, before the attention norm);
  // q: [n][q_stride] queries after projection, bias and q_norm, before RoPE.
  virtual Status before_rope(SeqId seq, int layer, const float* x, float* q, int64_t q_stride,
                             std::span<const int32_t> positions) {
    return Status::ok();
  }
  // q: [n][q_stride] queries after RoPE.
  virtual void after_rope(SeqId seq, int layer, float* q, int64_t q_stride, int64_t n) {}
  // q: the group's query heads of each query, q[i * q_stride + g * head_dim], n_q queries.
  // q_positions: [n_q] the queries' positions (ascending; null from callers without them).
  virtual KvHeadView filter_view(SeqId seq, int layer, int kv_head, KvHeadView view, const float* q,
                                 int64_t q_stride, int n_q, const int32_t* q_positions = nullptr) {
    return view;
  }
  // q: [n][q_dim] post-RoPE queries (q_stride = q_dim); positions: [n].
  virtual Status after_attention(SeqId seq, int layer, const float* q, int64_t q_stride,
                                 std::span<const int32_t> positions) = 0;
};

}  // namespace lk
