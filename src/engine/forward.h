// The fast forward pass: a batch of sequences, each contributing one or more new tokens,
// runs through the model in one step per chunk — decode of B sequences reads every weight
// once per step; long prompts are cut into chunks of at most max_chunk_tokens (chunked
// prefill) that may be batched with other sequences' decode tokens. K/V go to a KvCache and
// attention reads them only through its views. Threads: lk::parallel_for (-t).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "compress/observer.h"
#include "core/status.h"
#include "engine/model_weights.h"
#include "kernels/attention.h"
#include "kv/kv_view.h"

namespace lk {

struct ForwardOptions {
  int max_chunk_tokens = 512;  // tokens per step (prefill chunk size)
};

// One sequence's new tokens; positions continue from cache->seq_length(seq).
struct SeqBatch {
  SeqId seq = 0;
  std::span<const int32_t> tokens;
  bool all_logits = false;  // logits of every token (else only the last one)
};

// Counters of the last forward() call, for reports.
struct ForwardStats {
  int64_t tokens = 0;
  int64_t steps = 0;
  int64_t kv_bytes_read = 0;  // K/V bytes attention read (per kv head group, once)
};

class Forward {
 public:
  Forward(const Model& model, KvCache* cache, ForwardOptions options = {});

  // Runs every entry's tokens and appends their K/V. logits receives, entry by entry, the
  // rows asked for ([vocab] per row). A seq may appear once per call. Nothing is appended for
  // an entry whose input is rejected (bad token id, empty, duplicate seq).
  Status forward(std::span<const SeqBatch> batch, std::vector<float>* logits);

  const ForwardStats& stats() const { return stats_; }
  // Compression hook (compress/observer.h): sees each layer's queries after attention and may
  // restrict the runs decode attention reads. Null (the default) = no compression.
  void set_observer(ForwardObserver* observer) { observer_ = observer; }
  const Model& model() const { return model_; }

 private:
  struct Piece {  // a contiguous part of one entry inside one step
    size_t entry;
    SeqId seq;
    int64_t first;  // index into entry tokens
    int64_t n;
    int32_t pos0;  // position of the first token
    int64_t row0;  // first activation row in the step
  };
  struct AttentionTask {  // queries [q0, q0 + nq) of one piece against one kv head
    int piece, kv_head;
    int64_t q0, nq;
  };
  // Decode attention split over n_split parts per task (flash-decoding), merged into att_.
  // The queries of `task` (rows from r0, all heads of its GQA group) as the kernels take them.
  AttentionQuery group_query(const AttentionTask& task, int64_t r0) const;
  Status attention_split_k(int layer, const std::vector<Piece>& pieces,
                           const std::vector<AttentionTask>& tasks, int n_split);
  Status step(std::span<const SeqBatch> batch, const std::vector<Piece>& pieces, int64_t T,
              std::vector<float>* logits, const std::vector<int64_t>& logit_row_base);
  void ensure_buffers(int64_t T);
  Status observe_rope(const std::vector<Piece>& pieces, int layer, int64_t q_dim, int64_t kv_dim,
                      bool adjacent);

  const Model& model_;
  KvCache* cache_;
  ForwardOptions options_;
  ForwardStats stats_;
  ForwardObserver* observer_ = nullptr;
  std::vector<float> inv_freq_;  // [head_dim / 2]
  // Activations of one step (T tokens):
  std::vector<float> x_, xn_;     // [T][d_model]
  std::vector<float> q_, k_, v_;  // [T][q_dim], [T][kv_dim], [T][kv_dim]
  std::vector<float> att_;        // [T][q_dim]
  std::vector<float> gate_, up_;  // [T][ffn_dim]
  std::vector<float> tmp_;        // [T][d_model]
  std::vector<AttentionTask> tasks_split_;
  std::vector<float> split_out_, split_lse_;  // split-K partial rows and their log-sum-exp
  std::vector<float> cos_sin_;                // [T][head_dim / 2][2]
  std::vector<int32_t> pos_;                  // [T]
};

}  // namespace lk
