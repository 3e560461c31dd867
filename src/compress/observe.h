// Attention statistics for policies, computed from what the cache holds: the keys of a
// KvHeadView (any storage format, decoded one token at a time) and post-RoPE queries. The
// engine's attention kernels never materialise probabilities; policies that need them
// (H2O, TOVA, SnapKV, training-free DMS) get them here, only for the queries they ask for.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "kv/kv_view.h"

namespace lk::compress {

// Decodes token t of run r's K into out [head_dim].
void run_key(const KvRun& r, int t, int head_dim, float* out);

// Decodes token t of run r's V into out [head_dim] (float and int8 runs; KIVI: per-token).
void run_value(const KvRun& r, int t, int head_dim, float* out);

// Keys and positions of a view: keys [n][head_dim] f32, positions [n].
void view_keys(const KvHeadView& v, int head_dim, std::vector<float>* keys,
               std::vector<int32_t>* positions);

// Softmax attention probabilities of queries over the view's keys, causal by position.
//   q: query i, group head g at q[i * q_stride + g * head_dim] (the kv head's group only)
//   probs out: [n_q][group][n_keys]; key_positions out: [n_keys]
void attention_probs(const KvHeadView& v, const float* q, int64_t q_stride,
                     const int32_t* q_positions, int n_q, int group, int head_dim, float scale,
                     std::vector<float>* probs, std::vector<int32_t>* key_positions);

}  // namespace lk::compress
