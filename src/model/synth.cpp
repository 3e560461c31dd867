#include "model/synth.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/parallel.h"
#include "model/gguf_spec.h"
#include "model/gguf_writer.h"
#include "model/qk_permute.h"
#include "model/quant.h"
#include "model/safetensors_writer.h"
#include "model/synth_vocab.h"

namespace lk {

namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

SynthTokenizerStyle style_for(const ModelSpec& s) {
  return (s.arch == "qwen2" || s.arch == "qwen3") ? SynthTokenizerStyle::kQwen2
                                                  : SynthTokenizerStyle::kLlama3;
}

// A float printed in its shortest form, as a JSON number ("1e-05", not 9.99999974e-06).
double clean(float f) {
  return std::stod(fmt::format("{}", f));
}

Status check_spec(const ModelSpec& s) {
  if (s.arch != "llama" && s.arch != "mistral" && s.arch != "qwen2" && s.arch != "qwen3")
    return unsupported(
        "synth: arch '{}' is not supported (supported: llama, mistral, qwen2, "
        "qwen3; dense models only)",
        s.arch);
  if (s.is_moe() || s.is_mla())
    return unsupported("synth: mixture-of-experts and MLA models are not supported");
  if (s.n_layers <= 0 || s.d_model <= 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.head_dim <= 0 ||
      s.ffn_dim <= 0 || s.vocab_size <= 0 || s.max_context <= 0)
    return invalid_argument(
        "synth: model sizes must be positive (layers {}, d_model {}, heads "
        "{}/{}, head_dim {}, ffn {}, vocab {}, ctx {})",
        s.n_layers, s.d_model, s.n_heads, s.n_kv_heads, s.head_dim, s.ffn_dim, s.vocab_size,
        s.max_context);
  if (s.n_heads % s.n_kv_heads != 0)
    return invalid_argument("synth: n_heads {} is not a multiple of n_kv_heads {}", s.n_heads,
                            s.n_kv_heads);
  if (s.head_dim % 2 != 0) return invalid_argument("synth: head_dim {} must be even", s.head_dim);
  if (s.rope_scaling == RopeScaling::kYarn)
    return unsupported("synth: YaRN RoPE scaling is not supported");
  return Status::ok();
}

// Storage type of tensor t in a GGUF of matrix dtype `dt`.
DType gguf_dtype(const SynthTensor& t, DType dt) {
  return t.shape.size() == 1 ? DType::kF32 : dt;
}

// Streams tensor t in `dt` (rows in `order`: HF rows, or GGUF-permuted), in chunks.
Status stream_tensor(const SynthTensor& t, uint64_t seed, DType dt, bool gguf_order, int head_dim,
                     const std::function<Status(const void*, size_t)>& sink) {
  const int64_t rows = t.rows(), len = t.row_len();
  const int64_t row_bytes = dtype_row_bytes(dt, len);
  const int64_t chunk_rows = std::max<int64_t>(1, (16 << 20) / std::max<int64_t>(row_bytes, 1));
  std::vector<uint8_t> buf;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - r0);
    buf.resize(static_cast<size_t>(n * row_bytes));
    parallel_for(
        n,
        [&](int64_t b, int64_t e) {
          std::vector<float> tmp(static_cast<size_t>(len));
          for (int64_t k = b; k < e; ++k) {
            int64_t r = r0 + k;
            if (gguf_order && t.gguf_permute_qk) r = qk_gguf_row_to_hf(r, head_dim);
            synth_row(t, seed, r, tmp.data());
            quantize_row(dt, tmp.data(), buf.data() + k * row_bytes, len);
          }
        },
        std::max<int64_t>(1, 4096 / std::max<int64_t>(len / 256, 1)));
    LK_RETURN_IF_ERROR(sink(buf.data(), buf.size()));
  }
  return Status::ok();
}

Status write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  f.close();
  if (!f) return io_error("{}: write failed", p.string());
  return Status::ok();
}

}  // namespace

