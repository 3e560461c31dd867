// Tokenizer: text <-> token ids for the two families longkv runs.
//  - kSpm: SentencePiece-style BPE over UTF-8 characters (Llama 2, llama2.c, Mistral):
//    spaces become U+2581 "▁", a dummy "▁" prefix, merges chosen by piece score (or by a
//    merges list when one is given), unknown characters fall back to <0xXX> byte pieces.
//  - kByteBpe: byte-level BPE (GPT-2, Llama 3, Qwen): a regex pre-tokenizer splits the text,
//    each piece's bytes are mapped to printable code points, ranked merges apply per piece.
// Both first split the text on added/special tokens ("<|eot_id|>", "<think>") as HF does.
// A Tokenizer is immutable after loading and safe to share across threads (encode/decode
// are const); the per-word cache of byte-level BPE is guarded by a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/tokenizer/tokenizer_data.h"

namespace lk {

class TokenizerImpl;

struct EncodeOptions {
  bool add_bos = true;        // prepend BOS when the vocabulary asks for it (add_bos_token)
  bool parse_special = true;  // false: special tokens in `text` are plain text (untrusted input)
};

class Tokenizer {
 public:
  // Takes the loaded description; validates it (ids in range, merges refer to known pieces).
  static Result<std::shared_ptr<const Tokenizer>> create(TokenizerData data);
  ~Tokenizer();

  // Token ids of `text` (any bytes; invalid UTF-8 is tokenized through byte fallback or
  // byte-level pieces, never rejected).
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opts = {}) const;
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const {
    return encode(text, EncodeOptions{add_bos, true});
  }

  // Bytes of one token as it appears in text: "▁the" -> " the", "<0x0A>" -> "\n", byte-level
  // "Ġthe" -> " the". Control tokens (BOS, EOS, <|eot_id|>) give "" unless render_special.
  // A byte piece may be a fragment of a UTF-8 character: join pieces before printing, or use
  // TokenStreamDecoder. No leading-space stripping here (see decode()).
  std::string token_to_piece(int32_t id, bool render_special = false) const;

  // Text of a sequence: the pieces joined, with SentencePiece's leading dummy space removed
  // from the first text token (as HF's Strip decoder and llama.cpp do).
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  // The stored vocabulary string of a token ("▁the", "Ġthe", "<|eot_id|>").
  const std::string& token_text(int32_t id) const;
  TokenAttr token_attr(int32_t id) const;
  // Id of an exact vocabulary string (special or not), e.g. find_token("<|im_end|>").
  std::optional<int32_t> find_token(std::string_view text) const;

  int32_t vocab_size() const;
  int32_t bos_id() const;  // -1 when the vocabulary has none
  int32_t eos_id() const;  // -1 when none
  bool add_bos() const;    // whether encode(add_bos=true) prepends BOS
  // End-of-generation: EOS and the chat end markers (<|eot_id|>, <|im_end|>, <|eom_id|>).
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const;
  TokenizerKind kind() const;
  const TokenizerData& data() const;
  // "spm (llama2c tokenizer.bin), 512 tokens" for logs.
  std::string describe() const;

 private:
  explicit Tokenizer(std::unique_ptr<TokenizerImpl> impl);
  std::unique_ptr<TokenizerImpl> impl_;
};

// Streaming detokenizer: push ids one at a time, get back text that is complete UTF-8
// (a character split over several byte pieces is held until its last byte arrives).
// The SentencePiece leading space of the first text token is dropped, as decode() does.
class TokenStreamDecoder {
 public:
  explicit TokenStreamDecoder(const Tokenizer& tok, bool render_special = false)
      : tok_(tok), render_special_(render_special) {}
  // Text that became complete with this token (possibly "").
  std::string push(int32_t id);
  // Whatever is still held (an incomplete UTF-8 tail, emitted as is).
  std::string flush();

 private:
  const Tokenizer& tok_;
  bool render_special_;
  bool at_start_ = true;
  std::string pending_;
};

// Loads a tokenizer from a path, choosing the format by content:
//   llama2.c tokenizer.bin, HF tokenizer.json, an HF folder (tokenizer.json inside),
//   a GGUF file (tokenizer.ggml.* metadata).
Result<std::shared_ptr<const Tokenizer>> load_tokenizer(const std::string& path);

}  // namespace lk
