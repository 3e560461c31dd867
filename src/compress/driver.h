// Runs a parsed compression spec against the paged KV manager for one sequence at a time:
// gathers the attention statistics the token policy asks for (from the engine's
// ForwardObserver hook), resolves the budget (ratio of the prompt, or bytes of the whole
// sequence) into tokens per (layer, kv-head), applies the policy's evictions through
// KvManager::evict (so the pool's accounting drops), restricts decode reads for Quest, and
// keeps per (layer, kv-head) counters for reports.
//
// Call order per sequence: begin(seq); the forward passes of a prompt (phase prefill) then
// end_prefill(seq); decode forwards (after set_phase(kDecode)); later rounds go back to
// prefill. Policy state persists across rounds until the next begin().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compress/demote.h"
#include "compress/dms_model.h"
#include "compress/minicache.h"
#include "compress/observer.h"
#include "compress/policy.h"
#include "compress/spec.h"
#include "core/status.h"
#include "kv/kv_manager.h"

namespace lk::compress {

struct HeadCounters {
  int64_t appended = 0;     // positions appended to the head
  int64_t held = 0;         // tokens the head holds now
  int64_t evictions = 0;    // tokens evicted
  int64_t reencoded = 0;    // blocks re-encoded into the old format (mixed)
  int64_t bytes_saved = 0;  // evictions x bytes per token of the cache's format
                            // + reencoded x (main - old block bytes)
  double retained_ratio() const {
    return appended ? static_cast<double>(held) / static_cast<double>(appended) : 1.0;
  }
};

struct QuestCounters {
  int64_t pages_total = 0;  // pages a decode query could read
  int64_t pages_read = 0;   // pages it read
};

// What the driver may need from the model besides its shape (all optional).
struct ModelContext {
  std::string model_path;         // head maps are found beside it (duo)
  const DmsModel* dms = nullptr;  // DMS decisions from the model (dms_* config keys)
};

class CompressionDriver final : public ForwardObserver {
 public:
  // n_heads: query heads of the model (group = n_heads / n_kv_heads). ctx (may be null) must
  // outlive the driver.
  static Result<std::unique_ptr<CompressionDriver>> create(const CompressionSpec& spec,
                                                           KvManager* kv, int n_heads,
                                                           const ModelContext* ctx = nullptr);

  void begin(SeqId seq);
  void set_phase(Phase p) { phase_ = p; }
  Phase phase() const { return phase_; }
  // Runs the token policy once the prompt (or a later round's input) is in the cache.
  Status end_prefill(SeqId seq);

  KvHeadView filter_view(SeqId seq, int layer, int kv_head, KvHeadView view, const float* q,
                         int64_t q_stride, int n_q, const int32_t* q_positions = nullptr) override;
  Status after_attention(SeqId seq, int layer, const float* q, int64_t q_stride,
                         std::span<const int32_t> positions) override;
  Status before_rope(SeqId seq, int layer, const float* x, float* q, int64_t q_stride,
                     std::span<const int32_t> positions) override;
  void after_rope(SeqId seq, int layer, float* q, int64_t q_stride, int64_t n) override;

  KvPolicy* policy() const { return policy_.get(); }
  const CompressionSpec& spec() const { return spec_; }
  // Tokens per (layer, kv-head) the budget allows now (-1: none).
  int64_t keep_per_head() const { return keep_; }
  // Counters [layer * n_kv_heads + kv_head] (held refreshed from the manager).
  std::vector<HeadCounters> counters() const;
  QuestCounters quest_counters() const { return {quest_total_.load(), quest_read_.load()}; }
  // Bytes the policy keeps outside the pool (MiniCache's merged store); count them with the
  // manager's bytes for this sequence.
  int64_t side_bytes() const { return side_bytes_; }
  // The report eval embeds: method, budget, totals, per-head counters, notes.
  nlohmann::json report() const;

 private:
  CompressionDriver(CompressionSpec spec, std::unique_ptr<KvPolicy> policy, KvManager* kv,
                    int n_heads, const ModelContext* ctx);
  int64_t resolve_keep(int64_t tokens) const;
  Status run_select(SeqId seq, int layer, Phase phase);
  Status observe_window(SeqId seq, int layer);
  // The token policy's part of after_attention (observations, decode/prefill selection).
  Status policy_after_attention(SeqId seq, int layer, const float* q, int64_t q_stride,
                                std::span<const int32_t> positions);
  Status apply_duo(SeqId seq, int layer);
  // kv_->evict, or (demote) the rows first to the demotion store.
  Status evict(SeqId seq, int layer, int kv_head, std::span<const int32_t> positions);
  Status apply_minicache(SeqId seq);       // merge the pairs' new tokens (after a prefill)
  void rebuild_minicache_runs(int layer);  // streaming heads keep sinks + window

  CompressionSpec spec_;
  std::unique_ptr<KvPolicy> policy_;
  KvManager* kv_;
  int n_layers_, n_kv_, n_heads_, head_dim_;
  double bytes_per_token_;  // one token of one (layer, kv-head) in the cache's format
  SeqId seq_ = -1;
  Phase phase_ = Phase::kPrefill;
  int64_t prompt_len_ = 0;
  int64_t keep_ = -1;
  // Prefill: the last observation_window() queries per layer: [layer] rows of q_dim, positions.
  std::vector<std::vector<float>> tail_q_;
  std::vector<std::vector<int32_t>> tail_pos_;
  std::vector<HeadCounters> counters_;  // [layer * n_kv + head]
  std::atomic<int64_t> quest_total_{0}, quest_read_{0};
  // MiniCache: merged tokens [pair * n_kv + head] (pair p merges layers start + 2p, + 1) and
  // the reconstruction each merged layer's attention reads [layer * n_kv + head].
  struct Recon {
    std::vector<float> k, v;  // [n][D] f32 (magnitude x direction)
    std::vector<int32_t> positions;
  };
  std::unique_ptr<DemotionStore> demoted_;  // demote: evicted tokens in the host tier
  std::atomic<int64_t> recall_errors_{0};
  std::string recall_error_;
  std::mutex recall_mu_;
  int mc_start_ = -1, mc_pairs_ = 0;
  std::vector<MergedTokens> merged_;
  std::vector<Recon> recon_;
  int64_t side_bytes_ = 0;
  std::vector<bool> duo_retrieval_;  // [layer * n_kv + head] (empty: no duo)
  std::string duo_map_path_;
  const DmsModel* dms_ = nullptr;                      // the model's DMS (null: none)
  bool dms_decides_ = false;                           // the dms policy takes the model's decisions
  int64_t reencode_saving_ = 0;  // mixed: bytes one re-encoded block saves (main - old)
  std::vector<float> dms_logits_;                      // [n][n_kv] scratch
  int64_t dms_decided_ = 0, dms_evict_decisions_ = 0;  // decisions seen / saying evict
};

}  // namespace lk::compress
