#include "engine/forward.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <unordered_set>

#include "core/check.h"
#include "core/first_error.h"
#include "core/parallel.h"
#include "engine/rope_freqs.h"
#include "kernels/attention.h"
#include "kernels/attention_quant.h"
#include "kernels/gemv.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/row_convert.h"
#include "kernels/work_pool.h"

namespace lk {

namespace {

const float* f32(const TensorView& t) {
  return static_cast<const float*>(t.data);
}

constexpr int kAttentionQueryChunk = 64;   // queries per attention task in prefill
constexpr int64_t kMinSplitTokens = 1024;  // split-K parts hold at least this many tokens

}  // namespace

Forward::Forward(const Model& model, KvCache* cache, ForwardOptions options)
    : model_(model), cache_(cache), options_(options), inv_freq_(rope_inv_freqs(model.spec)) {
  LK_CHECK(options_.max_chunk_tokens > 0);
}

void Forward::ensure_buffers(int64_t T) {
  const ModelSpec& s = model_.spec;
  const int64_t q_dim = int64_t{s.n_heads} * s.head_dim,
                kv_dim = int64_t{s.n_kv_heads} * s.head_dim;
  auto grow = [](std::vector<float>& b, int64_t n) {
    if (static_cast<int64_t>(b.size()) < n) b.resize(n);
  };
  grow(x_, T * s.d_model);
  grow(xn_, T * s.d_model);
  grow(tmp_, T * s.d_model);
  grow(q_, T * q_dim);
  grow(att_, T * q_dim);
  grow(k_, T * kv_dim);
  grow(v_, T * kv_dim);
  grow(gate_, T * s.ffn_dim);
  grow(up_, T * s.ffn_dim);
  grow(cos_sin_, T * s.head_dim);
  if (static_cast<int64_t>(pos_.size()) < T) pos_.resize(T);
}

Status Forward::forward(std::span<const SeqBatch> batch, std::vector<float>* logits) {
  const ModelSpec& s = model_.spec;
  stats_ = {};
  std::unordered_set<SeqId> seen;
  std::vector<int64_t> logit_base(batch.size());
  int64_t n_logit_rows = 0;
  for (size_t e = 0; e < batch.size(); ++e) {
    const SeqBatch& b = batch[e];
    if (b.tokens.empty()) return invalid_argument("sequence {} has no tokens to run", b.seq);
    if (!seen.insert(b.seq).second) {
      return invalid_argument("sequence {} appears twice in one batch", b.seq);
    }
    for (int32_t t : b.tokens) {
      if (t < 0 || t >= s.vocab_size) {
        return invalid_argument("token id {} out of range [0, {}) in sequence {}", t, s.vocab_size,
                                b.seq);
      }
    }
    logit_base[e] = n_logit_rows;
    n_logit_rows += b.all_logits ? static_cast<int64_t>(b.tokens.size()) : 1;
  }
  logits->assign(n_logit_rows * s.vocab_size, 0.0f);
  // Room for every entry's tokens in all layers, or an error before anything is appended.
  std::vector<SeqTokens> demand;
  demand.reserve(batch.size());
  for (const SeqBatch& b : batch) demand.push_back({b.seq, b.tokens});
  LK_RETURN_IF_ERROR(cache_->prepare(demand));

  // Cut the entries into steps of at most max_chunk_tokens tokens.
  std::vector<Piece> pieces;
  int64_t T = 0;
  for (size_t e = 0; e < batch.size(); ++e) {
    int64_t first = 0;
    const int64_t n = static_cast<int64_t>(batch[e].tokens.size());
    while (first < n) {
      const int64_t take = std::min<int64_t>(n - first, options_.max_chunk_tokens - T);
      pieces.push_back({e, batch[e].seq, first, take, 0, T});
      T += take;
      first += take;
      if (T == options_.max_chunk_tokens) {
        LK_RETURN_IF_ERROR(step(batch, pieces, T, logits, logit_base));
        pieces.clear();
        T = 0;
      }
    }
  }
  if (T > 0) LK_RETURN_IF_ERROR(step(batch, pieces, T, logits, logit_base));
  return Status::ok();
}

// Compression hook around RoPE (compress/observer.h): the observer sees the pre-RoPE queries
// of each piece (DMS reads its decision there), then RoPE runs, then it may edit them again.
Status Forward::observe_rope(const std::vector<Piece>& pieces, int layer, int64_t q_dim,
                             int64_t kv_dim, bool adjacent) {
  const ModelSpec& s = model_.spec;
  for (const Piece& p : pieces)
    LK_RETURN_IF_ERROR(observer_->before_rope(p.seq, layer, &x_[p.row0 * s.d_model],
                                              &q_[p.row0 * q_dim], q_dim,
                                              std::span<const int32_t>(&pos_[p.row0], p.n)));
  const int64_t T = pieces.back().row0 + pieces.back().n;
  pool_for(
      T,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          rope(&q_[r * q_dim], s.n_heads, s.head_dim, &cos_sin_[r * s.head_dim], adjacent);
          rope(&k_[r * kv_dim], s.n_kv_heads, s.head_dim, &cos_sin_[r * s.head_dim], adjacent);
        }
      },
      4);
  for (const Piece& p : pieces)
    observer_->after_rope(p.seq, layer, &q_[p.row0 * q_dim], q_dim, p.n);
  return Status::ok();
}

