// Tokenizer behaviour on small hand-made vocabularies (no model files needed): merge order,
// byte fallback, special-token splitting, streaming decode of split UTF-8, invalid input,
// and loader errors.
#include "model/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "model/tokenizer/bpe_merge.h"
#include "model/tokenizer/loaders.h"
#include "model/tokenizer/unicode.h"

namespace lk {
namespace {

const std::string kMeta = "\xE2\x96\x81";

// <unk> <s> </s> <0x00>..<0xFF> then normal pieces with scores (higher merges first).
TokenizerData spm_vocab() {
  TokenizerData d;
  d.kind = TokenizerKind::kSpm;
  d.source = "test";
  const auto add = [&](std::string p, float s, TokenAttr a = TokenAttr::kNormal) {
    d.pieces.push_back(std::move(p));
    d.scores.push_back(s);
    d.attrs.push_back(a);
  };
  add("<unk>", 0, TokenAttr::kUnknown);
  add("<s>", 0, TokenAttr::kControl);
  add("</s>", 0, TokenAttr::kControl);
  for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0, TokenAttr::kByte);
  add(kMeta, -1);         // 259
  add("a", -2);           // 260
  add("b", -3);           // 261
  add("c", -4);           // 262
  add(kMeta + "a", -5);   // 263
  add("ab", -6);          // 264
  add(kMeta + "ab", -7);  // 265
  add("bc", -0.5f);       // 266: outranks every other merge
  d.bos_id = 1;
  d.eos_id = 2;
  d.unk_id = 0;
  return d;
}

std::shared_ptr<const Tokenizer> make(TokenizerData d) {
  auto t = Tokenizer::create(std::move(d));
  EXPECT_TRUE(t.is_ok()) << t.status().to_string();
  return t.value();
}

TEST(BpeMerge, BestRankFirstLeftmostOnTies) {
  // ids 1 1 1: pair (1,1) -> 9 with one rank: leftmost merges first -> 9 1.
  std::vector<int32_t> ids{1, 1, 1};
  tok::bpe_merge(ids, [](int32_t a, int32_t b) -> tok::PairMerge {
    if (a == 1 && b == 1) return {0, 9};
    return {};
  });
  EXPECT_EQ(ids, (std::vector<int32_t>{9, 1}));
}

TEST(SpmTokenizer, MergesByScoreWithDummyPrefix) {
  auto t = make(spm_vocab());
  // "abc": ▁ a b c; bc (-0.5) beats ▁a (-5) -> ▁a + bc ; "▁abc" not in vocab.
  EXPECT_EQ(t->encode("abc", false), (std::vector<int32_t>{263, 266}));
  EXPECT_EQ(t->encode("ab", false), (std::vector<int32_t>{265}));
  EXPECT_EQ(t->encode("ab", true), (std::vector<int32_t>{1, 265}));
  EXPECT_EQ(t->decode(std::vector<int32_t>{1, 265, 263, 266}), "ab abc");
  EXPECT_EQ(t->encode("", true), (std::vector<int32_t>{1}));
}

TEST(SpmTokenizer, ByteFallbackAndStreamingUtf8) {
  auto t = make(spm_vocab());
  // "é" (C3 A9) is not a piece: byte pieces 3+0xC3, 3+0xA9.
  const auto ids = t->encode("a\xC3\xA9", false);
  EXPECT_EQ(ids, (std::vector<int32_t>{263, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(t->decode(ids), "a\xC3\xA9");
  TokenStreamDecoder dec(*t);
  EXPECT_EQ(dec.push(ids[0]), "a");  // leading dummy space dropped
  EXPECT_EQ(dec.push(ids[1]), "");   // half a character is held back
  EXPECT_EQ(dec.push(ids[2]), "\xC3\xA9");
  EXPECT_EQ(dec.flush(), "");
  // An incomplete tail is released by flush().
  TokenStreamDecoder dec2(*t);
  EXPECT_EQ(dec2.push(3 + 0xE4), "");
  EXPECT_EQ(dec2.flush(), "\xE4");
}

TEST(SpmTokenizer, InvalidUtf8NeverCrashesAndRoundTrips) {
  auto t = make(spm_vocab());
  const std::string junk("\xFF\xC3(\x80\xF0\x9F\x98", 7);
  const auto ids = t->encode(junk, false);
  EXPECT_EQ(t->decode(ids), junk);
}

TEST(SpmTokenizer, SpecialTokensSplitUnlessUntrusted) {
  auto d = spm_vocab();
  d.added.push_back({"</s>", 2, /*special=*/true});
  auto t = make(std::move(d));
  // Parsed: "ab" ▁ab, then EOS, then "ab" again with its own dummy prefix (llama.cpp).
  EXPECT_EQ(t->encode("ab</s>ab", false), (std::vector<int32_t>{265, 2, 265}));
  // Untrusted: "</s>" is text ('<', '/', 's', '>' are not pieces: byte fallback).
  const auto raw = t->encode("ab</s>", EncodeOptions{false, false});
  EXPECT_EQ(raw.size(), 5u);
  EXPECT_EQ(std::count(raw.begin(), raw.end(), 2), 0);
  EXPECT_EQ(t->decode(raw), "ab</s>");
  EXPECT_EQ(t->decode(std::vector<int32_t>{265, 2}), "ab");
  EXPECT_EQ(t->decode(std::vector<int32_t>{265, 2}, /*render_special=*/true), "ab</s>");
  EXPECT_TRUE(t->is_eog(2));
  EXPECT_EQ(t->find_token("</s>"), 2);
  EXPECT_FALSE(t->find_token("nope").has_value());
}

// A byte-level vocabulary: the 256 byte symbols, then "h e" -> "he", "he l" -> "hel",
// "l o" -> "lo", "hel lo" -> "hello", "Ġ w" -> "Ġw", plus a special token.
TokenizerData byte_vocab() {
  TokenizerData d;
  d.kind = TokenizerKind::kByteBpe;
  d.source = "test";
  const auto& bu = tok::byte_unicode();
  for (int b = 0; b < 256; ++b) d.pieces.push_back(bu.byte_to_utf8[b]);
  for (const char* p : {"he", "hel", "lo", "hello", "\xC4\xA0w"}) d.pieces.push_back(p);
  d.merges = {{"h", "e"}, {"he", "l"}, {"l", "o"}, {"hel", "lo"}, {"\xC4\xA0", "w"}};
  d.pieces.push_back("<|end|>");
  d.attrs.assign(d.pieces.size(), TokenAttr::kNormal);
  d.attrs.back() = TokenAttr::kControl;
  d.added.push_back({"<|end|>", static_cast<int32_t>(d.pieces.size() - 1), true});
  d.pre = PreTokenizer::kGpt2;
  d.add_bos = false;
  return d;
}

TEST(ByteBpeTokenizer, MergesWithinPreTokens) {
  auto t = make(byte_vocab());
  const int32_t hello = 259, gw = 260, end = 261;
  EXPECT_EQ(t->encode("hello", true), (std::vector<int32_t>{hello}));
  // " world": pre-token " world" -> Ġw o r l d.
  EXPECT_EQ(t->encode("hello world", false), (std::vector<int32_t>{hello, gw, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ(t->encode("hello<|end|>", false), (std::vector<int32_t>{hello, end}));
  EXPECT_EQ(t->decode(t->encode("hello world\n\t 12", false)), "hello world\n\t 12");
  EXPECT_EQ(t->eog_ids(), std::vector<int32_t>{});  // no EOS, "<|end|>" is not a known marker
}

TEST(ByteBpeTokenizer, InvalidUtf8IsEncodedByteByByte) {
  auto t = make(byte_vocab());
  const std::string junk("he\xFF\xFE llo\xC3", 9);
  const auto ids = t->encode(junk, false);
  EXPECT_EQ(t->decode(ids), junk);
}

TEST(TokenizerCreate, RejectsInconsistentData) {
  auto d = byte_vocab();
  d.merges.push_back({"zz", "q"});
  auto r = Tokenizer::create(std::move(d));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  auto d2 = spm_vocab();
  d2.bos_id = 100000;
  EXPECT_FALSE(Tokenizer::create(std::move(d2)).is_ok());
  EXPECT_FALSE(Tokenizer::create(TokenizerData{}).is_ok());
}

TEST(TokenizerLoaders, ClearErrors) {
  auto r = parse_llama2c_tokenizer(std::string("\x00\x00\x00\x00", 4), "x.bin");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("max_token_length"), std::string::npos);
  auto j =
      parse_hf_tokenizer_json("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "t.json");
  ASSERT_FALSE(j.is_ok());
  EXPECT_EQ(j.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(j.status().message().find("valid: BPE"), std::string::npos);
  EXPECT_EQ(parse_hf_tokenizer_json("{not json", "t.json").status().code(), StatusCode::kCorrupt);
  auto missing = load_tokenizer("/nonexistent/tokenizer.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(Unicode, Utf8Helpers) {
  EXPECT_EQ(tok::utf8_char_len("\xE4\xBD\xA0", 0), 3u);
  EXPECT_EQ(tok::utf8_char_len("\xE4\xBD", 0), 1u);  // truncated: the lead byte stands alone
  EXPECT_EQ(tok::utf8_incomplete_tail("ab\xF0\x9F"), 2u);
  EXPECT_EQ(tok::utf8_incomplete_tail("ab\xF0\x9F\x98\x80"), 0u);
  EXPECT_EQ(tok::byte_unicode_decode("\xC4\xA0the\xC4\x8A"), " the\n");
}

}  // namespace
}  // namespace lk
