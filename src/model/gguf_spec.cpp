#include "model/gguf_spec.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace lk {

namespace {

// Optional keys written by longkv synth so a GGUF round-trips the exact llama3 RoPE numbers
// (llama.cpp itself stores only the derived per-frequency factors, tensor rope_freqs.weight).
constexpr const char* kLlama3Low = "longkv.rope.llama3.low_freq_factor";
constexpr const char* kLlama3High = "longkv.rope.llama3.high_freq_factor";
constexpr const char* kLlama3Factor = "longkv.rope.llama3.factor";
constexpr const char* kLlama3Orig = "longkv.rope.llama3.original_context_length";

Status positive(const GgufFile& g, const std::string& key, int64_t v) {
  if (v <= 0 || v > std::numeric_limits<int>::max())
    return corrupt("{}: metadata '{}' = {} must be a positive integer", g.path(), key, v);
  return Status::ok();
}

Result<int> get_int(const GgufFile& g, const std::string& key) {
  LK_ASSIGN_OR_RETURN(int64_t v, g.get_i64(key));
  LK_RETURN_IF_ERROR(positive(g, key, v));
  return static_cast<int>(v);
}

Result<int> get_int_or(const GgufFile& g, const std::string& key, int fallback) {
  if (!g.has(key)) return fallback;
  return get_int(g, key);
}

// Recovers llama3 RoPE parameters from llama.cpp's per-frequency factors r_i (freq_i is
// divided by r_i): r = 1 for short wavelengths, r = factor for long ones, and in between
// 1/r = (1 - s)/factor + s with s linear in orig_ctx / wavelength. Two points of the ramp
// give low_freq_factor and high_freq_factor for a given original context.
Status llama3_from_factors(const GgufFile& g, const TensorView& t, ModelSpec* s) {
  const int64_t n = t.ne[0];
  if (t.dtype != DType::kF32 || n != s->head_dim / 2)
    return corrupt("{}: tensor 'rope_freqs.weight' must be f32 [{}] (head_dim / 2), got {} [{}]",
                   g.path(), s->head_dim / 2, dtype_name(t.dtype), n);
  std::vector<float> r(n);
  std::memcpy(r.data(), t.data, n * sizeof(float));
  float factor = 1;
  for (float x : r) {
    if (!(x >= 1.0f) || !std::isfinite(x))
      return corrupt("{}: tensor 'rope_freqs.weight' holds {} (factors must be >= 1)", g.path(), x);
    factor = std::max(factor, x);
  }
  s->rope_scaling = RopeScaling::kLlama3;
  s->rope_factor = factor;
  const double orig = static_cast<double>(s->rope_original_context);
  std::vector<std::pair<double, double>> ramp;  // (orig / wavelength, s)
  for (int64_t i = 0; i < n; ++i) {
    if (r[i] > 1.0f + 1e-4f && r[i] < factor - 1e-4f) {
      const double freq = std::pow(static_cast<double>(s->rope_theta), -2.0 * i / s->head_dim);
      const double wl = 2 * M_PI / freq;
      ramp.emplace_back(orig / wl, (1.0 / r[i] - 1.0 / factor) / (1.0 - 1.0 / factor));
    }
  }
  if (ramp.size() < 2) {
    // No ramp to measure: keep the published defaults of Llama 3.1 for the thresholds.
    s->rope_low_freq_factor = 1.0f;
    s->rope_high_freq_factor = 4.0f;
    return Status::ok();
  }
  const auto [x1, s1] = ramp.front();
  const auto [x2, s2] = ramp.back();
  const double span = (x2 - x1) / (s2 - s1);  // high - low
  const double low = x1 - s1 * span;
  s->rope_low_freq_factor = static_cast<float>(std::round(low * 1e4) / 1e4);
  s->rope_high_freq_factor = static_cast<float>(std::round((low + span) * 1e4) / 1e4);
  return Status::ok();
}

}  // namespace

const char* gguf_supported_archs() {
  return "llama, qwen2, qwen3";
}

std::string gguf_arch_for(const ModelSpec& spec) {
  if (spec.arch == "llama" || spec.arch == "mistral" || spec.arch == "mixtral") return "llama";
  if (spec.arch == "qwen2" || spec.arch == "qwen3") return spec.arch;
  return "";
}