Result<std::vector<SynthTensor>> synth_tensors(const ModelSpec& s) {
  LK_RETURN_IF_ERROR(check_spec(s));
  const int64_t d = s.d_model, q = static_cast<int64_t>(s.n_heads) * s.head_dim,
                kv = static_cast<int64_t>(s.n_kv_heads) * s.head_dim, f = s.ffn_dim,
                v = s.vocab_size, hd = s.head_dim;
  const bool permute = s.arch == "llama" || s.arch == "mistral";
  std::vector<SynthTensor> out;
  out.push_back({"model.embed_tokens.weight", "token_embd.weight", {v, d}, SynthInit::kMatrix});
  for (int l = 0; l < s.n_layers; ++l) {
    const std::string h = fmt::format("model.layers.{}.", l), g = fmt::format("blk.{}.", l);
    out.push_back({h + "input_layernorm.weight", g + "attn_norm.weight", {d}, SynthInit::kNorm});
    out.push_back(
        {h + "self_attn.q_proj.weight", g + "attn_q.weight", {q, d}, SynthInit::kMatrix, permute});
    out.push_back(
        {h + "self_attn.k_proj.weight", g + "attn_k.weight", {kv, d}, SynthInit::kMatrix, permute});
    out.push_back(
        {h + "self_attn.v_proj.weight", g + "attn_v.weight", {kv, d}, SynthInit::kMatrix});
    if (s.qkv_bias) {
      out.push_back({h + "self_attn.q_proj.bias", g + "attn_q.bias", {q}, SynthInit::kBias});
      out.push_back({h + "self_attn.k_proj.bias", g + "attn_k.bias", {kv}, SynthInit::kBias});
      out.push_back({h + "self_attn.v_proj.bias", g + "attn_v.bias", {kv}, SynthInit::kBias});
    }
    if (s.qk_norm) {
      out.push_back(
          {h + "self_attn.q_norm.weight", g + "attn_q_norm.weight", {hd}, SynthInit::kNorm});
      out.push_back(
          {h + "self_attn.k_norm.weight", g + "attn_k_norm.weight", {hd}, SynthInit::kNorm});
    }
    out.push_back(
        {h + "self_attn.o_proj.weight", g + "attn_output.weight", {d, q}, SynthInit::kMatrix});
    out.push_back(
        {h + "post_attention_layernorm.weight", g + "ffn_norm.weight", {d}, SynthInit::kNorm});
    out.push_back({h + "mlp.gate_proj.weight", g + "ffn_gate.weight", {f, d}, SynthInit::kMatrix});
    out.push_back({h + "mlp.up_proj.weight", g + "ffn_up.weight", {f, d}, SynthInit::kMatrix});
    out.push_back({h + "mlp.down_proj.weight", g + "ffn_down.weight", {d, f}, SynthInit::kMatrix});
  }
  out.push_back({"model.norm.weight", "output_norm.weight", {d}, SynthInit::kNorm});
  if (!s.tied_embeddings)
    out.push_back({"lm_head.weight", "output.weight", {v, d}, SynthInit::kMatrix});
  return out;
}

void synth_row(const SynthTensor& t, uint64_t seed, int64_t row, float* out) {
  uint64_t st = seed * 0x9e3779b97f4a7c15ull ^ fnv1a(t.hf_name);
  st = splitmix64(st) + static_cast<uint64_t>(row) * 0xd1b54a32d192ed03ull;
  const int64_t n = t.row_len();
  const float scale = t.init == SynthInit::kMatrix ? 1.0f / std::sqrt(static_cast<float>(n))
                      : t.init == SynthInit::kNorm ? 0.05f
                                                   : 0.1f;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t x = splitmix64(st);
    // Irwin–Hall: the sum of four 16-bit uniforms, centred and scaled to unit variance.
    const int32_t sum = static_cast<int32_t>(x & 0xffff) +
                        static_cast<int32_t>((x >> 16) & 0xffff) +
                        static_cast<int32_t>((x >> 32) & 0xffff) + static_cast<int32_t>(x >> 48);
    const float z = static_cast<float>(sum - 2 * 65535) * (1.7320508f / 65536.0f);
    float v = z * scale;
    if (t.init == SynthInit::kNorm) v = std::round((1.0f + v) * 128.0f) / 128.0f;
    if (t.init == SynthInit::kBias) v = std::round(std::clamp(v, -0.49f, 0.49f) * 256.0f) / 256.0f;
    out[i] = v;
  }
}

