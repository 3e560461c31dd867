#include "engine/model_weights.h"

#include <fmt/format.h>

#include "core/check.h"
#include "core/half.h"

namespace lk {

const char* rope_style_name(RopeStyle s) {
  return s == RopeStyle::kAdjacentPairs ? "adjacent-pairs" : "rotate-half";
}

namespace {

struct RoleNames {
  const char* role;
  const char* gguf;  // "%d" replaced by the layer index
  const char* hf;
};

// Per-layer roles and their names in both schemes; "{}" is the layer index.
constexpr RoleNames kLayerRoles[] = {
    {"attn_norm", "blk.{}.attn_norm.weight", "model.layers.{}.input_layernorm.weight"},
    {"attn_q", "blk.{}.attn_q.weight", "model.layers.{}.self_attn.q_proj.weight"},
    {"attn_k", "blk.{}.attn_k.weight", "model.layers.{}.self_attn.k_proj.weight"},
    {"attn_v", "blk.{}.attn_v.weight", "model.layers.{}.self_attn.v_proj.weight"},
    {"attn_output", "blk.{}.attn_output.weight", "model.layers.{}.self_attn.o_proj.weight"},
    {"attn_q_bias", "blk.{}.attn_q.bias", "model.layers.{}.self_attn.q_proj.bias"},
    {"attn_k_bias", "blk.{}.attn_k.bias", "model.layers.{}.self_attn.k_proj.bias"},
    {"attn_v_bias", "blk.{}.attn_v.bias", "model.layers.{}.self_attn.v_proj.bias"},
    {"attn_q_norm", "blk.{}.attn_q_norm.weight", "model.layers.{}.self_attn.q_norm.weight"},
    {"attn_k_norm", "blk.{}.attn_k_norm.weight", "model.layers.{}.self_attn.k_norm.weight"},
    {"ffn_norm", "blk.{}.ffn_norm.weight", "model.layers.{}.post_attention_layernorm.weight"},
    {"ffn_gate", "blk.{}.ffn_gate.weight", "model.layers.{}.mlp.gate_proj.weight"},
    {"ffn_up", "blk.{}.ffn_up.weight", "model.layers.{}.mlp.up_proj.weight"},
    {"ffn_down", "blk.{}.ffn_down.weight", "model.layers.{}.mlp.down_proj.weight"},
};
constexpr RoleNames kGlobalRoles[] = {
    {"token_embd", "token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm", "output_norm.weight", "model.norm.weight"},
    {"output", "output.weight", "lm_head.weight"},
};

class Picker {
 public:
  Picker(const TensorMap& t, TensorNaming n, std::vector<std::vector<float>>* converted)
      : tensors_(t), naming_(n), converted_(converted) {}

  // A matrix with ne = [in, out].
  Status matrix(const std::string& role, int layer, int64_t in, int64_t out, TensorView* dst) {
    const std::string name = weight_name(role, layer, naming_);
    auto it = tensors_.find(name);
    if (it == tensors_.end()) return not_found("missing tensor '{}'", name);
    const TensorView& t = it->second;
    if (t.n_dims != 2 || t.ne[0] != in || t.ne[1] != out) {
      return corrupt("tensor '{}' has shape [{}, {}] (ne, fastest first), expected [{}, {}]", name,
                     t.ne[0], t.ne[1], in, out);
    }
    if (in % dtype_block_elems(t.dtype) != 0) {
      return corrupt("tensor '{}' ({}) rows of {} are not a multiple of its block size {}", name,
                     dtype_name(t.dtype), in, dtype_block_elems(t.dtype));
    }
    if (t.data == nullptr || t.nbytes < t.row_bytes() * out) {
      return corrupt("tensor '{}' holds {} bytes, expected {}", name, t.nbytes,
                     t.row_bytes() * out);
    }
    *dst = t;
    return Status::ok();
  }

