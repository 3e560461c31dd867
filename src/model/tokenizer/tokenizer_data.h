// TokenizerData: everything a loader (llama2.c tokenizer.bin, HF tokenizer.json, GGUF
// tokenizer.ggml.*) reads, in one format-neutral description that Tokenizer::create turns
// into lookup tables. Loaders fill it; nothing here runs an algorithm.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lk {

enum class TokenizerKind {
  kSpm,      // SentencePiece-style: UTF-8 chars, "▁" for spaces, byte fallback
  kByteBpe,  // byte-level BPE (GPT-2 byte-to-unicode), regex pre-tokenizer
};

// Role of a token (GGUF tokenizer.ggml.token_type uses the same numbering, 1..6).
enum class TokenAttr : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // BOS/EOS/<|eot_id|>: never produced from text unless parse_special
  kUserDefined = 4,  // added tokens matched in text even for untrusted input (<think>)
  kUnused = 5,
  kByte = 6,  // <0xXX> byte-fallback pieces
};

// The regex rules that split text before byte-level BPE (llama.cpp's "pre" names).
enum class PreTokenizer {
  kNone,    // SPM: no split
  kGpt2,    // 's|'t|... ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kLlama3,  // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|...
  kQwen2,   // as llama3 but \p{N} one digit at a time
  kCustom,  // the regexes in `pre_regexes` (from a tokenizer.json Split pre-tokenizer)
};

// Where SentencePiece adds its dummy "▁" prefix.
enum class SpacePrefix {
  kNone,
  kFirst,          // only before the first text fragment (HF Metaspace prepend_scheme "first")
  kEveryFragment,  // before every text fragment between special tokens (llama.cpp; HF Prepend)
};

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = true;  // false: matched even when parse_special is off (HF special=false)
  bool lstrip = false;  // swallow whitespace on the left when matched
  bool rstrip = false;  // ... on the right
};

struct TokenizerData {
  TokenizerKind kind = TokenizerKind::kSpm;
  std::string source;  // "llama2c tokenizer.bin", "tokenizer.json", "gguf" (for messages)

  // Per token id: vocabulary string, role, SPM score (empty for byte-level / merges models).
  std::vector<std::string> pieces;
  std::vector<TokenAttr> attrs;
  std::vector<float> scores;

  // Ranked merges ("a", "b") -> a+b, rank = index. Empty for SPM-by-score.
  std::vector<std::pair<std::string, std::string>> merges;
  // HF "ignore_merges": a pre-token that is itself a vocabulary entry is emitted whole.
  bool ignore_merges = false;

  // SPM options.
  SpacePrefix space_prefix = SpacePrefix::kEveryFragment;
  // HF Metaspace: no dummy prefix when the fragment already starts with a space.
  bool no_prefix_before_space = false;
  bool byte_fallback = true;
  bool strip_leading_space_on_decode = true;  // drop the dummy prefix's space when decoding

  // Byte-level options.
  PreTokenizer pre = PreTokenizer::kNone;
  std::vector<std::string> pre_regexes;  // kCustom: applied in sequence (HF Split, Isolated)
  bool normalize_nfc = false;            // HF NFC normalizer (Qwen)

  std::vector<AddedToken> added;  // split out of the text before the model runs

  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  bool add_bos = true;
  std::vector<int32_t> eog_ids;  // EOS plus chat end markers; filled by create() if empty

  std::string chat_template;  // Jinja source from tokenizer_config.json / GGUF, may be empty
};

}  // namespace lk
