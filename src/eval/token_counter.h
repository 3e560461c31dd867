// How generators measure length: in tokens of the model under test. The runner passes the
// model's tokenizer wrapped as a TokenCounter, so a 4096-token task fills the model's
// context to 4096 of its own tokens. ApproxTokenCounter is a pure fallback (no model
// needed) for tests and for exporting tasks without a model; it is approximate and says so.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lk::eval {

class TokenCounter {
 public:
  virtual ~TokenCounter() = default;
  // Number of tokens `text` encodes to (without BOS/EOS).
  virtual int64_t count(std::string_view text) const = 0;
  // Short description for reports, e.g. "tokenizer of stories260K" or "approx".
  virtual std::string name() const = 0;
};

// A deterministic approximation of a subword tokenizer: a run of letters counts
// 1 + (len - 1) / 6 tokens, each digit one token (Llama-style digit splitting), every other
// non-space byte one token, spaces nothing. Exact lengths need the model's tokenizer.
class ApproxTokenCounter final : public TokenCounter {
 public:
  int64_t count(std::string_view text) const override;
  std::string name() const override { return "approx"; }
};

}  // namespace lk::eval
