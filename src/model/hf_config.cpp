#include "model/hf_config.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace lk {

namespace {

using json = nlohmann::json;

// Field access with errors that name the source and the key.
class Fields {
 public:
  Fields(const json& j, const std::string& source) : j_(j), source_(source) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  Status positive_int(const char* key, int* out) const {
    if (!has(key)) return invalid_argument("{}: field '{}' is missing", source_, key);
    return positive_int_value(key, j_.at(key), out);
  }
  Status positive_int_or(const char* key, int fallback, int* out) const {
    if (!has(key)) {
      *out = fallback;
      return Status::ok();
    }
    return positive_int_value(key, j_.at(key), out);
  }
  Status int64_or(const char* key, int64_t fallback, int64_t* out) const {
    if (!has(key)) {
      *out = fallback;
      return Status::ok();
    }
    const json& v = j_.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0)
      return invalid_argument("{}: field '{}': expected a positive integer, got {}", source_, key,
                              v.dump());
    *out = v.get<int64_t>();
    return Status::ok();
  }
  Status number_or(const char* key, double fallback, float* out) const {
    if (!has(key)) {
      *out = static_cast<float>(fallback);
      return Status::ok();
    }
    const json& v = j_.at(key);
    if (!v.is_number())
      return invalid_argument("{}: field '{}': expected a number, got {}", source_, key, v.dump());
    *out = v.get<float>();
    return Status::ok();
  }
  Status bool_or(const char* key, bool fallback, bool* out) const {
    if (!has(key)) {
      *out = fallback;
      return Status::ok();
    }
    const json& v = j_.at(key);
    if (!v.is_boolean())
      return invalid_argument("{}: field '{}': expected true or false, got {}", source_, key,
                              v.dump());
    *out = v.get<bool>();
    return Status::ok();
  }

 private:
  Status positive_int_value(const char* key, const json& v, int* out) const {
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 ||
        v.get<int64_t>() > std::numeric_limits<int>::max())
      return invalid_argument("{}: field '{}': expected a positive integer, got {}", source_, key,
                              v.dump());
    *out = static_cast<int>(v.get<int64_t>());
    return Status::ok();
  }
  const json& j_;
  const std::string& source_;
};

