// Token-dimension eviction methods (FRAMEWORK.md's table). Each keeps, per (layer, kv-head),
// the budget the driver resolved (LayerState::keep_per_head) and evicts the rest:
//   StreamingLLM — Xiao et al. 2023, "Efficient Streaming Language Models with Attention
//     Sinks" (arXiv 2309.17453): the first `sinks` tokens plus the most recent window.
//   H2O — Zhang et al. 2023, "H2O: Heavy-Hitter Oracle" (arXiv 2306.14048): attention
//     accumulated over every query so far (heavy hitters) plus a recent window; the cache
//     is held at its budget during decode.
//   TOVA — Oren et al. 2024, "Transformers are Multi-State RNNs" (arXiv 2401.06104): keep the
//     tokens the current query attends to most (mean over the group's query heads).
//   SnapKV — Li et al. 2024, "SnapKV: LLM Knows What You are Looking for Before Generation"
//     (arXiv 2404.14469): at prefill, the last `window` prompt queries vote (attention summed
//     over the window, mean over the group), votes are max-pooled over neighbouring
//     positions (kernel), the window itself is kept. Decode tokens are not evicted.
//   PyramidKV — Cai et al. 2024, "PyramidKV: Dynamic KV Cache Compression based on Pyramidal
//     Information Funneling" (arXiv 2406.02069): SnapKV selection with per-layer budgets
//     decreasing linearly from the first to the last layer (same average).
//   AdaKV — Feng et al. 2024, "Ada-KV: Optimizing KV Cache Eviction by Adaptive Budget
//     Allocation" (arXiv 2407.11550): SnapKV scores, but the layer's budget is shared by its
//     heads: the top scores over all heads of the layer win, with a per-head floor.
#pragma once

#include "compress/policy.h"

namespace lk::compress {

struct StreamingConfig {
  int sinks = 4;  // attention-sink tokens kept at the start (paper: 4)
};

class StreamingLlmPolicy final : public KvPolicy {
 public:
  explicit StreamingLlmPolicy(StreamingConfig c = {}) : c_(c) {}
  std::string name() const override { return "streaming"; }
  bool evicts_during_decode() const override { return true; }
  std::vector<std::vector<int32_t>> select(const LayerState& state) override;

 private:
  StreamingConfig c_;
};

struct H2oConfig {
  double recent_fraction = 0.5;  // share of the budget given to the recent window (paper: half)
  // score=mean: the accumulated attention divided by how many queries saw the key (kvpress's
  // ObservedAttentionPress); default: the plain sum (H2O's accumulation).
  bool mean = false;
};

class H2oPolicy final : public KvPolicy {
 public:
  explicit H2oPolicy(H2oConfig c = {}) : c_(c) {}
  std::string name() const override { return "h2o"; }
  int observation_window() const override { return -1; }
  bool observes_decode() const override { return true; }
  bool evicts_during_decode() const override { return true; }
  void observe(const AttentionObservation& obs) override;
  std::vector<std::vector<int32_t>> select(const LayerState& state) override;
  void reset() override {
    board_.clear();
    seen_.clear();
  }
  const ScoreBoard& board() const { return board_; }

 private:
  H2oConfig c_;
  ScoreBoard board_;
  ScoreBoard seen_;  // score=mean: queries that could see each key
};

struct TovaConfig {
  // scope=layer: a token's score is the last query's attention averaged over every query head
  // of the layer, and all kv heads keep the same tokens (kvpress's TOVAPress); default: each
  // kv head's own query group.
  bool layer_wide = false;
};

class TovaPolicy final : public KvPolicy {
 public:
  explicit TovaPolicy(TovaConfig c = {}) : c_(c) {}
  std::string name() const override { return "tova"; }
  int observation_window() const override { return 1; }
  bool observes_decode() const override { return true; }
  bool evicts_during_decode() const override { return true; }
  void observe(const AttentionObservation& obs) override;
  std::vector<std::vector<int32_t>> select(const LayerState& state) override;
  void reset() override { board_.clear(); }

 private:
  TovaConfig c_;
  ScoreBoard board_;  // attention of the last observed query only
};

struct SnapKvConfig {
  int window = 32;             // observation window: last prompt queries that vote (paper: 32)
  int kernel = 7;              // pooling kernel over positions (paper code: 7)
  bool avg_pool = false;       // pool=avg: average pooling, zero-padded (kvpress's SnapKVPress)
  double pyramid_beta = 20.0;  // PyramidKV: smallest layer budget = (avg - window) / beta
  double ada_floor = 0.2;      // AdaKV: each head keeps at least this share of the average
};

enum class SnapKvVariant { kSnapKv, kPyramidKv, kAdaKv };

class SnapKvPolicy final : public KvPolicy {
 public:
  SnapKvPolicy(SnapKvVariant v, SnapKvConfig c = {}) : v_(v), c_(c) {}
  std::string name() const override;
  int observation_window() const override { return c_.window; }
  void observe(const AttentionObservation& obs) override;
  std::vector<std::vector<int32_t>> select(const LayerState& state) override;
  void reset() override { board_.clear(); }
  // PyramidKV budget of `layer` for an average of `avg` tokens per head.
  int64_t layer_budget(int layer, int n_layers, int64_t avg) const;

 private:
  SnapKvVariant v_;
  SnapKvConfig c_;
  ScoreBoard board_;  // pooled votes of the observation window
};

// Max-pools scores over neighbouring entries (kernel k, centred, same length): SnapKV's
// clustering step. scores: [n].
std::vector<float> max_pool_1d(std::span<const float> scores, int kernel);
// Average pooling over the same centred window of 2*(kernel/2)+1 entries, entries beyond the
// ends counting as 0 (torch's avg_pool1d with padding kernel/2, as kvpress pools).
std::vector<float> avg_pool_1d(std::span<const float> scores, int kernel);

}  // namespace lk::compress
