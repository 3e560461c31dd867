#include "model/hf_to_gguf.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/gguf_spec.h"
#include "model/gguf_writer.h"
#include "model/qk_permute.h"
#include "model/quant.h"
#include "model/synth.h"
#include "model/tokenizer/loaders.h"

namespace lk {

namespace {

// llama.cpp's general.file_type for the matrix types convert writes.
Result<uint32_t> file_type_for(DType t) {
  switch (t) {
    case DType::kF32:
      return 0u;
    case DType::kF16:
      return 1u;
    case DType::kQ4_0:
      return 2u;
    case DType::kQ8_0:
      return 7u;
    case DType::kBF16:
      return 32u;
    default:
      return invalid_argument(
          "--dtype {} is not a convert output type (valid: f32, f16, bf16, "
          "q8_0, q4_0)",
          dtype_name(t));
  }
}

Result<const char*> gguf_pre_name(const TokenizerData& d, const std::string& name) {
  if (d.kind != TokenizerKind::kByteBpe)
    return unsupported(
        "{}: only byte-level BPE tokenizers convert to GGUF (this one is "
        "SentencePiece-style)",
        name);
  switch (d.pre) {
    case PreTokenizer::kGpt2:
      return "gpt-2";
    case PreTokenizer::kLlama3:
      return "llama-bpe";
    case PreTokenizer::kQwen2:
      return "qwen2";
    default:
      return unsupported(
          "{}: the pre-tokenizer regexes match none of GGUF's named ones (valid: "
          "gpt-2, llama-bpe, qwen2)",
          name);
  }
}

Status write_tokenizer(const TokenizerData& d, const std::string& name, int pad_id, GgufWriter* w) {
  LK_ASSIGN_OR_RETURN(const char* pre, gguf_pre_name(d, name));
  w->set_str("tokenizer.ggml.model", "gpt2");
  w->set_str("tokenizer.ggml.pre", pre);
  w->set_str_arr("tokenizer.ggml.tokens", d.pieces);
  std::vector<int32_t> types;
  types.reserve(d.attrs.size());
  for (TokenAttr a : d.attrs) types.push_back(static_cast<int32_t>(a));
  w->set_i32_arr("tokenizer.ggml.token_type", types);
  std::vector<std::string> merges;
  merges.reserve(d.merges.size());
  for (const auto& [a, b] : d.merges) merges.push_back(a + " " + b);
  w->set_str_arr("tokenizer.ggml.merges", merges);
  if (d.bos_id >= 0) w->set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(d.bos_id));
  if (d.eos_id >= 0) w->set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(d.eos_id));
  if (d.unk_id >= 0) w->set_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(d.unk_id));
  if (pad_id >= 0) w->set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(pad_id));
  w->set_bool("tokenizer.ggml.add_bos_token", d.add_bos);
  w->set_bool("tokenizer.ggml.add_eos_token", false);
  // GGUF readers assume Llama 3's ignore_merges for "llama-bpe"; a tokenizer trained
  // without it must say so or long pre-tokens could be split differently.
  if (d.ignore_merges != (d.pre == PreTokenizer::kLlama3))
    w->set_bool("tokenizer.ggml.ignore_merges", d.ignore_merges);
  if (!d.chat_template.empty()) w->set_str("tokenizer.chat_template", d.chat_template);
  return Status::ok();
}

// config.json fields convert needs beyond ModelSpec: pad_token_id, and a refusal of dms_*.
Result<int> read_config_extras(const std::filesystem::path& config) {
  std::ifstream f(config, std::ios::binary);
  if (!f) return not_found("{}: cannot open", config.string());
  std::stringstream ss;
  ss << f.rdbuf();
  int pad = -1;
  try {
    const auto j = nlohmann::json::parse(ss.str());
    for (const auto& [k, v] : j.items())
      if (k.rfind("dms_", 0) == 0)
        return unsupported(
            "{}: '{}' marks a DMS checkpoint; GGUF has no dms_* convention, so DMS models are "
            "used as Hugging Face folders (longkv reads the folder directly)",
            config.string(), k);
    if (j.contains("pad_token_id") && j["pad_token_id"].is_number_integer())
      pad = j["pad_token_id"].get<int>();
  } catch (const nlohmann::json::exception& e) {
    return corrupt("{}: invalid JSON: {}", config.string(), e.what());
  }
  return pad;
}

}  // namespace

