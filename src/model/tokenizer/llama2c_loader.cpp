// llama2.c tokenizer.bin (written by llama2.c's tokenizer.py export): the vocabulary size
// is not stored, the file simply ends after the last token.
#include <cstring>
#include <fstream>
#include <sstream>

#include "model/tokenizer/loaders.h"

namespace lk {

Result<TokenizerData> parse_llama2c_tokenizer(std::string_view bytes, const std::string& name) {
  TokenizerData d;
  d.kind = TokenizerKind::kSpm;
  d.source = "llama2c tokenizer.bin";
  size_t pos = 0;
  const auto read_i32 = [&](int32_t& v) {
    if (pos + 4 > bytes.size()) return false;
    std::memcpy(&v, bytes.data() + pos, 4);
    pos += 4;
    return true;
  };
  int32_t max_len = 0;
  if (!read_i32(max_len) || max_len <= 0 || max_len > 4096)
    return corrupt("{}: not a llama2.c tokenizer.bin (max_token_length {} must be in 1..4096)",
                   name, max_len);
  while (pos < bytes.size()) {
    float score;
    int32_t len;
    if (pos + 8 > bytes.size())
      return corrupt("{}: truncated at token {} (byte offset {})", name, d.pieces.size(), pos);
    std::memcpy(&score, bytes.data() + pos, 4);
    pos += 4;
    read_i32(len);
    if (len < 0 || len > max_len || pos + len > bytes.size())
      return corrupt("{}: token {} has length {} (max_token_length {}, {} bytes left)", name,
                     d.pieces.size(), len, max_len, bytes.size() - pos);
    std::string piece(bytes.substr(pos, len));
    pos += len;
    const int32_t id = static_cast<int32_t>(d.pieces.size());
    TokenAttr attr = TokenAttr::kNormal;
    if (piece == "\n<s>\n") {
      piece = "<s>";
      attr = TokenAttr::kControl;
      d.bos_id = id;
    } else if (piece == "\n</s>\n") {
      piece = "</s>";
      attr = TokenAttr::kControl;
      d.eos_id = id;
    } else if (piece == "<unk>" && id == 0) {
      attr = TokenAttr::kUnknown;
      d.unk_id = id;
    } else {
      // The export replaced SentencePiece's "▁" by ' '; restore it so SPM handling is uniform.
      std::string fixed;
      for (char c : piece) {
        if (c == ' ')
          fixed += "\xE2\x96\x81";
        else
          fixed += c;
      }
      piece.swap(fixed);
    }
    d.pieces.push_back(std::move(piece));
    d.scores.push_back(score);
    d.attrs.push_back(attr);
  }
  if (d.pieces.empty()) return corrupt("{}: no tokens", name);
  d.space_prefix = SpacePrefix::kEveryFragment;
  d.byte_fallback = true;
  d.add_bos = true;
  return d;
}

Result<TokenizerData> read_llama2c_tokenizer(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("cannot open tokenizer '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_llama2c_tokenizer(ss.str(), path);
}

}  // namespace lk
