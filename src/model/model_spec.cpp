#include "model/model_spec.h"

namespace lk {

int64_t ModelSpec::kv_elements_per_token_per_layer() const {
  if (is_mla()) return static_cast<int64_t>(kv_lora_rank) + qk_rope_head_dim;
  return 2LL * n_kv_heads * head_dim;
}

double ModelSpec::param_count_from_shapes() const {
  const double d = d_model, hd = head_dim;
  const double attn = d * (n_heads * hd) + 2.0 * d * (n_kv_heads * hd) + (n_heads * hd) * d +
                      (qkv_bias ? (n_heads + 2.0 * n_kv_heads) * hd : 0.0);
  const double mlp_one = 3.0 * d * ffn_dim;
  const double mlp = is_moe() ? (n_experts + n_shared_experts) * mlp_one + d * n_experts : mlp_one;
  const double norms = 2.0 * d + (qk_norm ? 2.0 * hd : 0.0);
  const double embed = static_cast<double>(vocab_size) * d * (tied_embeddings ? 1.0 : 2.0);
  return n_layers * (attn + mlp + norms) + embed + d;
}

double ModelSpec::total_params() const {
  return n_params > 0 ? n_params : param_count_from_shapes();
}

double ModelSpec::active_params() const {
  if (n_active_params > 0) return n_active_params;
  if (!is_moe()) return total_params();
  const double mlp_one = 3.0 * d_model * static_cast<double>(ffn_dim);
  const double inactive = static_cast<double>(n_experts - n_experts_active) * mlp_one * n_layers;
  return total_params() - inactive;
}

}  // namespace lk
