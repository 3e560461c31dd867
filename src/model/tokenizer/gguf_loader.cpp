// GGUF tokenizer.ggml.* metadata (llama.cpp's convention):
//   model          "llama" (SentencePiece: tokens + scores + token_type, <0xXX> byte pieces)
//                  | "gpt2" (byte-level BPE: tokens + merges "a b" + token_type)
//   pre            byte-level pre-tokenizer: "gpt-2", "llama-bpe"/"llama3", "qwen2", "default"
//   bos/eos/unknown_token_id, add_bos_token, chat_template
//   ignore_merges  (optional, longkv convert) HF BPE ignore_merges; default: pre == llama-bpe
// Control (3), unknown (2) and user-defined (4) tokens are split out of text like HF added
// tokens (user-defined ones even from untrusted text).
#include "model/tokenizer/loaders.h"

#include "model/gguf_reader.h"

namespace lk {

namespace {

Result<TokenizerData> from_gguf(const GgufFile& g, const std::string& name) {
  TokenizerData d;
  d.source = "gguf";
  LK_ASSIGN_OR_RETURN(const std::string model, g.get_str("tokenizer.ggml.model"));
  LK_ASSIGN_OR_RETURN(d.pieces, g.get_str_arr("tokenizer.ggml.tokens"));
  const size_t n = d.pieces.size();
  if (n == 0) return corrupt("{}: tokenizer.ggml.tokens is empty", name);
  if (g.has("tokenizer.ggml.token_type")) {
    LK_ASSIGN_OR_RETURN(const std::vector<int32_t> types,
                        g.get_i32_arr("tokenizer.ggml.token_type"));
    if (types.size() != n)
      return corrupt("{}: tokenizer.ggml.token_type has {} entries for {} tokens", name,
                     types.size(), n);
    d.attrs.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 1 || types[i] > 6)
        return corrupt("{}: tokenizer.ggml.token_type[{}] = {} (valid: 1..6)", name, i, types[i]);
      d.attrs[i] = static_cast<TokenAttr>(types[i]);
    }
  } else {
    d.attrs.assign(n, TokenAttr::kNormal);
  }
  LK_ASSIGN_OR_RETURN(const std::string pre, g.get_str_or("tokenizer.ggml.pre", "default"));
  if (model == "llama") {
    d.kind = TokenizerKind::kSpm;
    LK_ASSIGN_OR_RETURN(d.scores, g.get_f32_arr("tokenizer.ggml.scores"));
    if (d.scores.size() != n)
      return corrupt("{}: tokenizer.ggml.scores has {} entries for {} tokens", name,
                     d.scores.size(), n);
    d.space_prefix = SpacePrefix::kEveryFragment;
    d.byte_fallback = true;
    LK_ASSIGN_OR_RETURN(const bool space_prefix,
                        g.get_bool_or("tokenizer.ggml.add_space_prefix", true));
    if (!space_prefix) d.space_prefix = SpacePrefix::kNone;
  } else if (model == "gpt2") {
    d.kind = TokenizerKind::kByteBpe;
    LK_ASSIGN_OR_RETURN(const std::vector<std::string> merges,
                        g.get_str_arr("tokenizer.ggml.merges"));
    d.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const size_t sp = merges[i].find(' ', 1);
      if (sp == std::string::npos)
        return corrupt("{}: tokenizer.ggml.merges[{}] '{}' has no space", name, i, merges[i]);
      d.merges.emplace_back(merges[i].substr(0, sp), merges[i].substr(sp + 1));
    }
    if (pre == "gpt-2" || pre == "default")
      d.pre = PreTokenizer::kGpt2;
    else if (pre == "llama-bpe" || pre == "llama3")
      d.pre = PreTokenizer::kLlama3;
    else if (pre == "qwen2")
      d.pre = PreTokenizer::kQwen2;
    else
      return unsupported(
          "{}: tokenizer.ggml.pre '{}' is not supported (valid: gpt-2, default, "
          "llama-bpe, llama3, qwen2)",
          name, pre);
    // Llama 3's tokenizer.json sets ignore_merges; `longkv convert` writes the key when a
    // tokenizer differs from that default (e.g. a BPE trained with the Llama 3 regex).
    LK_ASSIGN_OR_RETURN(d.ignore_merges, g.get_bool_or("tokenizer.ggml.ignore_merges",
                                                       d.pre == PreTokenizer::kLlama3));
  } else {
    return unsupported("{}: tokenizer.ggml.model '{}' is not supported (valid: llama, gpt2)", name,
                       model);
  }
  const auto id_or = [&](const char* key, int32_t fallback) -> Result<int32_t> {
    if (!g.has(key)) return fallback;
    LK_ASSIGN_OR_RETURN(const uint32_t v, g.get_u32(key));
    if (v == UINT32_MAX) return -1;  // llama.cpp writes -1 as "none"
    if (v >= n) return corrupt("{}: {} = {} is not a token id (< {})", name, key, v, n);
    return static_cast<int32_t>(v);
  };
  const bool spm = d.kind == TokenizerKind::kSpm;
  LK_ASSIGN_OR_RETURN(d.bos_id, id_or("tokenizer.ggml.bos_token_id", spm ? 1 : -1));
  LK_ASSIGN_OR_RETURN(d.eos_id, id_or("tokenizer.ggml.eos_token_id", spm ? 2 : -1));
  LK_ASSIGN_OR_RETURN(d.unk_id, id_or("tokenizer.ggml.unknown_token_id", -1));
  // Without the key: SentencePiece vocabularies and Llama 3 start with BOS (llama.cpp's
  // defaults), GPT-2-style ones do not.
  LK_ASSIGN_OR_RETURN(d.add_bos, g.get_bool_or("tokenizer.ggml.add_bos_token",
                                               spm || d.pre == PreTokenizer::kLlama3));
  LK_ASSIGN_OR_RETURN(d.chat_template, g.get_str_or("tokenizer.chat_template", ""));
  for (size_t i = 0; i < n; ++i) {
    const TokenAttr a = d.attrs[i];
    // <unk> is split out too, as llama.cpp and HF (a special added token) do.
    if ((a == TokenAttr::kControl || a == TokenAttr::kUserDefined || a == TokenAttr::kUnknown) &&
        !d.pieces[i].empty()) {
      AddedToken t;
      t.content = d.pieces[i];
      t.id = static_cast<int32_t>(i);
      t.special = a != TokenAttr::kUserDefined;
      d.added.push_back(std::move(t));
    }
  }
  return d;
}

}  // namespace

Result<TokenizerData> read_gguf_tokenizer(const std::string& path) {
  auto g = GgufFile::open(path, GgufOpenOptions{.header_only = true});
  if (!g) return g.status();
  return from_gguf(*g.value(), path);
}

}  // namespace lk