  // A 1-D f32 vector of n (converted from f16/bf16 when stored so). optional: absent is ok.
  Status vector(const std::string& role, int layer, int64_t n, bool optional, TensorView* dst) {
    const std::string name = weight_name(role, layer, naming_);
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      if (optional) return Status::ok();
      return not_found("missing tensor '{}'", name);
    }
    const TensorView& t = it->second;
    if (t.n_elements() != n || (t.n_dims != 1 && t.ne[0] != n)) {
      return corrupt("tensor '{}' has {} elements (ne[0]={}), expected a vector of {}", name,
                     t.n_elements(), t.ne[0], n);
    }
    if (t.data == nullptr || t.nbytes < dtype_row_bytes(t.dtype, n)) {
      return corrupt("tensor '{}' is truncated", name);
    }
    *dst = t;
    if (t.dtype == DType::kF32) return Status::ok();
    if (t.dtype != DType::kF16 && t.dtype != DType::kBF16) {
      return unsupported("tensor '{}' is {}; vectors (norms, biases) must be f32, f16 or bf16",
                         name, dtype_name(t.dtype));
    }
    std::vector<float> f(n);
    const auto* h = static_cast<const uint16_t*>(t.data);
    for (int64_t i = 0; i < n; ++i)
      f[i] = t.dtype == DType::kF16 ? f16_to_f32(h[i]) : bf16_to_f32(h[i]);
    converted_->push_back(std::move(f));
    dst->dtype = DType::kF32;
    dst->data = converted_->back().data();
    dst->nbytes = n * 4;
    return Status::ok();
  }

  bool has(const std::string& role, int layer) const {
    return tensors_.count(weight_name(role, layer, naming_)) > 0;
  }

 private:
  const TensorMap& tensors_;
  TensorNaming naming_;
  std::vector<std::vector<float>>* converted_;
};

}  // namespace

std::string weight_name(const std::string& role, int layer, TensorNaming naming) {
  for (const auto& r : kLayerRoles) {
    if (role == r.role)
      return fmt::format(fmt::runtime(naming == TensorNaming::kGguf ? r.gguf : r.hf), layer);
  }
  for (const auto& r : kGlobalRoles) {
    if (role == r.role) return naming == TensorNaming::kGguf ? r.gguf : r.hf;
  }
  LK_CHECK_MSG(false, "unknown weight role '{}'", role);
  return {};
}

Status model_spec_validate_for_engine(const ModelSpec& s) {
  if (s.n_layers <= 0 || s.d_model <= 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.head_dim <= 0 ||
      s.ffn_dim <= 0 || s.vocab_size <= 0) {
    return invalid_argument(
        "model shape must be positive: n_layers={} d_model={} n_heads={} n_kv_heads={} "
        "head_dim={} ffn_dim={} vocab_size={}",
        s.n_layers, s.d_model, s.n_heads, s.n_kv_heads, s.head_dim, s.ffn_dim, s.vocab_size);
  }
  if (s.n_heads % s.n_kv_heads != 0) {
    return invalid_argument("n_heads={} is not a multiple of n_kv_heads={}", s.n_heads,
                            s.n_kv_heads);
  }
  if (s.head_dim % 2 != 0) return invalid_argument("head_dim={} must be even for RoPE", s.head_dim);
  if (s.is_moe() || s.is_mla()) {
    return unsupported(
        "architecture '{}' (mixture of experts / latent attention) is not supported "
        "by the engine (supported: llama, mistral, qwen2, qwen3)",
        s.arch);
  }
  if (s.rope_scaling == RopeScaling::kYarn) {
    return unsupported(
        "YaRN rope scaling is not implemented by the engine (supported: none, "
        "linear, llama3)");
  }
  if (s.rope_scaling == RopeScaling::kLlama3 &&
      (s.rope_original_context <= 0 || s.rope_factor <= 0 ||
       s.rope_high_freq_factor <= s.rope_low_freq_factor)) {
    return invalid_argument(
        "llama3 rope scaling needs original_max_position_embeddings > 0, "
        "factor > 0 and high_freq_factor > low_freq_factor");
  }
  return Status::ok();
}