// Classic configs say "rope_scaling" (+ a top-level "rope_theta"); transformers 5 writes one
// "rope_parameters" object holding rope_theta and the scaling fields together.
Status parse_rope_scaling(const json& cfg, const std::string& src, ModelSpec* s) {
  const char* key = "rope_scaling";
  if ((!cfg.contains(key) || cfg.at(key).is_null()) && cfg.contains("rope_parameters"))
    key = "rope_parameters";
  if (!cfg.contains(key) || cfg.at(key).is_null()) return Status::ok();
  const json& rs = cfg.at(key);
  if (!rs.is_object())
    return invalid_argument("{}: field '{}': expected an object or null, got {}", src, key,
                            rs.dump());
  if (rs.contains("rope_theta")) {
    Fields theta(rs, src + " " + key);
    LK_RETURN_IF_ERROR(theta.number_or("rope_theta", s->rope_theta, &s->rope_theta));
  }
  // Newer configs say "rope_type", older ones "type".
  std::string type;
  for (const char* k : {"rope_type", "type"}) {
    if (rs.contains(k) && rs.at(k).is_string()) {
      type = rs.at(k).get<std::string>();
      break;
    }
  }
  if (type.empty()) return invalid_argument("{}: field '{}.rope_type' is missing", src, key);
  const std::string where = src + " " + key;
  Fields f(rs, where);
  if (type == "default") return Status::ok();
  if (type == "linear") {
    s->rope_scaling = RopeScaling::kLinear;
    if (!f.has("factor")) return invalid_argument("{}: field 'factor' is missing", where);
    LK_RETURN_IF_ERROR(f.number_or("factor", 1.0, &s->rope_factor));
  } else if (type == "llama3") {
    s->rope_scaling = RopeScaling::kLlama3;
    for (const char* k :
         {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      if (!f.has(k)) return invalid_argument("{}: field '{}' is missing", where, k);
    LK_RETURN_IF_ERROR(f.number_or("factor", 1.0, &s->rope_factor));
    LK_RETURN_IF_ERROR(f.number_or("low_freq_factor", 1.0, &s->rope_low_freq_factor));
    LK_RETURN_IF_ERROR(f.number_or("high_freq_factor", 4.0, &s->rope_high_freq_factor));
    LK_RETURN_IF_ERROR(
        f.int64_or("original_max_position_embeddings", 8192, &s->rope_original_context));
    if (!(s->rope_high_freq_factor > s->rope_low_freq_factor))
      return invalid_argument("{}: high_freq_factor ({}) must exceed low_freq_factor ({})", where,
                              s->rope_high_freq_factor, s->rope_low_freq_factor);
  } else if (type == "yarn" && s->arch == "deepseek2") {
    // DeepSeek-V2 ships with YaRN; longkv prices it (analyzer) but does not run it.
    s->rope_scaling = RopeScaling::kYarn;
    LK_RETURN_IF_ERROR(f.number_or("factor", 1.0, &s->rope_factor));
    LK_RETURN_IF_ERROR(
        f.int64_or("original_max_position_embeddings", 4096, &s->rope_original_context));
  } else {
    return unsupported("{}: rope_scaling type '{}' is not supported (supported: linear, llama3)",
                       src, type);
  }
  if (!(s->rope_factor > 0))
    return invalid_argument("{}: factor must be positive (got {})", where, s->rope_factor);
  return Status::ok();
}

}  // namespace

const char* hf_supported_model_types() {
  return "llama, mistral, qwen2, qwen3, mixtral, deepseek_v2";
}

Result<ModelSpec> model_spec_from_hf_config_text(const std::string& text,
                                                 const std::string& source) {
  const json cfg = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded()) return invalid_argument("{}: not valid JSON", source);
  if (!cfg.is_object()) return invalid_argument("{}: expected a JSON object", source);
  Fields f(cfg, source);
  if (!cfg.contains("model_type") || !cfg.at("model_type").is_string())
    return invalid_argument("{}: field 'model_type' is missing or not a string (supported: {})",
                            source, hf_supported_model_types());
  const std::string mt = cfg.at("model_type").get<std::string>();

  ModelSpec s;
  if (mt == "llama" || mt == "mistral" || mt == "qwen2" || mt == "qwen3" || mt == "mixtral") {
    s.arch = mt;
  } else if (mt == "deepseek_v2") {
    s.arch = "deepseek2";
  } else {
    return unsupported("{}: model_type '{}' is not supported (supported: {})", source, mt,
                       hf_supported_model_types());
  }
  if (cfg.contains("_name_or_path") && cfg.at("_name_or_path").is_string())
    s.name = cfg.at("_name_or_path").get<std::string>();

  LK_RETURN_IF_ERROR(f.positive_int("hidden_size", &s.d_model));
  LK_RETURN_IF_ERROR(f.positive_int("num_hidden_layers", &s.n_layers));
  LK_RETURN_IF_ERROR(f.positive_int("num_attention_heads", &s.n_heads));
  LK_RETURN_IF_ERROR(f.positive_int_or("num_key_value_heads", s.n_heads, &s.n_kv_heads));
  LK_RETURN_IF_ERROR(f.positive_int("vocab_size", &s.vocab_size));
  LK_RETURN_IF_ERROR(f.int64_or("max_position_embeddings", 2048, &s.max_context));
  LK_RETURN_IF_ERROR(f.number_or("rms_norm_eps", 1e-6, &s.rms_eps));
  LK_RETURN_IF_ERROR(f.number_or("rope_theta", 10000.0, &s.rope_theta));
  // transformers' default differs by model (LlamaConfig: false; Qwen2Config: false) — all of
  // ours default to untied.
  LK_RETURN_IF_ERROR(f.bool_or("tie_word_embeddings", false, &s.tied_embeddings));
  if (s.n_heads % s.n_kv_heads != 0)
    return invalid_argument(
        "{}: num_attention_heads ({}) is not a multiple of "
        "num_key_value_heads ({})",
        source, s.n_heads, s.n_kv_heads);

  if (s.arch == "deepseek2") {
    int nope = 0, v_dim = 0;
    LK_RETURN_IF_ERROR(f.positive_int("kv_lora_rank", &s.kv_lora_rank));
    LK_RETURN_IF_ERROR(f.positive_int("qk_rope_head_dim", &s.qk_rope_head_dim));
    LK_RETURN_IF_ERROR(f.positive_int("qk_nope_head_dim", &nope));
    LK_RETURN_IF_ERROR(f.positive_int_or("v_head_dim", nope, &v_dim));
    s.head_dim = nope + s.qk_rope_head_dim;
    int moe_ffn = 0;
    LK_RETURN_IF_ERROR(f.positive_int("intermediate_size", &s.ffn_dim));
    if (f.has("n_routed_experts")) {
      LK_RETURN_IF_ERROR(f.positive_int("n_routed_experts", &s.n_experts));
      LK_RETURN_IF_ERROR(f.positive_int("num_experts_per_tok", &s.n_experts_active));
      LK_RETURN_IF_ERROR(f.positive_int_or("n_shared_experts", 0, &s.n_shared_experts));
      LK_RETURN_IF_ERROR(f.positive_int("moe_intermediate_size", &moe_ffn));
      s.ffn_dim = moe_ffn;  // ModelSpec: per expert for MoE
    }
  } else {
    LK_RETURN_IF_ERROR(f.positive_int("intermediate_size", &s.ffn_dim));
    if (f.has("head_dim")) {
      LK_RETURN_IF_ERROR(f.positive_int("head_dim", &s.head_dim));
    } else {
      if (s.d_model % s.n_heads != 0)
        return invalid_argument(
            "{}: hidden_size ({}) is not a multiple of num_attention_heads "
            "({}) and no head_dim is given",
            source, s.d_model, s.n_heads);
      s.head_dim = s.d_model / s.n_heads;
    }
  }
  if (s.arch == "mixtral") {
    LK_RETURN_IF_ERROR(f.positive_int("num_local_experts", &s.n_experts));
    LK_RETURN_IF_ERROR(f.positive_int("num_experts_per_tok", &s.n_experts_active));
    if (s.n_experts_active > s.n_experts)
      return invalid_argument("{}: num_experts_per_tok ({}) exceeds num_local_experts ({})", source,
                              s.n_experts_active, s.n_experts);
  }
  if (s.arch == "qwen2") s.qkv_bias = true;
  if (s.arch == "qwen3") s.qk_norm = true;

  // Options that change the computation in ways ModelSpec cannot express are refused
  // rather than silently ignored.
  bool flag = false;
  if (s.arch == "llama" || s.arch == "mistral" || s.arch == "qwen3") {
    LK_RETURN_IF_ERROR(f.bool_or("attention_bias", false, &flag));
    if (flag)
      return unsupported("{}: attention_bias = true is not supported for model_type '{}'", source,
                         mt);
  }
  LK_RETURN_IF_ERROR(f.bool_or("mlp_bias", false, &flag));
  if (flag) return unsupported("{}: mlp_bias = true is not supported", source);
  if (cfg.contains("hidden_act") && cfg.at("hidden_act").is_string() &&
      cfg.at("hidden_act").get<std::string>() != "silu")
    return unsupported("{}: hidden_act '{}' is not supported (supported: silu)", source,
                       cfg.at("hidden_act").get<std::string>());
  if (s.arch == "mistral" || s.arch == "mixtral" ||
      ((s.arch == "qwen2" || s.arch == "qwen3") && cfg.value("use_sliding_window", false))) {
    int64_t window = 0;
    LK_RETURN_IF_ERROR(f.int64_or("sliding_window", 0, &window));
    if (window > 0 && window < s.max_context)
      return unsupported(
          "{}: sliding_window = {} (< max_position_embeddings {}) is not "
          "supported; longkv runs full attention",
          source, window, s.max_context);
  }
  LK_RETURN_IF_ERROR(parse_rope_scaling(cfg, source, &s));
  return s;
}

Result<ModelSpec> model_spec_from_hf_config_file(const std::string& path) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) p /= "config.json";
  std::ifstream in(p);
  if (!in) return not_found("{}: cannot read (no such file?)", p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto spec = model_spec_from_hf_config_text(ss.str(), p.string());
  if (spec.is_ok() && spec->name.empty()) {
    // Name the model after its folder ("Llama-3.1-8B/config.json" -> "Llama-3.1-8B"), or
    // after the file when it has its own name ("qwen3-8b.json" -> "qwen3-8b").
    const auto abs = std::filesystem::absolute(p, ec);
    const auto name = abs.filename() == "config.json" ? abs.parent_path().filename().string()
                                                      : abs.stem().string();
    spec->name = name.empty() ? "model" : name;
  }
  return spec;
}

}  // namespace lk