std::vector<float> llama3_rope_factors(const ModelSpec& s) {
  std::vector<float> r;
  const double orig = static_cast<double>(s.rope_original_context);
  const double low_wl = orig / s.rope_low_freq_factor, high_wl = orig / s.rope_high_freq_factor;
  for (int i = 0; i < s.head_dim / 2; ++i) {
    const double freq = 1.0 / std::pow(static_cast<double>(s.rope_theta), 2.0 * i / s.head_dim);
    const double wl = 2 * M_PI / freq;
    if (wl < high_wl) {
      r.push_back(1.0f);
    } else if (wl > low_wl) {
      r.push_back(s.rope_factor);
    } else {
      const double smooth =
          (orig / wl - s.rope_low_freq_factor) / (s.rope_high_freq_factor - s.rope_low_freq_factor);
      r.push_back(static_cast<float>(1.0 / ((1 - smooth) / s.rope_factor + smooth)));
    }
  }
  return r;
}

Status synth_write_gguf(const ModelSpec& spec, const SynthOptions& opt, const std::string& path) {
  LK_ASSIGN_OR_RETURN(auto tensors, synth_tensors(spec));
  for (const auto& t : tensors) {
    const DType dt = gguf_dtype(t, opt.dtype);
    if (t.row_len() % dtype_block_elems(dt) != 0)
      return invalid_argument(
          "synth: --dtype {} needs rows that are multiples of {}, but tensor "
          "'{}' has rows of {} (try f16, bf16, q8_0 or q4_0, or another "
          "model)",
          dtype_name(dt), dtype_block_elems(dt), t.gguf_name, t.row_len());
  }
  GgufWriter w;
  LK_RETURN_IF_ERROR(model_spec_to_gguf(spec, &w));
  w.set_u32("general.file_type", 0);
  w.set_str("general.description", fmt::format("longkv synth: random weights, seed {}, dtype {}",
                                               opt.seed, dtype_name(opt.dtype)));
  w.set_u64("longkv.synth.seed", opt.seed);
  LK_ASSIGN_OR_RETURN(SynthVocab vocab, synth_vocab_make(spec.vocab_size, style_for(spec)));
  synth_vocab_to_gguf(vocab, &w);
  std::vector<float> rope;
  if (spec.rope_scaling == RopeScaling::kLlama3) {
    rope = llama3_rope_factors(spec);
    LK_RETURN_IF_ERROR(w.add_tensor("rope_freqs.weight", DType::kF32,
                                    {static_cast<int64_t>(rope.size())}, rope.data(),
                                    rope.size() * sizeof(float)));
  }
  const size_t first = w.n_tensors();
  for (const auto& t : tensors) {
    std::vector<int64_t> ne(t.shape.rbegin(), t.shape.rend());  // ggml order
    LK_RETURN_IF_ERROR(w.declare_tensor(t.gguf_name, gguf_dtype(t, opt.dtype), ne));
  }
  return w.write_file(path, [&](size_t i, const GgufWriter::ByteSink& sink) -> Status {
    if (i < first) return sink(rope.data(), rope.size() * sizeof(float));
    const SynthTensor& t = tensors[i - first];
    return stream_tensor(t, opt.seed, gguf_dtype(t, opt.dtype), true, spec.head_dim, sink);
  });
}

