// Private state of a Tokenizer: lookup tables built once from TokenizerData.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/tokenizer/pretokenizer.h"
#include "model/tokenizer/tokenizer_data.h"

namespace lk {

class TokenizerImpl {
 public:
  TokenizerData d;
  std::unordered_map<std::string, int32_t> piece_to_id;
  // (left id << 32 | right id) -> (rank, merged id), from the ranked merges list.
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merge_map;
  std::array<int32_t, 256> byte_ids{};  // byte -> its <0xXX> (SPM) or byte-level token; -1
  std::vector<std::string> decoded;     // id -> bytes of the token as text
  std::unique_ptr<tok::RegexSplitter> splitter;
  // Added tokens indexed by first byte, longest first, for the special-token split.
  std::array<std::vector<int>, 256> added_by_byte;

  // Word cache of byte-level BPE (pre-token -> ids); bounded, cleared when full.
  mutable std::mutex cache_mu;
  mutable std::unordered_map<std::string, std::vector<int32_t>> word_cache;

  struct Fragment {
    std::string_view text;  // valid when id < 0
    int32_t id = -1;        // an added token
  };
  std::vector<Fragment> split_added(std::string_view text, bool parse_special) const;
  void encode_spm(std::string_view text, bool prefix, std::vector<int32_t>& out) const;
  void encode_byte_bpe(std::string_view text, std::vector<int32_t>& out) const;
  void bpe_word(std::string_view word, std::vector<int32_t>& out) const;
};

}  // namespace lk