Result<HfToGgufReport> convert_hf_to_gguf(const std::string& hf_path, const std::string& out_path,
                                          const HfToGgufOptions& opt) {
  LK_ASSIGN_OR_RETURN(const uint32_t file_type, file_type_for(opt.dtype));
  LK_ASSIGN_OR_RETURN(auto ck, Checkpoint::open(hf_path));
  if (ck->format() != CheckpointFormat::kSafetensors)
    return invalid_argument(
        "{}: convert reads a Hugging Face folder (config.json + "
        "safetensors), not a {} file",
        hf_path, checkpoint_format_name(ck->format()));
  ModelSpec spec = ck->spec();
  const std::filesystem::path dir(ck->dir());
  LK_ASSIGN_OR_RETURN(const int pad_id, read_config_extras(dir / "config.json"));
  LK_ASSIGN_OR_RETURN(TokenizerData tok, read_hf_tokenizer(ck->dir()));
  if (static_cast<int64_t>(tok.pieces.size()) > spec.vocab_size)
    return invalid_argument("{}: tokenizer has {} tokens but config.json vocab_size is {}",
                            (dir / "tokenizer.json").string(), tok.pieces.size(), spec.vocab_size);
  LK_ASSIGN_OR_RETURN(auto tensors, synth_tensors(spec));  // HF <-> GGUF names and shapes

  // Every tensor of the architecture must be present with its shape, and nothing else.
  std::vector<const TensorView*> src;
  std::set<std::string> used;
  for (const auto& t : tensors) {
    const TensorView* v = ck->find(t.hf_name);
    if (v == nullptr)
      return invalid_argument("{}: tensor '{}' is missing (expected for {} with {} layers)",
                              hf_path, t.hf_name, spec.arch, spec.n_layers);
    std::vector<int64_t> ne(t.shape.rbegin(), t.shape.rend());
    for (size_t k = 0; k < 4; ++k) {
      const int64_t want = k < ne.size() ? ne[k] : 1;
      if (v->ne[k] != want || v->n_dims != static_cast<int>(ne.size()))
        return invalid_argument(
            "{}: tensor '{}' has shape [{}] but config.json implies [{}]", hf_path, t.hf_name,
            fmt::join(std::vector<int64_t>(v->ne.rbegin() + (4 - v->n_dims), v->ne.rend()), ", "),
            fmt::join(t.shape, ", "));
    }
    if (v->dtype != DType::kF32 && v->dtype != DType::kF16 && v->dtype != DType::kBF16)
      return unsupported("{}: tensor '{}' is {} (valid: f32, f16, bf16)", hf_path, t.hf_name,
                         dtype_name(v->dtype));
    src.push_back(v);
    used.insert(t.hf_name);
  }
  for (const auto& v : ck->tensors())
    if (!used.count(v.name) && !(spec.tied_embeddings && v.name == "lm_head.weight"))
      return unsupported("{}: tensor '{}' has no GGUF counterpart for {}", hf_path, v.name,
                         spec.arch);
  const auto out_dtype = [&](const SynthTensor& t) {
    return t.shape.size() == 1 ? DType::kF32 : opt.dtype;
  };
  for (const auto& t : tensors)
    if (t.row_len() % dtype_block_elems(out_dtype(t)) != 0)
      return invalid_argument(
          "--dtype {} needs rows that are multiples of {}, but '{}' has rows "
          "of {} (valid here: f32, f16, bf16)",
          dtype_name(opt.dtype), dtype_block_elems(opt.dtype), t.hf_name, t.row_len());

  GgufWriter w;
  spec.name = opt.name.empty() ? dir.filename().string() : opt.name;
  LK_RETURN_IF_ERROR(model_spec_to_gguf(spec, &w));
  w.set_u32("general.file_type", file_type);
  w.set_str("general.description", "converted by longkv convert from a Hugging Face folder");
  LK_RETURN_IF_ERROR(write_tokenizer(tok, (dir / "tokenizer.json").string(), pad_id, &w));
  std::vector<float> rope;
  if (spec.rope_scaling == RopeScaling::kLlama3) {
    rope = llama3_rope_factors(spec);
    LK_RETURN_IF_ERROR(w.add_tensor("rope_freqs.weight", DType::kF32,
                                    {static_cast<int64_t>(rope.size())}, rope.data(),
                                    rope.size() * sizeof(float)));
  }
  const size_t first = w.n_tensors();
  HfToGgufReport rep;
  for (const auto& t : tensors) {
    std::vector<int64_t> ne(t.shape.rbegin(), t.shape.rend());  // ggml order
    LK_RETURN_IF_ERROR(w.declare_tensor(t.gguf_name, out_dtype(t), ne));
    rep.n_params += t.rows() * t.row_len();
  }
  rep.n_tensors = static_cast<int>(tensors.size());
  LK_RETURN_IF_ERROR(w.write_file(out_path, [&](size_t i, const GgufWriter::ByteSink& sink) {
    if (i < first) return sink(rope.data(), rope.size() * sizeof(float));
    const SynthTensor& t = tensors[i - first];
    const TensorView& v = *src[i - first];
    const DType dt = out_dtype(t);
    const int64_t len = t.row_len();
    std::vector<float> row(static_cast<size_t>(len));
    std::vector<uint8_t> out(static_cast<size_t>(dtype_row_bytes(dt, len)));
    for (int64_t r = 0; r < t.rows(); ++r) {
      // GGUF row r of a permuted Q/K matrix comes from HF row qk_gguf_row_to_hf(r).
      const int64_t hf_row = t.gguf_permute_qk ? qk_gguf_row_to_hf(r, spec.head_dim) : r;
      dequantize_row(v.dtype, v.row(hf_row), row.data(), len);
      quantize_row(dt, row.data(), out.data(), len);
      LK_RETURN_IF_ERROR(sink(out.data(), out.size()));
    }
    return Status::ok();
  }));
  std::error_code ec;
  rep.bytes = std::filesystem::file_size(out_path, ec);
  return rep;
}

}  // namespace lk