std::string synth_hf_config_json(const ModelSpec& s, DType dtype, int bos_id, int eos_id) {
  using json = nlohmann::ordered_json;
  static const std::map<std::string, std::string> kClass = {{"llama", "LlamaForCausalLM"},
                                                            {"mistral", "MistralForCausalLM"},
                                                            {"qwen2", "Qwen2ForCausalLM"},
                                                            {"qwen3", "Qwen3ForCausalLM"}};
  json j = {{"architectures", {kClass.at(s.arch)}},
            {"model_type", s.arch},
            {"hidden_size", s.d_model},
            {"intermediate_size", s.ffn_dim},
            {"num_hidden_layers", s.n_layers},
            {"num_attention_heads", s.n_heads},
            {"num_key_value_heads", s.n_kv_heads},
            {"head_dim", s.head_dim},
            {"vocab_size", s.vocab_size},
            {"max_position_embeddings", s.max_context},
            {"rms_norm_eps", clean(s.rms_eps)},
            {"rope_theta", clean(s.rope_theta)},
            {"hidden_act", "silu"},
            {"tie_word_embeddings", s.tied_embeddings},
            {"torch_dtype", dtype == DType::kF32   ? "float32"
                            : dtype == DType::kF16 ? "float16"
                                                   : "bfloat16"},
            {"eos_token_id", eos_id}};
  if (bos_id >= 0) j["bos_token_id"] = bos_id;
  if (s.arch == "llama" || s.arch == "qwen3") j["attention_bias"] = false;
  if (s.arch == "llama") j["mlp_bias"] = false;
  if (s.arch == "mistral") j["sliding_window"] = nullptr;
  if (s.arch == "qwen2" || s.arch == "qwen3") {
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
  }
  if (s.rope_scaling == RopeScaling::kLlama3) {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", clean(s.rope_factor)},
                         {"low_freq_factor", clean(s.rope_low_freq_factor)},
                         {"high_freq_factor", clean(s.rope_high_freq_factor)},
                         {"original_max_position_embeddings", s.rope_original_context}};
  } else if (s.rope_scaling == RopeScaling::kLinear) {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", clean(s.rope_factor)}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  return j.dump(2);
}

Status synth_write_hf(const ModelSpec& spec, const SynthOptions& opt, const std::string& dir) {
  if (opt.dtype != DType::kF32 && opt.dtype != DType::kF16 && opt.dtype != DType::kBF16)
    return invalid_argument(
        "synth: a Hugging Face folder stores f32, f16 or bf16 (got --dtype "
        "{}); write a .gguf file for quantized types",
        dtype_name(opt.dtype));
  LK_ASSIGN_OR_RETURN(auto tensors, synth_tensors(spec));
  LK_ASSIGN_OR_RETURN(SynthVocab vocab, synth_vocab_make(spec.vocab_size, style_for(spec)));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("{}: cannot create folder: {}", dir, ec.message());
  const std::filesystem::path d(dir);
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.set_metadata("longkv.synth.seed", std::to_string(opt.seed));
  for (const auto& t : tensors) LK_RETURN_IF_ERROR(w.declare_tensor(t.hf_name, opt.dtype, t.shape));
  LK_RETURN_IF_ERROR(w.write_file(
      (d / "model.safetensors").string(), [&](size_t i, const SafetensorsWriter::ByteSink& sink) {
        return stream_tensor(tensors[i], opt.seed, opt.dtype, false, spec.head_dim, sink);
      }));
  LK_RETURN_IF_ERROR(write_text(d / "config.json",
                                synth_hf_config_json(spec, opt.dtype, vocab.bos_id, vocab.eos_id)));
  LK_RETURN_IF_ERROR(write_text(d / "tokenizer.json", synth_vocab_tokenizer_json(vocab)));
  LK_RETURN_IF_ERROR(write_text(d / "tokenizer_config.json",
                                synth_vocab_tokenizer_config_json(vocab, spec.max_context)));
  nlohmann::ordered_json gen = {{"eos_token_id", vocab.eos_id}};
  if (vocab.bos_id >= 0) gen["bos_token_id"] = vocab.bos_id;
  return write_text(d / "generation_config.json", gen.dump(2));
}

}  // namespace lk