AttentionQuery Forward::group_query(const AttentionTask& task, int64_t r0) const {
  const ModelSpec& s = model_.spec;
  const int D = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int64_t q_dim = int64_t{s.n_heads} * D;
  AttentionQuery aq;
  aq.q = &q_[r0 * q_dim + int64_t{task.kv_head} * group * D];
  aq.stride = q_dim;
  aq.positions = &pos_[r0];
  aq.n_q = static_cast<int>(task.nq);
  aq.group = group;
  aq.head_dim = D;
  aq.scale = 1.0f / std::sqrt(static_cast<float>(D));
  return aq;
}

Status Forward::attention_split_k(int layer, const std::vector<Piece>& pieces,
                                  const std::vector<AttentionTask>& tasks, int n_split) {
  const ModelSpec& s = model_.spec;
  const int D = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int64_t q_dim = int64_t{s.n_heads} * D;
  const int64_t n_items = static_cast<int64_t>(tasks.size()) * n_split;
  // Per (task, part): normalized rows [nq * group][D] and their log-sum-exp.
  const int64_t row_cap = int64_t{kGemvMaxRows} * group;
  split_out_.resize(n_items * row_cap * D);
  split_lse_.resize(n_items * row_cap);
  std::vector<uint8_t> whole(tasks.size(), 0);  // 1: a non-float run, computed unsplit
  FirstError err;
  std::atomic<int64_t> kv_bytes{0};
  pool_for(n_items, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const AttentionTask& task = tasks[i / n_split];
      const int part = static_cast<int>(i % n_split);
      const Piece& p = pieces[task.piece];
      const KvHeadView view = cache_->view(p.seq, layer, task.kv_head);
      const int64_t r0 = p.row0 + task.q0;
      const AttentionQuery aq = group_query(task, r0);
      bool float_runs = true;
      for (const KvRun& r : view.runs)
        float_runs = float_runs && (r.format == KvFormat::kF32 || r.format == KvFormat::kF16 ||
                                    r.format == KvFormat::kBF16);
      if (!float_runs) {  // quantized KV: the whole view on one thread, as without split
        if (part != 0) continue;
        whole[i / n_split] = 1;
        err.set(attention_kv_head_any(
            view, aq, &att_[r0 * q_dim + int64_t{task.kv_head} * group * D], q_dim));
        kv_bytes += attention_bytes_read(view, D);
        continue;
      }
      const KvHeadView mine = split_view(view, n_split, D)[part];
      err.set(attention_kv_head_lse(mine, aq, &split_out_[i * row_cap * D], int64_t{group} * D,
                                    &split_lse_[i * row_cap]));
      kv_bytes += attention_bytes_read(mine, D);
    }
  });
  LK_RETURN_IF_ERROR(err.get());
  stats_.kv_bytes_read += kv_bytes.load();
  for (size_t t = 0; t < tasks.size(); ++t) {
    if (whole[t]) continue;
    const AttentionTask& task = tasks[t];
    const int64_t r0 = pieces[task.piece].row0 + task.q0;
    std::vector<const float*> outs(n_split), lses(n_split);
    for (int part = 0; part < n_split; ++part) {
      const int64_t i = static_cast<int64_t>(t) * n_split + part;
      outs[part] = &split_out_[i * row_cap * D];
      lses[part] = &split_lse_[i * row_cap];
    }
    std::vector<float*> dst(task.nq * group);
    for (int64_t q = 0; q < task.nq; ++q)
      for (int g = 0; g < group; ++g)
        dst[q * group + g] = &att_[(r0 + q) * q_dim + (int64_t{task.kv_head} * group + g) * D];
    attention_merge(outs, lses, static_cast<int>(dst.size()), D, dst.data());
  }
  return Status::ok();
}