Result<ModelWeights> model_weights_from_tensors(const ModelSpec& spec, const TensorMap& tensors,
                                                TensorNaming naming,
                                                std::vector<std::vector<float>>* converted) {
  LK_RETURN_IF_ERROR(model_spec_validate_for_engine(spec));
  // Converted vectors are referenced by pointer: reserve so push_back never moves the
  // outer vector's elements' buffers (moves keep them anyway, but be explicit).
  converted->reserve(converted->size() + 8 * spec.n_layers + 4);
  Picker p(tensors, naming, converted);
  const int64_t d = spec.d_model, q_out = int64_t{spec.n_heads} * spec.head_dim,
                kv_out = int64_t{spec.n_kv_heads} * spec.head_dim, ff = spec.ffn_dim;
  ModelWeights w;
  LK_RETURN_IF_ERROR(p.matrix("token_embd", 0, d, spec.vocab_size, &w.tok_embd));
  LK_RETURN_IF_ERROR(p.vector("output_norm", 0, d, false, &w.output_norm));
  if (p.has("output", 0)) {
    LK_RETURN_IF_ERROR(p.matrix("output", 0, d, spec.vocab_size, &w.output));
  } else {
    w.output = w.tok_embd;
  }
  w.layers.resize(spec.n_layers);
  for (int l = 0; l < spec.n_layers; ++l) {
    LayerWeights& L = w.layers[l];
    LK_RETURN_IF_ERROR(p.vector("attn_norm", l, d, false, &L.attn_norm));
    LK_RETURN_IF_ERROR(p.matrix("attn_q", l, d, q_out, &L.wq));
    LK_RETURN_IF_ERROR(p.matrix("attn_k", l, d, kv_out, &L.wk));
    LK_RETURN_IF_ERROR(p.matrix("attn_v", l, d, kv_out, &L.wv));
    LK_RETURN_IF_ERROR(p.matrix("attn_output", l, q_out, d, &L.wo));
    LK_RETURN_IF_ERROR(p.vector("attn_q_bias", l, q_out, !spec.qkv_bias, &L.bq));
    LK_RETURN_IF_ERROR(p.vector("attn_k_bias", l, kv_out, !spec.qkv_bias, &L.bk));
    LK_RETURN_IF_ERROR(p.vector("attn_v_bias", l, kv_out, !spec.qkv_bias, &L.bv));
    LK_RETURN_IF_ERROR(p.vector("attn_q_norm", l, spec.head_dim, !spec.qk_norm, &L.q_norm));
    LK_RETURN_IF_ERROR(p.vector("attn_k_norm", l, spec.head_dim, !spec.qk_norm, &L.k_norm));
    LK_RETURN_IF_ERROR(p.vector("ffn_norm", l, d, false, &L.ffn_norm));
    LK_RETURN_IF_ERROR(p.matrix("ffn_gate", l, d, ff, &L.w_gate));
    LK_RETURN_IF_ERROR(p.matrix("ffn_up", l, d, ff, &L.w_up));
    LK_RETURN_IF_ERROR(p.matrix("ffn_down", l, ff, d, &L.w_down));
  }
  return w;
}

int64_t Model::weight_bytes_per_token() const {
  int64_t b = weights.tok_embd.row_bytes() + weights.output.nbytes + weights.output_norm.nbytes;
  for (const auto& L : weights.layers) {
    for (const TensorView* t : {&L.attn_norm, &L.wq, &L.wk, &L.wv, &L.wo, &L.bq, &L.bk, &L.bv,
                                &L.q_norm, &L.k_norm, &L.ffn_norm, &L.w_gate, &L.w_up, &L.w_down}) {
      if (t->data) b += t->row_bytes() * (t->n_dims >= 2 ? t->ne[1] : 1);
    }
  }
  return b;
}

DType Model::main_dtype() const {
  return weights.layers.empty() ? weights.tok_embd.dtype : weights.layers[0].wq.dtype;
}

}  // namespace lk
