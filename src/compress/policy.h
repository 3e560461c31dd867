// The KV compression policy interface (DESIGN.md "Compression is a policy, not a fork of the
// engine"). One interface for prefill and decode:
//   - observe(): the attention probabilities of some queries over the tokens a
//     (layer, kv-head) holds — at prefill the prompt's observation window (the last
//     observation_window() queries), during decode the current query;
//   - select(): which held tokens of each kv-head of a layer to evict now, within the budget
//     the driver (compress/driver.h) resolved, or by threshold (DMS);
//   - format(): the storage format the cache should use (the hidden dimension);
//   - Quest-style read selection lives in compress/quest.h (it saves reads, not memory).
// A policy never touches storage: the driver applies its choices through KvManager::evict,
// so evicted slots return to the pool and the manager's accounting shows the drop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "kv/kv_view.h"

namespace lk::compress {

enum class Phase { kPrefill, kDecode };

// Attention of n_queries queries (each with `group` query heads) over the held tokens of one
// (layer, kv-head). probs: [n_queries][group][n_keys] softmax rows; a key later than the
// query has probability 0.
struct AttentionObservation {
  int layer = 0;
  int kv_head = 0;
  Phase phase = Phase::kPrefill;
  std::span<const int32_t> key_positions;    // [n_keys], ascending
  std::span<const int32_t> query_positions;  // [n_queries]
  int group = 1;
  std::span<const float> probs;  // [n_queries][group][n_keys]
  int64_t n_keys() const { return static_cast<int64_t>(key_positions.size()); }
  int64_t n_queries() const { return static_cast<int64_t>(query_positions.size()); }
  float prob(int64_t q, int g, int64_t k) const { return probs[(q * group + g) * n_keys() + k]; }
  // Attention of query q's whole GQA group to key k, summed over the group's heads.
  float group_sum(int64_t q, int64_t k) const {
    float s = 0;
    for (int g = 0; g < group; ++g) s += prob(q, g, k);
    return s;
  }
};

// What a policy chooses over, for one layer: the held positions of each kv-head.
struct LayerState {
  int layer = 0;
  int n_layers = 1;
  Phase phase = Phase::kPrefill;
  int64_t seq_len = 0;     // positions appended so far
  int64_t prompt_len = 0;  // positions of the prompt (the first prefill)
  // Target tokens per kv-head on average (the resolved budget); -1 = no budget (threshold
  // methods). Methods with per-layer/per-head allocation redistribute it.
  int64_t keep_per_head = -1;
  std::vector<std::span<const int32_t>> held;  // [n_kv_heads] ascending positions
};

class KvPolicy {
 public:
  virtual ~KvPolicy() = default;
  virtual std::string name() const = 0;
  // Prompt queries whose attention the policy needs after prefill (0: none; -1: all).
  virtual int observation_window() const { return 0; }
  // True when the policy needs the attention of every decode query.
  virtual bool observes_decode() const { return false; }
  // True when select() should run after every decode step (else only after prefill).
  virtual bool evicts_during_decode() const { return false; }
  // True when select() should also run after each prefill chunk (DMS: memory stays bounded
  // by the window while a long prompt streams in).
  virtual bool evicts_during_prefill() const { return false; }
  virtual void observe(const AttentionObservation& obs) {}
  // Positions to evict, per kv-head: [n_kv_heads] lists, each a subset of held[h].
  virtual std::vector<std::vector<int32_t>> select(const LayerState& state) = 0;
  // Drops the policy's per-sequence state (a new sequence starts).
  virtual void reset() {}
};

// Keeps the `k` highest-scoring positions of `held` plus every protected one; returns the
// others (ascending). Ties: the later position is kept (recency), so results are
// deterministic. scores: [held.size()], is_protected: [held.size()].
std::vector<int32_t> evict_all_but_top(std::span<const int32_t> held, std::span<const float> scores,
                                       const std::vector<bool>& is_protected, int64_t k);

// Accumulated per-position scores of every (layer, kv-head), shared by score-based methods.
class ScoreBoard {
 public:
  // Scores of (layer, kv_head) by position (created empty on first use).
  std::map<int32_t, float>& at(int layer, int kv_head);
  // Score of pos, 0 when unseen.
  float get(int layer, int kv_head, int32_t pos) const;
  void forget(int layer, int kv_head, std::span<const int32_t> positions);
  void clear();

 private:
  std::map<std::pair<int, int>, std::map<int32_t, float>> heads_;  // (layer, kv_head) -> scores
};

}  // namespace lk::compress
