// ModelSpec: the architecture of a model, shared by the engine (which runs it) and the
// analyzer (which prices it). Filled from a preset, a Hugging Face config.json, or GGUF
// metadata; the same numbers feed the cost formulas of FRAMEWORK.md and the forward pass.
#pragma once

#include <cstdint>
#include <string>

namespace lk {

enum class RopeScaling { kNone, kLinear, kLlama3, kYarn };  // kYarn: priced, not run

struct ModelSpec {
  std::string name;          // "Yi-34B-200K", or the file's general.name
  std::string arch = "llama";  // llama | mistral | qwen2 | qwen3 | mixtral | deepseek2
  int n_layers = 0;
  int d_model = 0;          // hidden size
  int n_heads = 0;          // query heads
  int n_kv_heads = 0;       // K/V heads (== n_heads for MHA, 1 for MQA)
  int head_dim = 0;         // per-head width (usually d_model / n_heads)
  int ffn_dim = 0;          // MLP intermediate size (per expert for MoE)
  int vocab_size = 0;
  int64_t max_context = 0;  // trained context length
  bool tied_embeddings = false;
  bool qkv_bias = false;    // qwen2
  bool qk_norm = false;     // qwen3: RMSNorm on q and k per head

  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling = RopeScaling::kNone;
  float rope_factor = 1.0f;           // linear / llama3 factor
  float rope_low_freq_factor = 1.0f;  // llama3
  float rope_high_freq_factor = 4.0f; // llama3
  int64_t rope_original_context = 0;  // llama3 original_max_position_embeddings

  // Mixture of experts (0 = dense).
  int n_experts = 0;
  int n_experts_active = 0;
  int n_shared_experts = 0;

  // Multi-head latent attention (DeepSeek-V2): the cache holds one compressed latent of
  // kv_lora_rank plus a shared RoPE key of qk_rope_head_dim per token and layer.
  int kv_lora_rank = 0;
  int qk_rope_head_dim = 0;

  // Parameter counts. When 0 they are derived from the shapes (param_count()).
  double n_params = 0;         // total
  double n_active_params = 0;  // used per token (MoE: shared + active experts)

  bool is_moe() const { return n_experts > 0; }
  bool is_mla() const { return kv_lora_rank > 0; }

  // Elements of K and V cached per token per layer (both K and V counted).
  int64_t kv_elements_per_token_per_layer() const;
  // Total parameters from shapes if n_params is not given.
  double total_params() const;
  // Parameters touched per token (== total for dense models).
  double active_params() const;
  // Parameters derived purely from the shapes (embeddings, attention, MLP/experts, norms).
  double param_count_from_shapes() const;
};

}  // namespace lk
