#include "model/tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "model/tokenizer/unicode.h"

namespace lk::tok {

namespace {
// The patterns as published in the models' tokenizer.json files (and llama.cpp's "pre" types).
constexpr const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
}  // namespace

struct RegexSplitter::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() {
    if (code) pcre2_code_free(code);
  }
};

RegexSplitter::~RegexSplitter() = default;

Result<std::unique_ptr<RegexSplitter>> RegexSplitter::create(
    const std::vector<std::string>& patterns) {
  auto s = std::unique_ptr<RegexSplitter>(new RegexSplitter());
  for (const auto& p : patterns) {
    int err = 0;
    PCRE2_SIZE off = 0;
    auto c = std::make_unique<Compiled>();
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off, nullptr);
    if (!c->code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      return invalid_argument("pre-tokenizer regex does not compile at offset {}: {} ({})", off,
                              reinterpret_cast<const char*>(msg), p);
    }
    pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back silently
    s->regexes_.push_back(std::move(c));
  }
  return s;
}

void RegexSplitter::split(std::string_view text, std::vector<std::string_view>& out) const {
  std::vector<std::string_view> cur{text}, nxt;
  for (const auto& re : regexes_) {
    nxt.clear();
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(re->code, nullptr);
    for (std::string_view piece : cur) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t pos = 0, gap_start = 0;
      while (pos <= piece.size()) {
        const int rc = pcre2_match(re->code, subject, piece.size(), pos, 0, md, nullptr);
        if (rc < 0) break;  // no more matches (or an error: the rest is one gap)
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t s = ov[0], e = ov[1];
        if (e == s) {  // empty match: step over one character
          pos = s + (s < piece.size() ? utf8_char_len(piece, s) : 1);
          continue;
        }
        if (s > gap_start) nxt.push_back(piece.substr(gap_start, s - gap_start));
        nxt.push_back(piece.substr(s, e - s));
        gap_start = pos = e;
      }
      if (gap_start < piece.size()) nxt.push_back(piece.substr(gap_start));
    }
    pcre2_match_data_free(md);
    cur.swap(nxt);
  }
  out.insert(out.end(), cur.begin(), cur.end());
}

std::vector<std::string> pretokenizer_regexes(PreTokenizer pre) {
  switch (pre) {
    case PreTokenizer::kGpt2:
      return {kGpt2Regex};
    case PreTokenizer::kLlama3:
      return {kLlama3Regex};
    case PreTokenizer::kQwen2:
      return {kQwen2Regex};
    default:
      return {};
  }
}

const char* pretokenizer_name(PreTokenizer pre) {
  switch (pre) {
    case PreTokenizer::kNone:
      return "none";
    case PreTokenizer::kGpt2:
      return "gpt2";
    case PreTokenizer::kLlama3:
      return "llama3";
    case PreTokenizer::kQwen2:
      return "qwen2";
    case PreTokenizer::kCustom:
      return "custom";
  }
  return "?";
}

}  // namespace lk::tok
