// The tokenizer of synth models: a working byte-level BPE vocabulary (GPT-2 style) built
// deterministically — 256 byte tokens in GPT-2's byte-to-unicode form, merges learned by
// BPE on a small built-in English text (so common words become single tokens), unused
// filler tokens up to the model's vocab_size, and the special tokens of the chosen style
// at the end (like Llama 3's <|begin_of_text|> at 128000+). Written both as GGUF
// tokenizer.ggml.* metadata and as Hugging Face tokenizer.json + tokenizer_config.json, which
// describe the same tokenizer (same ids, pre-tokenizer regex, merges, specials).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "model/gguf_writer.h"

namespace lk {

enum class SynthTokenizerStyle {
  kLlama3,  // pre "llama-bpe": <|begin_of_text|> BOS added, llama3 chat template
  kQwen2,   // pre "qwen2": no BOS, ChatML template (<|im_start|> ... <|im_end|>)
};

// GGUF token types (llama.cpp's llama_token_type).
enum class SynthTokenType : int32_t { kNormal = 1, kControl = 3, kUnused = 5 };

struct SynthVocab {
  SynthTokenizerStyle style = SynthTokenizerStyle::kLlama3;
  std::vector<std::string> tokens;  // byte-level form ("Ġthe"), index = id
  std::vector<SynthTokenType> types;
  std::vector<std::string> merges;  // "Ġ t" in rank order
  int n_merges_learned = 0;
  int bos_id = -1;  // -1: none
  int eos_id = -1;
  int pad_id = -1;
  bool add_bos = false;
  std::string pre;            // GGUF tokenizer.ggml.pre
  std::string regex;          // pre-tokenizer split pattern (HF syntax)
  std::string chat_template;  // Jinja, as in tokenizer_config.json
};

// kInvalidArgument when vocab_size cannot hold the 256 bytes and the specials.
Result<SynthVocab> synth_vocab_make(int vocab_size, SynthTokenizerStyle style);

// tokenizer.ggml.* keys (model "gpt2").
void synth_vocab_to_gguf(const SynthVocab& v, GgufWriter* w);
// tokenizer.json and tokenizer_config.json texts.
std::string synth_vocab_tokenizer_json(const SynthVocab& v);
std::string synth_vocab_tokenizer_config_json(const SynthVocab& v, int64_t max_context);

// GPT-2's printable stand-in for byte b ("Ġ" for ' '), UTF-8 encoded.
std::string byte_to_unicode(uint8_t b);

}  // namespace lk
