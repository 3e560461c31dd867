// Attention over KV runs in every storage format, read in place (no dequantized copy of the
// cache is made): the quantized paths longkv's attention kernel (kernels/attention.h) calls for
// kInt8 / kInt4 / kInt2 runs, plus the float formats so a whole KvHeadView can be attended
// here too (kv tests and the reference check of the paged cache use attention_view()).
//
// KIVI scores without dequantizing: for K per channel x = c*s_d + z_d,
//   q·k_t = sum_d (q_d s_d) c_td + sum_d q_d z_d  -> one scaled query per run and a bias.
// V per token: sum_t w_t v_t = sum_t (w_t s_t) c_t + (w_t z_t), accumulated directly.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "kernels/attention.h"
#include "kv/kv_view.h"

namespace lk {

// scores[i][t] = scale * dot(q[i], k_t) for the n_q queries q [n_q][head_dim] and the
// run's tokens t in [0, run.n_tokens).   scores: [n_q][run.n_tokens]
void attn_run_scores(const KvRun& run, int head_dim, const float* q, int n_q, float scale,
                     float* scores);

// out[i][d] += sum_t w[i][t] * v_t[d].   w: [n_q][run.n_tokens], out: [n_q][head_dim]
void attn_run_accumulate(const KvRun& run, int head_dim, const float* w, int n_q, float* out);

// Softmax attention of n_q queries over all runs of a view, with an online (streaming)
// softmax across runs.  q: [n_q][head_dim], out: [n_q][head_dim].
// q_pos: [n_q] query positions for causal masking (a query sees tokens with position <=
// its own, as in chunked prefill), or nullptr for no mask (decode). A query that sees no
// token gets a zero output.
void attention_view(const KvHeadView& view, int head_dim, const float* q, const int32_t* q_pos,
                    int n_q, float scale, float* out);

// The engine's attention interface (kernels/attention.h) over a view in any mix of formats
// (e.g. KIVI int4 groups followed by the f16 residual run): same query/output layout as
// attention_kv_head, causal by query.positions when non-null. attention_kv_head handles
// float-only views; the engine calls this one when a view holds an int8/int4/int2 run.
Status attention_kv_head_quant(const KvHeadView& view, const AttentionQuery& query, float* out,
                               int64_t out_stride);

// The forward pass's entry point for every KV format: views of float runs only go to the fast
// kernel (attention_kv_head), views holding an int8/int4/int2 run to attention_kv_head_quant.
Status attention_kv_head_any(const KvHeadView& view, const AttentionQuery& query, float* out,
                             int64_t out_stride);

}  // namespace lk
