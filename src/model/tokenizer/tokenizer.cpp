#include "model/tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "core/check.h"
#include "model/tokenizer/bpe_merge.h"
#include "model/tokenizer/normalize.h"
#include "model/tokenizer/tokenizer_impl.h"
#include "model/tokenizer/unicode.h"

namespace lk {

namespace {

constexpr std::string_view kMeta = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space
constexpr size_t kWordCacheMax = 1 << 16;

// "<0x0A>" -> 10; -1 when the piece is not a byte piece.
int parse_byte_piece(std::string_view p) {
  if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = p[k];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else
      return -1;
  }
  return v;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, from.size(), from) == 0) {
      out += to;
      i += from.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool is_hidden(TokenAttr a) {
  return a == TokenAttr::kControl || a == TokenAttr::kUnknown || a == TokenAttr::kUnused;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Construction

Result<std::shared_ptr<const Tokenizer>> Tokenizer::create(TokenizerData data) {
  auto impl = std::make_unique<TokenizerImpl>();
  TokenizerData& d = impl->d;
  d = std::move(data);
  const auto n = static_cast<int64_t>(d.pieces.size());
  const std::string src = d.source.empty() ? "tokenizer" : d.source;
  if (n == 0) return corrupt("{}: empty vocabulary", src);
  if (n > INT32_MAX / 2) return corrupt("{}: vocabulary too large ({} pieces)", src, n);
  if (d.attrs.empty()) d.attrs.assign(n, TokenAttr::kNormal);
  if (static_cast<int64_t>(d.attrs.size()) != n)
    return corrupt("{}: {} token types for {} pieces", src, d.attrs.size(), n);
  if (!d.scores.empty() && static_cast<int64_t>(d.scores.size()) != n)
    return corrupt("{}: {} scores for {} pieces", src, d.scores.size(), n);
  for (int32_t* id : {&d.bos_id, &d.eos_id, &d.unk_id})
    if (*id < -1 || *id >= n)
      return corrupt("{}: special token id {} out of range [0, {})", src, *id, n);
  if (d.kind == TokenizerKind::kSpm && d.scores.empty() && d.merges.empty())
    return corrupt("{}: SentencePiece vocabulary has neither scores nor merges", src);

  impl->piece_to_id.reserve(static_cast<size_t>(n) + d.added.size());
  impl->piece_to_id.reserve(static_cast<size_t>(n) + d.added.size());
  for (int32_t i = 0; i < n; ++i) impl->piece_to_id.emplace(d.pieces[i], i);
  for (auto& a : d.added) {
    if (a.id < 0 || a.id >= n)
      return corrupt("{}: added token '{}' has id {} out of range [0, {})", src, a.content, a.id,
                     n);
    if (a.content.empty()) return corrupt("{}: added token {} is empty", src, a.id);
    impl->piece_to_id.emplace(a.content, a.id);
  }

  // Ranked merges -> (left, right) id pairs.
  impl->merge_map.reserve(d.merges.size());
  for (size_t r = 0; r < d.merges.size(); ++r) {
    const auto& [l, rt] = d.merges[r];
    const auto il = impl->piece_to_id.find(l), ir = impl->piece_to_id.find(rt);
    const auto im = impl->piece_to_id.find(l + rt);
    if (il == impl->piece_to_id.end() || ir == impl->piece_to_id.end() ||
        im == impl->piece_to_id.end())
      return corrupt("{}: merge {} ('{}' '{}') refers to a piece not in the vocabulary", src, r, l,
                     rt);
    const uint64_t key =
        (static_cast<uint64_t>(il->second) << 32) | static_cast<uint32_t>(ir->second);
    impl->merge_map.emplace(key, std::make_pair(static_cast<int32_t>(r), im->second));
  }

  // Byte pieces.
  impl->byte_ids.fill(-1);
  if (d.kind == TokenizerKind::kSpm) {
    for (int32_t i = 0; i < n; ++i) {
      const int b = parse_byte_piece(d.pieces[i]);
      if (b >= 0 && impl->byte_ids[b] < 0) {
        impl->byte_ids[b] = i;
        if (d.attrs[i] == TokenAttr::kNormal) d.attrs[i] = TokenAttr::kByte;
      }
    }
    if (d.byte_fallback && impl->byte_ids[0x0A] < 0 && d.unk_id < 0)
      return corrupt("{}: byte fallback is on but the vocabulary has no <0xXX> pieces", src);
  } else {
    const auto& bu = tok::byte_unicode();
    for (int b = 0; b < 256; ++b) {
      const auto it = impl->piece_to_id.find(bu.byte_to_utf8[b]);
      if (it == impl->piece_to_id.end())
        return corrupt("{}: byte-level vocabulary lacks the piece for byte 0x{:02X}", src, b);
      impl->byte_ids[b] = it->second;
    }
    std::vector<std::string> regexes =
        d.pre == PreTokenizer::kCustom ? d.pre_regexes : tok::pretokenizer_regexes(d.pre);
    if (!regexes.empty()) {
      auto sp = tok::RegexSplitter::create(regexes);
      if (!sp) return sp.status().with_context(src);
      impl->splitter = std::move(sp).value();
    }
  }

  // What each token looks like as text.
  impl->decoded.resize(n);
  std::vector<char> is_added(n, 0);
  for (const auto& a : d.added) is_added[a.id] = 1;
  for (int32_t i = 0; i < n; ++i) {
    const std::string& p = d.pieces[i];
    std::string& out = impl->decoded[i];
    if (d.kind == TokenizerKind::kSpm) {
      const int b = parse_byte_piece(p);
      if (d.attrs[i] == TokenAttr::kByte && b >= 0)
        out.assign(1, static_cast<char>(b));
      else if (is_hidden(d.attrs[i]))
        out = p;
      else
        out = replace_all(p, kMeta, " ");
    } else {
      if (is_added[i] || is_hidden(d.attrs[i]))
        out = p;
      else
        out = tok::byte_unicode_decode(p);
    }
  }

  // Added tokens by first byte, longest first (leftmost-longest match, as HF).
  for (size_t k = 0; k < d.added.size(); ++k)
    impl->added_by_byte[static_cast<uint8_t>(d.added[k].content[0])].push_back(static_cast<int>(k));
  for (auto& v : impl->added_by_byte)
    std::stable_sort(v.begin(), v.end(), [&](int a, int b) {
      return d.added[a].content.size() > d.added[b].content.size();
    });

  if (d.eog_ids.empty()) {
    if (d.eos_id >= 0) d.eog_ids.push_back(d.eos_id);
    for (const char* m :
         {"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|endoftext|>", "<end_of_turn>"}) {
      const auto it = impl->piece_to_id.find(m);
      if (it != impl->piece_to_id.end() && d.attrs[it->second] == TokenAttr::kControl &&
          std::find(d.eog_ids.begin(), d.eog_ids.end(), it->second) == d.eog_ids.end())
        d.eog_ids.push_back(it->second);
    }
  }
  return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
}

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

// ---------------------------------------------------------------------------------------
// Encoding

std::vector<TokenizerImpl::Fragment> TokenizerImpl::split_added(std::string_view text,
                                                                bool parse_special) const {
  std::vector<Fragment> out;
  if (d.added.empty()) {
    out.push_back({text, -1});
    return out;
  }
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const AddedToken* hit = nullptr;
    for (int k : added_by_byte[static_cast<uint8_t>(text[i])]) {
      const AddedToken& a = d.added[k];
      if (a.special && !parse_special) continue;
      if (text.compare(i, a.content.size(), a.content) == 0) {
        hit = &a;
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    size_t text_end = i;
    if (hit->lstrip)
      while (text_end > start && is_space(text[text_end - 1])) --text_end;
    if (text_end > start) out.push_back({text.substr(start, text_end - start), -1});
    out.push_back({{}, hit->id});
    i += hit->content.size();
    if (hit->rstrip)
      while (i < text.size() && is_space(text[i])) ++i;
    start = i;
  }
  if (start < text.size()) out.push_back({text.substr(start), -1});
  return out;
}

void TokenizerImpl::encode_spm(std::string_view text, bool prefix,
                               std::vector<int32_t>& out) const {
  std::string s;
  s.reserve(text.size() + 8);
  if (prefix) s += kMeta;
  for (char c : text) {
    if (c == ' ')
      s += kMeta;
    else
      s += c;
  }
  // One symbol per UTF-8 character; characters outside the vocabulary become byte pieces.
  std::vector<int32_t> ids;
  ids.reserve(s.size());
  std::string ch;
  for (size_t i = 0; i < s.size();) {
    const size_t len = tok::utf8_char_len(s, i);
    ch.assign(s, i, len);
    const auto it = piece_to_id.find(ch);
    if (it != piece_to_id.end()) {
      ids.push_back(it->second);
    } else if (d.byte_fallback && byte_ids[static_cast<uint8_t>(s[i])] >= 0) {
      for (size_t k = 0; k < len; ++k) {
        const int32_t b = byte_ids[static_cast<uint8_t>(s[i + k])];
        ids.push_back(b >= 0 ? b : d.unk_id);
      }
    } else if (d.unk_id >= 0 && (ids.empty() || ids.back() != d.unk_id)) {
      ids.push_back(d.unk_id);  // HF fuse_unk: a run of unknown characters is one <unk>
    }
    i += len;
  }
  if (!merge_map.empty()) {
    tok::bpe_merge(ids, [&](int32_t a, int32_t b) -> tok::PairMerge {
      const auto it = merge_map.find((static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b));
      if (it == merge_map.end()) return {};
      return {static_cast<double>(it->second.first), it->second.second};
    });
  } else {
    std::string cat;
    tok::bpe_merge(ids, [&](int32_t a, int32_t b) -> tok::PairMerge {
      if (a < 0 || b < 0) return {};
      cat.assign(d.pieces[a]);
      cat += d.pieces[b];
      const auto it = piece_to_id.find(cat);
      if (it == piece_to_id.end()) return {};
      const TokenAttr at = d.attrs[it->second];
      if (at != TokenAttr::kNormal && at != TokenAttr::kUserDefined) return {};
      return {-static_cast<double>(d.scores[it->second]), it->second};
    });
  }
  for (int32_t id : ids)
    if (id >= 0) out.push_back(id);
}

void TokenizerImpl::bpe_word(std::string_view word, std::vector<int32_t>& out) const {
  const bool cacheable = word.size() <= 256;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu);
    const auto it = word_cache.find(std::string(word));
    if (it != word_cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  if (d.ignore_merges) {
    std::string mapped;
    const auto& bu = tok::byte_unicode();
    for (char c : word) mapped += bu.byte_to_utf8[static_cast<uint8_t>(c)];
    const auto it = piece_to_id.find(mapped);
    if (it != piece_to_id.end() && d.attrs[it->second] == TokenAttr::kNormal)
      ids.push_back(it->second);
  }
  if (ids.empty()) {
    ids.reserve(word.size());
    for (char c : word) ids.push_back(byte_ids[static_cast<uint8_t>(c)]);
    tok::bpe_merge(ids, [&](int32_t a, int32_t b) -> tok::PairMerge {
      const auto it = merge_map.find((static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b));
      if (it == merge_map.end()) return {};
      return {static_cast<double>(it->second.first), it->second.second};
    });
  }
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu);
    if (word_cache.size() >= kWordCacheMax) word_cache.clear();
    word_cache.emplace(std::string(word), std::move(ids));
  }
}

void TokenizerImpl::encode_byte_bpe(std::string_view text, std::vector<int32_t>& out) const {
  std::string normalized;
  if (d.normalize_nfc) {
    normalized = tok::nfc_normalize(text);
    text = normalized;
  }
  std::vector<std::string_view> words;
  if (splitter)
    splitter->split(text, words);
  else
    words.push_back(text);
  for (std::string_view w : words) bpe_word(w, out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& opts) const {
  const TokenizerData& d = impl_->d;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (opts.add_bos && d.add_bos && d.bos_id >= 0) out.push_back(d.bos_id);
  bool prev_special = true;
  for (const auto& f : impl_->split_added(text, opts.parse_special)) {
    if (f.id >= 0) {
      out.push_back(f.id);
      prev_special = true;
      continue;
    }
    if (f.text.empty()) continue;  // empty text has no dummy prefix either (llama.cpp, HF)
    if (d.kind == TokenizerKind::kSpm) {
      bool prefix = false;
      if (d.space_prefix == SpacePrefix::kEveryFragment)
        prefix = prev_special;
      else if (d.space_prefix == SpacePrefix::kFirst)
        prefix = f.text.data() == text.data();
      if (d.no_prefix_before_space && f.text.front() == ' ') prefix = false;
      impl_->encode_spm(f.text, prefix, out);
    } else {
      impl_->encode_byte_bpe(f.text, out);
    }
    prev_special = false;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Decoding and lookups

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= vocab_size()) return {};
  if (!render_special && is_hidden(impl_->d.attrs[id])) return {};
  return impl_->decoded[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  TokenStreamDecoder dec(*this, render_special);
  std::string out;
  for (int32_t id : ids) out += dec.push(id);
  out += dec.flush();
  return out;
}

std::string TokenStreamDecoder::push(int32_t id) {
  std::string piece = tok_.token_to_piece(id, render_special_);
  if (piece.empty()) return {};
  const bool hidden = is_hidden(tok_.token_attr(id));
  if (at_start_ && !hidden) {
    at_start_ = false;
    if (tok_.kind() == TokenizerKind::kSpm && tok_.data().strip_leading_space_on_decode &&
        piece[0] == ' ')
      piece.erase(0, 1);
  }
  pending_ += piece;
  const size_t keep = tok::utf8_incomplete_tail(pending_);
  std::string ready = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return ready;
}

std::string TokenStreamDecoder::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

const std::string& Tokenizer::token_text(int32_t id) const {
  LK_CHECK_MSG(id >= 0 && id < vocab_size(), "token id {} out of range [0, {})", id, vocab_size());
  return impl_->d.pieces[id];
}
TokenAttr Tokenizer::token_attr(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return TokenAttr::kUnused;
  return impl_->d.attrs[id];
}
std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const auto it = impl_->piece_to_id.find(std::string(text));
  if (it == impl_->piece_to_id.end()) return std::nullopt;
  return it->second;
}
int32_t Tokenizer::vocab_size() const {
  return static_cast<int32_t>(impl_->d.pieces.size());
}
int32_t Tokenizer::bos_id() const {
  return impl_->d.bos_id;
}
int32_t Tokenizer::eos_id() const {
  return impl_->d.eos_id;
}
bool Tokenizer::add_bos() const {
  return impl_->d.add_bos && impl_->d.bos_id >= 0;
}
bool Tokenizer::is_eog(int32_t id) const {
  const auto& e = impl_->d.eog_ids;
  return std::find(e.begin(), e.end(), id) != e.end();
}
const std::vector<int32_t>& Tokenizer::eog_ids() const {
  return impl_->d.eog_ids;
}
TokenizerKind Tokenizer::kind() const {
  return impl_->d.kind;
}
const TokenizerData& Tokenizer::data() const {
  return impl_->d;
}

std::string Tokenizer::describe() const {
  const auto& d = impl_->d;
  if (d.kind == TokenizerKind::kSpm)
    return fmt::format("spm ({}), {} tokens, merges by {}", d.source, d.pieces.size(),
                       d.merges.empty() ? "score" : "rank");
  return fmt::format("byte-level bpe ({}), {} tokens, {} merges, pre-tokenizer {}", d.source,
                     d.pieces.size(), d.merges.size(), tok::pretokenizer_name(d.pre));
}

}  // namespace lk
