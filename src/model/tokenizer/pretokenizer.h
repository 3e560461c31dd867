// Regex pre-tokenizer of byte-level BPE: splits text into the pieces that BPE merges within
// (HF Split with behavior "Isolated": matches and the gaps between them are both pieces).
// PCRE2 with UTF + UCP (Unicode \p{L}, \s, case folding) and JIT when available; text that
// is not valid UTF-8 is accepted (PCRE2_MATCH_INVALID_UTF): invalid bytes never match and
// end up in gap pieces.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/tokenizer/tokenizer_data.h"

namespace lk::tok {

class RegexSplitter {
 public:
  // Compiles the regexes (applied one after another, each splitting the previous pieces).
  static Result<std::unique_ptr<RegexSplitter>> create(const std::vector<std::string>& patterns);
  ~RegexSplitter();
  // Appends the pieces of `text` (views into it) to `out`, in order, covering all of it.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

 private:
  struct Compiled;
  std::vector<std::unique_ptr<Compiled>> regexes_;
};

// The regexes of a named pre-tokenizer (kGpt2, kLlama3, kQwen2); empty for kNone/kCustom.
std::vector<std::string> pretokenizer_regexes(PreTokenizer pre);
// "gpt2", "llama3", ...
const char* pretokenizer_name(PreTokenizer pre);

}  // namespace lk::tok
