// DMS — Dynamic Memory Sparsification: Łańcucki et al. 2025, "Inference-Time Hyper-Scaling
// with KV Cache Compression" (arXiv 2506.05345); the repurposed-neuron decision comes from
// Nawrot et al. 2024, "Dynamic Memory Compression" (arXiv 2403.09636, §3.1).
//
// Each attention layer emits, per token and kv-head, a decision logit; logit > 0 means
// "evict". The token is not removed at once: it stays visible for `window` more positions
// (delayed eviction) and is dropped once the sequence has moved past pos + window.
// Decisions come from the model when its config carries the dms_* keys (read as the
// official implementation names them), in either form:
//   - repurposed neuron (dms_separate_alpha = false): the last channel of the first query
//     head of each GQA group, taken after q_norm and before RoPE,
//     logit = q * dms_alpha_scale - dms_initial_alpha_offset; that channel is then zeroed
//     (before and after RoPE) so it does not take part in attention;
//   - separate projection (dms_separate_alpha = true): an RMSNorm of the layer's input hidden
//     state (before the attention norm), then a linear map to n_kv_heads logits, scaled and
//     offset the same way.
// dms_alpha_per = "layer" shares head 0's decision with every head of the layer.
// Models without DMS use the training-free form: a token is evicted at the end of its window
// when the mean attention it received during the window (mean over query heads) is below
// `threshold`. Unlike the official implementation, eviction state persists across rounds
// of a multi-round session (reset() only when a new sequence starts).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compress/policy.h"
#include "core/status.h"

namespace lk::compress {

// The dms_* keys of a Hugging Face config.json (defaults: the official Qwen3 DMS config).
struct DmsModelConfig {
  bool present = false;                  // the config carries DMS keys
  double alpha_scale = 100.0;            // dms_alpha_scale
  double initial_alpha_offset = 5.0;     // dms_initial_alpha_offset
  int window_size = 512;                 // dms_window_size
  bool separate_alpha = false;           // dms_separate_alpha
  std::string alpha_per = "head";        // dms_alpha_per: "head" | "layer"
  bool disable_eviction = false;         // dms_disable_eviction
  int paged_attention_block_size = 256;  // dms_paged_attention_block_size (informational)
  double cr = 8;                         // dms_cr: target compression ratio (training)
};

// Reads the dms_* keys of a parsed config.json; present = false when it has none. Keys of the
// wrong type or value are errors naming the key.
Result<DmsModelConfig> dms_config_from_json(const nlohmann::json& config);
// Same, from a config.json file (or a model directory holding one).
Result<DmsModelConfig> dms_config_from_file(const std::string& path);

// Repurposed-neuron decisions. q: [n_tokens][n_heads][head_dim] after q_norm, before RoPE.
// Writes logits [n_tokens][n_kv_heads] and zeroes the decision channel in q.
void dms_neuron_logits(float* q, int64_t n_tokens, int n_heads, int n_kv_heads, int head_dim,
                       const DmsModelConfig& cfg, float* logits);
// Zeroes the decision channel again (call after RoPE: rotation mixes it back in).
void dms_zero_decision_channel(float* q, int64_t n_tokens, int n_heads, int n_kv_heads,
                               int head_dim);
// Separate-projection decisions. hidden: [n_tokens][d_model], the layer's input (before the
// attention norm); norm: [d_model]; proj: [n_kv_heads][d_model]; bias: [n_kv_heads] or null.
void dms_projection_logits(const float* hidden, int64_t n_tokens, int d_model, const float* norm,
                           float eps, const float* proj, const float* bias, int n_kv_heads,
                           const DmsModelConfig& cfg, float* logits);
// logits [n_tokens][n_kv_heads] -> evict flags (logit > 0), with dms_alpha_per applied.
std::vector<uint8_t> dms_decisions(std::span<const float> logits, int n_kv_heads,
                                   const DmsModelConfig& cfg);

struct DmsPolicyConfig {
  int window = 256;        // delayed-eviction window w (paper: 256; official default 512)
  double threshold = 0.0;  // training-free form: evict when mean window attention < threshold
};

class DmsPolicy final : public KvPolicy {
 public:
  explicit DmsPolicy(DmsPolicyConfig c = {}) : c_(c) {}
  std::string name() const override { return "dms"; }
  bool observes_decode() const override { return !from_model_; }
  int observation_window() const override { return from_model_ ? 0 : -1; }
  bool evicts_during_decode() const override { return true; }
  bool evicts_during_prefill() const override { return true; }
  // Training-free form: accumulates the attention each token receives inside its window.
  void observe(const AttentionObservation& obs) override;
  // Evicts every held token whose decision says evict and whose window has passed.
  std::vector<std::vector<int32_t>> select(const LayerState& state) override;
  void reset() override;

  // The model carries decisions: use them (window from the model config unless overridden).
  void use_model_decisions(const DmsModelConfig& cfg);
  bool from_model() const { return from_model_; }
  // Model form: decisions for the keys at `positions` of `layer`: evict [n][n_kv_heads]
  // (the caller applies the official one-token shift: token p decides key p - 1).
  void record_decisions(int layer, std::span<const int32_t> positions,
                        std::span<const uint8_t> evict, int n_kv_heads);
  // Tokens decided "evict" whose window has not passed yet (for counters and tests).
  int64_t pending(int layer, int kv_head) const;
  // True when pos is decided "evict" and still held (read-only: safe from worker threads
  // while no decision is being recorded).
  bool marked(int layer, int kv_head, int32_t pos) const;
  int window() const { return c_.window; }

 private:
  struct HeadState {
    std::set<int32_t> marked;            // decided evict, still inside the window
    std::map<int32_t, double> received;  // training-free: attention received in the window
    std::map<int32_t, int> seen;         // training-free: queries that observed it
  };
  HeadState& head(int layer, int kv_head) { return heads_[{layer, kv_head}]; }

  DmsPolicyConfig c_;
  bool from_model_ = false;
  std::map<std::pair<int, int>, HeadState> heads_;
};

}  // namespace lk::compress
