// Readers that turn a tokenizer file into TokenizerData (tokenizer_data.h).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "model/tokenizer/tokenizer_data.h"

namespace lk {

// llama2.c's tokenizer.bin: int32 max_token_length, then per token float32 score,
// int32 length, bytes. Spaces are stored as ' ' (not "▁"), BOS/EOS as "\n<s>\n"/"\n</s>\n".
Result<TokenizerData> read_llama2c_tokenizer(const std::string& path);
Result<TokenizerData> parse_llama2c_tokenizer(std::string_view bytes, const std::string& name);

// Hugging Face tokenizer.json (model "BPE": byte-level with a ByteLevel pre-tokenizer, or
// SentencePiece-style with byte_fallback and a Metaspace/Prepend+Replace normalizer).
// tokenizer_config.json beside it, when present, supplies add_bos_token and chat_template.
Result<TokenizerData> read_hf_tokenizer(const std::string& path_or_dir);
Result<TokenizerData> parse_hf_tokenizer_json(std::string_view json, const std::string& name);
// Applies tokenizer_config.json fields (add_bos_token, bos/eos names, chat_template).
Status apply_hf_tokenizer_config(std::string_view json, const std::string& name,
                                 TokenizerData& data);

}  // namespace lk

namespace lk {
// GGUF tokenizer.ggml.* metadata: model "llama" (SentencePiece: tokens, scores, token_type)
// or "gpt2" (byte-level BPE: tokens, merges, pre), plus bos/eos/add_bos and chat_template.
Result<TokenizerData> read_gguf_tokenizer(const std::string& path);
}  // namespace lk