Result<ModelSpec> model_spec_from_gguf(const GgufFile& g) {
  LK_ASSIGN_OR_RETURN(const std::string arch, g.get_str("general.architecture"));
  if (arch != "llama" && arch != "qwen2" && arch != "qwen3")
    return unsupported("{}: general.architecture '{}' is not supported (supported: {})", g.path(),
                       arch, gguf_supported_archs());
  const std::string a = arch + ".";
  ModelSpec s;
  s.arch = arch;
  LK_ASSIGN_OR_RETURN(s.name, g.get_str_or("general.name", ""));
  LK_ASSIGN_OR_RETURN(s.n_layers, get_int(g, a + "block_count"));
  LK_ASSIGN_OR_RETURN(s.d_model, get_int(g, a + "embedding_length"));
  LK_ASSIGN_OR_RETURN(s.ffn_dim, get_int(g, a + "feed_forward_length"));
  LK_ASSIGN_OR_RETURN(s.n_heads, get_int(g, a + "attention.head_count"));
  LK_ASSIGN_OR_RETURN(s.n_kv_heads, get_int_or(g, a + "attention.head_count_kv", s.n_heads));
  LK_ASSIGN_OR_RETURN(int ctx, get_int(g, a + "context_length"));
  s.max_context = ctx;
  LK_ASSIGN_OR_RETURN(s.rms_eps, g.get_f32(a + "attention.layer_norm_rms_epsilon"));
  LK_ASSIGN_OR_RETURN(s.rope_theta, g.get_f32_or(a + "rope.freq_base", 10000.0f));
  if (s.n_heads % s.n_kv_heads != 0)
    return corrupt("{}: {}attention.head_count ({}) is not a multiple of head_count_kv ({})",
                   g.path(), a, s.n_heads, s.n_kv_heads);
  const int default_hd = s.d_model % s.n_heads == 0 ? s.d_model / s.n_heads : 0;
  LK_ASSIGN_OR_RETURN(s.head_dim, get_int_or(g, a + "attention.key_length", default_hd));
  if (s.head_dim == 0)
    return corrupt(
        "{}: {}embedding_length ({}) is not a multiple of head_count ({}) and no "
        "attention.key_length is given",
        g.path(), a, s.d_model, s.n_heads);
  LK_ASSIGN_OR_RETURN(int v_dim, get_int_or(g, a + "attention.value_length", s.head_dim));
  if (v_dim != s.head_dim)
    return unsupported("{}: {}attention.value_length ({}) != key_length ({}) is not supported",
                       g.path(), a, v_dim, s.head_dim);
  LK_ASSIGN_OR_RETURN(int rope_dims, get_int_or(g, a + "rope.dimension_count", s.head_dim));
  if (rope_dims != s.head_dim)
    return unsupported(
        "{}: {}rope.dimension_count = {} (partial rotary, head_dim {}) is not "
        "supported",
        g.path(), a, rope_dims, s.head_dim);

  // Vocabulary: the explicit key, else the token list, else the embedding's rows.
  if (g.has(a + "vocab_size")) {
    LK_ASSIGN_OR_RETURN(s.vocab_size, get_int(g, a + "vocab_size"));
  } else if (const GgufValue* toks = g.find("tokenizer.ggml.tokens");
             toks != nullptr && toks->type == GgufType::kArray) {
    s.vocab_size = static_cast<int>(toks->count);
  } else if (const GgufTensorInfo* e = g.find_tensor("token_embd.weight")) {
    s.vocab_size = static_cast<int>(e->ne[1]);
  } else {
    return corrupt(
        "{}: cannot tell the vocabulary size ({}vocab_size, tokenizer.ggml.tokens and "
        "token_embd.weight are all missing)",
        g.path(), a);
  }

  s.tied_embeddings = g.find_tensor("output.weight") == nullptr;
  s.qkv_bias = arch == "qwen2";
  s.qk_norm = arch == "qwen3";

  if (g.has(a + "expert_count")) {
    LK_ASSIGN_OR_RETURN(int64_t n_exp, g.get_i64(a + "expert_count"));
    if (n_exp < 0 || n_exp > 4096)
      return corrupt("{}: {}expert_count = {} is out of range", g.path(), a, n_exp);
    s.n_experts = static_cast<int>(n_exp);
  }
  if (s.n_experts > 0) {
    LK_ASSIGN_OR_RETURN(s.n_experts_active, get_int(g, a + "expert_used_count"));
    if (arch == "llama") s.arch = "mixtral";
  }

  // RoPE scaling: linear via rope.scaling.*; llama3 via rope_freqs.weight (+ longkv keys).
  LK_ASSIGN_OR_RETURN(const std::string st, g.get_str_or(a + "rope.scaling.type", "none"));
  if (st == "linear") {
    s.rope_scaling = RopeScaling::kLinear;
    LK_ASSIGN_OR_RETURN(s.rope_factor, g.get_f32(a + "rope.scaling.factor"));
    if (!(s.rope_factor > 0))
      return corrupt("{}: {}rope.scaling.factor = {} must be positive", g.path(), a, s.rope_factor);
  } else if (st != "none") {
    return unsupported("{}: {}rope.scaling.type '{}' is not supported (supported: none, linear)",
                       g.path(), a, st);
  }
  if (g.has(kLlama3Factor)) {
    s.rope_scaling = RopeScaling::kLlama3;
    LK_ASSIGN_OR_RETURN(s.rope_factor, g.get_f32(kLlama3Factor));
    LK_ASSIGN_OR_RETURN(s.rope_low_freq_factor, g.get_f32(kLlama3Low));
    LK_ASSIGN_OR_RETURN(s.rope_high_freq_factor, g.get_f32(kLlama3High));
    LK_ASSIGN_OR_RETURN(uint32_t orig, g.get_u32(kLlama3Orig));
    s.rope_original_context = orig;
  } else if (const GgufTensorInfo* rf = g.find_tensor("rope_freqs.weight")) {
    LK_ASSIGN_OR_RETURN(uint32_t orig,
                        g.get_u32_or(a + "rope.scaling.original_context_length", 8192));
    s.rope_original_context = orig;
    s.rope_scaling = RopeScaling::kLlama3;
    if (!g.header_only()) {
      LK_RETURN_IF_ERROR(llama3_from_factors(g, g.view(*rf), &s));
    } else {
      // Without the data the factors cannot be read; the analyzer does not need them.
      LK_ASSIGN_OR_RETURN(s.rope_factor, g.get_f32_or(a + "rope.scaling.factor", 8.0f));
    }
  }
  return s;
}

