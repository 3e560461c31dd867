// TEST DOUBLE — a deterministic stand-in for the inference engine, used only by the eval unit
// tests to exercise the runner, resume and reports without a model. It is never linked into
// the longkv binary. It "reads" the transcript with string matching: it answers passkey and
// special-code questions by looking the needle up in what it can still see. Method "full"
// sees everything; method "test_forget_front" forgets the first half of the context (as a
// lossy eviction would), so needles there are missed; "test_refuse" is refused by begin().
#pragma once

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "eval/model_runner.h"

namespace lk::eval::test {

class FakeModelRunner final : public ModelRunner {
 public:
  explicit FakeModelRunner(int64_t max_context = 8192) : max_context_(max_context) {}

  std::string model_name() const override { return "fake-test-model"; }
  int64_t max_context() const override { return max_context_; }
  const TokenCounter& token_counter() const override { return counter_; }

  Status begin(const std::string& method) override {
    if (method == "test_refuse") return unsupported("fake backend refuses method '{}'", method);
    method_ = method;
    transcript_.clear();
    context_end_ = 0;
    tokens_ = peak_ = read_ = decode_steps_ = 0;
    return Status::ok();
  }

  Result<FeedResult> feed(const std::string& text) override {
    if (transcript_.empty()) context_end_ = text.size();
    transcript_ += text;
    int64_t t = counter_.count(text);
    tokens_ += t;
    peak_ = std::max(peak_, kv_bytes());
    return FeedResult{t, 1e-5 * static_cast<double>(t)};
  }

  Result<DecodeResult> decode(int max_new_tokens, bool) override {
    ++decode_calls;
    std::string visible = transcript_;
    if (method_ == "test_forget_front") visible = transcript_.substr(context_end_ / 2);
    std::string answer = lookup(visible);
    int64_t t = std::min<int64_t>(max_new_tokens, counter_.count(answer) + 1);
    read_ += t * kv_bytes();
    decode_steps_ += t;
    tokens_ += t;
    transcript_ += " " + answer;
    peak_ = std::max(peak_, kv_bytes());
    if (stop_after_decodes > 0 && decode_calls >= stop_after_decodes && stop_flag)
      stop_flag->store(true);
    return DecodeResult{" " + answer, t, 1e-3 * static_cast<double>(t)};
  }

  KvStats kv_stats() const override { return {peak_, read_, decode_steps_}; }

  // Bytes as tokens (vocab 256); logits favour the byte following the previous one, and
  // "test_forget_front" blurs them, so its distributions differ from full's.
  Result<std::vector<int32_t>> tokenize(const std::string& text) const override {
    std::vector<int32_t> t;
    for (unsigned char c : text) t.push_back(c);
    return t;
  }
  Status forced_logits(
      const std::string& method, std::span<const int32_t> tokens, int64_t n_prefix,
      const std::function<void(int64_t, std::span<const float>)>& on_logits) override {
    if (method == "test_refuse") return unsupported("fake backend refuses method '{}'", method);
    std::vector<float> logits(256);
    for (size_t i = static_cast<size_t>(n_prefix); i < tokens.size(); ++i) {
      int32_t prev = tokens[i - 1];
      for (int v = 0; v < 256; ++v) {
        float l = v == (prev + 1) % 256 ? 4.0f : 0.01f * static_cast<float>((v * 7 + prev) % 13);
        if (method == "test_forget_front")
          l = 0.5f * l + 0.3f * static_cast<float>((v * 3 + prev) % 5);
        logits[static_cast<size_t>(v)] = l;
      }
      on_logits(static_cast<int64_t>(i), logits);
    }
    return Status::ok();
  }

  int decode_calls = 0;
  int stop_after_decodes = 0;
  std::atomic<bool>* stop_flag = nullptr;

 private:
  int64_t kv_bytes() const { return tokens_ * (method_ == "full" ? 1000 : 500); }

  // Answers the last question of the transcript from the needles visible.
  static std::string lookup(const std::string& visible) {
    size_t q = visible.rfind("What is the ");
    if (q == std::string::npos) return "I do not know";
    if (visible.compare(q, 19, "What is the passkey") == 0) {
      size_t at = visible.find("The passkey is ");
      return at == std::string::npos ? "unknown" : visible.substr(at + 15, 5);
    }
    const std::string marker = "special code for ";
    size_t k = visible.find(marker, q);
    if (k == std::string::npos) return "unknown";
    size_t kend = visible.find(' ', k + marker.size());
    std::string key = visible.substr(k + marker.size(), kend - k - marker.size());
    size_t at = visible.find("The special code for " + key + " is ");
    if (at == std::string::npos || at > q) return "unknown";
    size_t vstart = at + 21 + key.size() + 4;
    return visible.substr(vstart, visible.find('.', vstart) - vstart);
  }

  int64_t max_context_;
  ApproxTokenCounter counter_;
  std::string method_, transcript_;
  size_t context_end_ = 0;
  int64_t tokens_ = 0, peak_ = 0, read_ = 0, decode_steps_ = 0;
};

}  // namespace lk::eval::test
