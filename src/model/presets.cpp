#include "model/presets.h"

#include <algorithm>
#include <cctype>

namespace lk {

namespace {

struct Preset {
  const char* id;
  ModelSpec spec;
};

ModelSpec dense(const char* name, const char* arch, int layers, int d_model, int heads,
                int kv_heads, int ffn, int vocab, int64_t ctx, float theta) {
  ModelSpec s;
  s.name = name;
  s.arch = arch;
  s.n_layers = layers;
  s.d_model = d_model;
  s.n_heads = heads;
  s.n_kv_heads = kv_heads;
  s.head_dim = d_model / heads;
  s.ffn_dim = ffn;
  s.vocab_size = vocab;
  s.max_context = ctx;
  s.rope_theta = theta;
  return s;
}

ModelSpec llama31(const char* name, int layers, int d_model, int heads, int ffn) {
  ModelSpec s = dense(name, "llama", layers, d_model, heads, 8, ffn, 128256, 131072, 500000.0f);
  s.rope_scaling = RopeScaling::kLlama3;
  s.rope_factor = 8.0f;
  s.rope_low_freq_factor = 1.0f;
  s.rope_high_freq_factor = 4.0f;
  s.rope_original_context = 8192;
  return s;
}

std::vector<Preset> build_presets() {
  std::vector<Preset> p;
  // 01-ai/Yi-34B-200K config.json: hidden 7168, 60 layers, 56 heads, 8 KV heads,
  // intermediate 20480, vocab 64000, max_position_embeddings 200000, rope_theta 5e6.
  ModelSpec yi = dense("Yi-34B-200K", "llama", 60, 7168, 56, 8, 20480, 64000, 200000, 5e6f);
  p.push_back({"yi-34b-200k", yi});

  // CohereForAI/c4ai-command-r-plus config.json: hidden 12288, 64 layers, 96 heads, 8 KV
  // heads, intermediate 33792, vocab 256000, 131072 positions, tied embeddings, qk-norm.
  ModelSpec crp =
      dense("Command-R-Plus-104B", "cohere", 64, 12288, 96, 8, 33792, 256000, 131072, 7.5e7f);
  crp.tied_embeddings = true;
  crp.qk_norm = true;
  p.push_back({"command-r-plus", crp});

  // meta-llama/Llama-3.1-{8B,70B,405B} config.json (llama3 rope scaling, factor 8).
  p.push_back({"llama-3.1-8b", llama31("Llama-3.1-8B", 32, 4096, 32, 14336)});
  p.push_back({"llama-3.1-70b", llama31("Llama-3.1-70B", 80, 8192, 64, 28672)});
  p.push_back({"llama-3.1-405b", llama31("Llama-3.1-405B", 126, 16384, 128, 53248)});

  // Qwen/Qwen2.5-7B-Instruct and Qwen2.5-72B-Instruct config.json (q/k/v bias; 131072
  // positions with YaRN as the model card describes).
  ModelSpec q7 = dense("Qwen2.5-7B", "qwen2", 28, 3584, 28, 4, 18944, 152064, 131072, 1e6f);
  q7.qkv_bias = true;
  p.push_back({"qwen2.5-7b", q7});
  ModelSpec q72 = dense("Qwen2.5-72B", "qwen2", 80, 8192, 64, 8, 29568, 152064, 131072, 1e6f);
  q72.qkv_bias = true;
  p.push_back({"qwen2.5-72b", q72});

  // mistralai/Mixtral-8x7B-v0.1 config.json: 8 experts, 2 active per token.
  ModelSpec mix = dense("Mixtral-8x7B", "mixtral", 32, 4096, 32, 8, 14336, 32000, 32768, 1e6f);
  mix.n_experts = 8;
  mix.n_experts_active = 2;
  p.push_back({"mixtral-8x7b", mix});

  // deepseek-ai/DeepSeek-V2 config.json: 60 layers, hidden 5120, 128 heads, MLA with
  // kv_lora_rank 512 and qk_rope_head_dim 64 (qk_nope 128, v 128), 160 routed experts
  // (6 active) + 2 shared of width 1536, vocab 102400, 163840 positions. The paper gives
  // 236B total / 21B active parameters; the shape formula does not model MLA's low-rank
  // projections, so both counts are stated.
  ModelSpec ds = dense("DeepSeek-V2", "deepseek2", 60, 5120, 128, 128, 1536, 102400, 163840, 1e4f);
  ds.head_dim = 192;  // qk_nope_head_dim + qk_rope_head_dim: the width attention scores use
  ds.kv_lora_rank = 512;
  ds.qk_rope_head_dim = 64;
  ds.n_experts = 160;
  ds.n_experts_active = 6;
  ds.n_shared_experts = 2;
  ds.n_params = 236e9;
  ds.n_active_params = 21e9;
  p.push_back({"deepseek-v2", ds});

  // FRAMEWORK.md's upcycling example: Yi-34B's MLP copied into 8 experts, 2 active per
  // token (attention, hence the KV cache, unchanged).
  ModelSpec moe = yi;
  moe.name = "Yi-34B-8x-MoE";
  moe.arch = "mixtral";
  moe.n_experts = 8;
  moe.n_experts_active = 2;
  p.push_back({"yi-34b-8x-moe", moe});
  return p;
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> p = build_presets();
  return p;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::vector<std::string> model_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : presets()) names.push_back(p.id);
  return names;
}

Result<ModelSpec> model_preset(const std::string& id) {
  const std::string key = lower(id);
  for (const auto& p : presets())
    if (key == p.id || key == lower(p.spec.name)) return p.spec;
  std::string valid;
  for (const auto& p : presets()) valid += (valid.empty() ? "" : ", ") + std::string(p.id);
  return not_found("unknown model preset '{}' (valid: {})", id, valid);
}

}  // namespace lk