Status Forward::step(std::span<const SeqBatch> batch, const std::vector<Piece>& pieces_in,
                     int64_t T, std::vector<float>* logits,
                     const std::vector<int64_t>& logit_base) {
  const ModelSpec& s = model_.spec;
  const ModelWeights& w = model_.weights;
  const int d = s.d_model, D = s.head_dim, n_heads = s.n_heads, n_kv = s.n_kv_heads;
  const int group = n_heads / n_kv, ff = s.ffn_dim;
  const int64_t q_dim = int64_t{n_heads} * D, kv_dim = int64_t{n_kv} * D;
  const bool adjacent = model_.rope_style == RopeStyle::kAdjacentPairs;
  ensure_buffers(T);
  std::vector<Piece> pieces = pieces_in;
  for (Piece& p : pieces) p.pos0 = static_cast<int32_t>(cache_->seq_length(p.seq));
  ++stats_.steps;
  stats_.tokens += T;

  // Embeddings, positions, and each token's RoPE cos/sin (shared by all layers).
  for (const Piece& p : pieces) {
    for (int64_t j = 0; j < p.n; ++j) {
      const int64_t r = p.row0 + j;
      LK_RETURN_IF_ERROR(row_to_f32(w.tok_embd, batch[p.entry].tokens[p.first + j], &x_[r * d]));
      pos_[r] = p.pos0 + static_cast<int32_t>(j);
      float* cs = &cos_sin_[r * D];
      for (int i = 0; i < D / 2; ++i) {
        const float angle = static_cast<float>(pos_[r]) * inv_freq_[i];
        cs[2 * i] = std::cos(angle);
        cs[2 * i + 1] = std::sin(angle);
      }
    }
  }

  // Attention tasks: (piece, kv head, chunk of queries).
  std::vector<AttentionTask> tasks;
  for (int pi = 0; pi < static_cast<int>(pieces.size()); ++pi) {
    for (int h = 0; h < n_kv; ++h) {
      for (int64_t q0 = 0; q0 < pieces[pi].n; q0 += kAttentionQueryChunk) {
        tasks.push_back({pi, h, q0, std::min<int64_t>(kAttentionQueryChunk, pieces[pi].n - q0)});
      }
    }
  }

  // Split-K (flash-decoding): with fewer tasks than two per thread and a long context, each
  // (piece, kv head) is cut into parts run on different threads and merged by log-sum-exp.
  // Not with an observer (it filters whole views and may keep per-view state).
  int n_split = 1;
  tasks_split_.clear();
  if (!observer_ && T <= kGemvMaxRows) {
    int64_t ctx = 0;
    for (const Piece& p : pieces) ctx = std::max<int64_t>(ctx, p.pos0 + p.n);
    const int64_t n_tasks = static_cast<int64_t>(tasks.size());
    const int64_t want = (2 * num_threads() + n_tasks - 1) / n_tasks;
    n_split = static_cast<int>(std::clamp<int64_t>(std::min(want, ctx / kMinSplitTokens), 1, 16));
    if (n_split > 1) {
      tasks_split_ = tasks;
    }
  }

  // The rows whose logits were asked for: only they need the last layer's output projection
  // and FFN (each row's attention output is final once the last layer's K/V are appended).
  std::vector<std::pair<int64_t, int64_t>> rows;  // (activation row, logit row)
  for (const Piece& p : pieces) {
    const SeqBatch& b = batch[p.entry];
    const int64_t n_total = static_cast<int64_t>(b.tokens.size());
    for (int64_t j = 0; j < p.n; ++j) {
      const int64_t tok = p.first + j;
      if (b.all_logits) {
        rows.push_back({p.row0 + j, logit_base[p.entry] + tok});
      } else if (tok == n_total - 1) {
        rows.push_back({p.row0 + j, logit_base[p.entry]});
      }
    }
  }
  for (int l = 0; l < s.n_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    // Rows this layer carries past attention: all but in the last layer.
    int64_t Tl = T;
    pool_for(
        T,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r)
            rmsnorm(&xn_[r * d], &x_[r * d], f32(L.attn_norm), d, s.rms_eps);
        },
        16);
    {
      const TensorView* ws[] = {&L.wq, &L.wk, &L.wv};
      float* ys[] = {q_.data(), k_.data(), v_.data()};
      LK_RETURN_IF_ERROR(matmul_multi(ws, xn_.data(), T, ys));
    }
    pool_for(
        T,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) {
            float* q = &q_[r * q_dim];
            float* k = &k_[r * kv_dim];
            if (L.bq.data) {
              add_inplace(q, f32(L.bq), q_dim);
              add_inplace(k, f32(L.bk), kv_dim);
              add_inplace(&v_[r * kv_dim], f32(L.bv), kv_dim);
            }
            if (L.q_norm.data) {  // qwen3: per-head RMSNorm of q and k before RoPE
              for (int h = 0; h < n_heads; ++h)
                rmsnorm(q + h * D, q + h * D, f32(L.q_norm), D, s.rms_eps);
              for (int h = 0; h < n_kv; ++h)
                rmsnorm(k + h * D, k + h * D, f32(L.k_norm), D, s.rms_eps);
            }
            if (!observer_) {
              rope(q, n_heads, D, &cos_sin_[r * D], adjacent);
              rope(k, n_kv, D, &cos_sin_[r * D], adjacent);
            }
          }
        },
        4);
    if (observer_) LK_RETURN_IF_ERROR(observe_rope(pieces, l, q_dim, kv_dim, adjacent));
    for (const Piece& p : pieces) {
      LK_RETURN_IF_ERROR(cache_->append(p.seq, l, std::span<const int32_t>(&pos_[p.row0], p.n),
                                        &k_[p.row0 * kv_dim], &v_[p.row0 * kv_dim]));
    }
    // Decode over a long context with few (sequence, kv head) tasks: split-K (below).
    if (n_split > 1) LK_RETURN_IF_ERROR(attention_split_k(l, pieces, tasks_split_, n_split));
    FirstError err;
    std::atomic<int64_t> kv_bytes{0};
    // Tasks cost about (visible tokens x queries x group x D); below ~256K multiply-adds in
    // all a parallel region costs more than it saves.
    const int64_t work = (pieces.back().pos0 + pieces.back().n) * T * group * D;
    const int64_t min_tasks = work < (int64_t{1} << 18) ? static_cast<int64_t>(tasks.size()) : 1;
    pool_for(
        n_split > 1 ? 0 : static_cast<int64_t>(tasks.size()),
        [&](int64_t t0, int64_t t1) {
          for (int64_t t = t0; t < t1; ++t) {
            const AttentionTask& task = tasks[t];
            const Piece& p = pieces[task.piece];
            KvHeadView view = cache_->view(p.seq, l, task.kv_head);
            const int64_t r0 = p.row0 + task.q0;
            if (observer_)
              view = observer_->filter_view(p.seq, l, task.kv_head, std::move(view),
                                            &q_[r0 * q_dim + int64_t{task.kv_head} * group * D],
                                            q_dim, static_cast<int>(task.nq), &pos_[r0]);
            const AttentionQuery aq = group_query(task, r0);
            err.set(attention_kv_head_any(
                view, aq, &att_[r0 * q_dim + int64_t{task.kv_head} * group * D], q_dim));
            kv_bytes += attention_bytes_read(view, D);
          }
        },
        min_tasks);
    LK_RETURN_IF_ERROR(err.get());
    stats_.kv_bytes_read += kv_bytes.load();
    if (observer_) {
      for (const Piece& p : pieces)
        LK_RETURN_IF_ERROR(observer_->after_attention(
            p.seq, l, &q_[p.row0 * q_dim], q_dim, std::span<const int32_t>(&pos_[p.row0], p.n)));
    }
    if (l == s.n_layers - 1 && static_cast<int64_t>(rows.size()) < T) {
      // Keep only the logit rows, packed to the front (rows ascend, so a forward copy never
      // overwrites a row still to be read). With none, the step ends here.
      if (rows.empty()) return Status::ok();
      for (size_t i = 0; i < rows.size(); ++i) {
        const int64_t src = rows[i].first, dst = static_cast<int64_t>(i);
        if (src != dst) {
          std::copy_n(&att_[src * q_dim], q_dim, &att_[dst * q_dim]);
          std::copy_n(&x_[src * d], d, &x_[dst * d]);
        }
        rows[i].first = dst;
      }
      Tl = static_cast<int64_t>(rows.size());
    }
    LK_RETURN_IF_ERROR(matmul(L.wo, att_.data(), Tl, tmp_.data()));
    add_inplace(x_.data(), tmp_.data(), Tl * d);

    pool_for(
        Tl,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r)
            rmsnorm(&xn_[r * d], &x_[r * d], f32(L.ffn_norm), d, s.rms_eps);
        },
        16);
    {
      const TensorView* ws[] = {&L.w_gate, &L.w_up};
      float* ys[] = {gate_.data(), up_.data()};
      LK_RETURN_IF_ERROR(matmul_multi(ws, xn_.data(), Tl, ys));
    }
    pool_for(
        Tl * ff, [&](int64_t i0, int64_t i1) { silu_mul(&gate_[i0], &up_[i0], i1 - i0); }, 65536);
    LK_RETURN_IF_ERROR(matmul(L.w_down, gate_.data(), Tl, tmp_.data()));
    add_inplace(x_.data(), tmp_.data(), Tl * d);
  }

  if (rows.empty()) return Status::ok();
  const int64_t R = static_cast<int64_t>(rows.size());
  for (int64_t i = 0; i < R; ++i) {
    rmsnorm(&xn_[i * d], &x_[rows[i].first * d], f32(w.output_norm), d, s.rms_eps);
  }
  std::vector<float> out(R * s.vocab_size);
  LK_RETURN_IF_ERROR(matmul(w.output, xn_.data(), R, out.data()));
  for (int64_t i = 0; i < R; ++i) {
    std::copy_n(&out[i * s.vocab_size], s.vocab_size,
                logits->data() + rows[i].second * s.vocab_size);
  }
  return Status::ok();
}

}  // namespace lk