Status model_spec_to_gguf(const ModelSpec& spec, GgufWriter* w) {
  const std::string arch = gguf_arch_for(spec);
  if (arch.empty())
    return unsupported(
        "GGUF output of arch '{}' is not supported (supported: llama, mistral, "
        "mixtral, qwen2, qwen3)",
        spec.arch);
  if (spec.rope_scaling == RopeScaling::kYarn)
    return unsupported("GGUF output with YaRN RoPE scaling is not supported");
  const std::string a = arch + ".";
  w->set_str("general.architecture", arch);
  w->set_str("general.name", spec.name);
  w->set_u32(a + "block_count", spec.n_layers);
  w->set_u32(a + "context_length", static_cast<uint32_t>(spec.max_context));
  w->set_u32(a + "embedding_length", spec.d_model);
  w->set_u32(a + "feed_forward_length", spec.ffn_dim);
  w->set_u32(a + "attention.head_count", spec.n_heads);
  w->set_u32(a + "attention.head_count_kv", spec.n_kv_heads);
  w->set_f32(a + "attention.layer_norm_rms_epsilon", spec.rms_eps);
  w->set_f32(a + "rope.freq_base", spec.rope_theta);
  w->set_u32(a + "rope.dimension_count", spec.head_dim);
  w->set_u32(a + "attention.key_length", spec.head_dim);
  w->set_u32(a + "attention.value_length", spec.head_dim);
  w->set_u32(a + "vocab_size", spec.vocab_size);
  if (spec.is_moe()) {
    w->set_u32(a + "expert_count", spec.n_experts);
    w->set_u32(a + "expert_used_count", spec.n_experts_active);
  }
  if (spec.rope_scaling == RopeScaling::kLinear) {
    w->set_str(a + "rope.scaling.type", "linear");
    w->set_f32(a + "rope.scaling.factor", spec.rope_factor);
  } else if (spec.rope_scaling == RopeScaling::kLlama3) {
    w->set_f32(kLlama3Factor, spec.rope_factor);
    w->set_f32(kLlama3Low, spec.rope_low_freq_factor);
    w->set_f32(kLlama3High, spec.rope_high_freq_factor);
    w->set_u32(kLlama3Orig, static_cast<uint32_t>(spec.rope_original_context));
  }
  return Status::ok();
}

}  // namespace lk
