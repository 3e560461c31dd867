// Fuzz target: encode() on arbitrary bytes with a small SentencePiece-style and a small
// byte-level vocabulary. Both are lossless on any input when special tokens are not parsed,
// so decode(encode(x)) == x is checked, and streaming decode must agree with decode().
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/check.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/unicode.h"

namespace {

std::shared_ptr<const lk::Tokenizer> must(lk::Result<std::shared_ptr<const lk::Tokenizer>> r) {
  LK_CHECK_MSG(r.is_ok(), "{}", r.status().to_string());
  return r.value();
}

const lk::Tokenizer& spm() {
  static const auto tok = [] {
    lk::TokenizerData d;
    d.kind = lk::TokenizerKind::kSpm;
    const auto add = [&](std::string p, float s, lk::TokenAttr a) {
      d.pieces.push_back(std::move(p));
      d.scores.push_back(s);
      d.attrs.push_back(a);
    };
    add("<unk>", 0, lk::TokenAttr::kUnknown);
    add("<s>", 0, lk::TokenAttr::kControl);
    add("</s>", 0, lk::TokenAttr::kControl);
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0, lk::TokenAttr::kByte);
    const char* normal[] = {"\xE2\x96\x81",
                            "a",
                            "b",
                            "e",
                            "\xE2\x96\x81"
                            "a",
                            "ab",
                            "\xC3\xA9",
                            "\xE2\x96\x81\xE2\x96\x81",
                            "<",
                            ">"};
    float s = -1;
    for (const char* p : normal) add(p, s--, lk::TokenAttr::kNormal);
    d.bos_id = 1;
    d.eos_id = 2;
    d.unk_id = 0;
    d.added.push_back({"</s>", 2, true});
    return must(lk::Tokenizer::create(std::move(d)));
  }();
  return *tok;
}

const lk::Tokenizer& byte_level() {
  static const auto tok = [] {
    lk::TokenizerData d;
    d.kind = lk::TokenizerKind::kByteBpe;
    const auto& bu = lk::tok::byte_unicode();
    for (int b = 0; b < 256; ++b) d.pieces.push_back(bu.byte_to_utf8[b]);
    d.merges = {{"a", "b"},
                {"\xC4\xA0", "a"},
                {"\xC4\xA0"
                 "a",
                 "b"},
                {"\xC4\xA0", "\xC4\xA0"}};
    for (const auto& [l, r] : d.merges) d.pieces.push_back(l + r);
    d.pieces.push_back("<|end|>");
    d.attrs.assign(d.pieces.size(), lk::TokenAttr::kNormal);
    d.attrs.back() = lk::TokenAttr::kControl;
    d.added.push_back({"<|end|>", static_cast<int32_t>(d.pieces.size() - 1), true});
    d.pre = lk::PreTokenizer::kLlama3;
    d.normalize_nfc = true;
    return must(lk::Tokenizer::create(std::move(d)));
  }();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const lk::Tokenizer* t : {&spm(), &byte_level()}) {
    // Special tokens parsed: must not crash, ids in range.
    for (int32_t id : t->encode(text, lk::EncodeOptions{true, true}))
      LK_CHECK(id >= 0 && id < t->vocab_size());
    // Untrusted text: lossless (NFC only rewrites valid, non-normalized UTF-8).
    const auto ids = t->encode(text, lk::EncodeOptions{false, false});
    const std::string back = t->decode(ids);
    if (!t->data().normalize_nfc) LK_CHECK_MSG(back == text, "round trip failed ({} bytes)", size);
    lk::TokenStreamDecoder dec(*t);
    std::string streamed;
    for (int32_t id : ids) streamed += dec.push(id);
    streamed += dec.flush();
    LK_CHECK_MSG(streamed == back, "streaming decode differs from decode ({} bytes)", size);
  }
  return 0;
}
