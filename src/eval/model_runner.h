// What the eval harness needs from an inference engine, and nothing more. The real backend
// (engine_runner.cpp) wraps longkv's engine; tests use a deterministic fake. Contract:
//  - begin(method) starts a fresh sequence whose KV cache is managed by `method` (a spec
//    accepted by check_kv_method); any previous sequence is released.
//  - feed(text) tokenizes text and appends it (the first feed of a sequence is the context
//    prefill; later feeds continue after the generated tokens of earlier rounds).
//  - decode(n, stop_at_newline) greedily generates up to n tokens, appending them to the
//    sequence; it stops at end-of-sequence, or at a newline once some non-space text was
//    produced when stop_at_newline. Greedy: the same sequence gives the same text.
//  - kv_stats() reports the cache accounting of the current sequence since begin().
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/token_counter.h"

namespace lk::eval {

struct FeedResult {
  int64_t tokens = 0;    // tokens appended
  double seconds = 0.0;  // wall time of the forward pass over them
};

struct DecodeResult {
  std::string text;      // detokenized generated text (stop newline excluded)
  int64_t tokens = 0;    // tokens generated
  double seconds = 0.0;  // wall time of the decode loop
};

struct KvStats {
  int64_t peak_bytes = 0;     // high-water mark of KV bytes held (KV manager's accounting)
  int64_t bytes_read = 0;     // KV bytes read by attention during decode steps
  int64_t decode_tokens = 0;  // decode steps those reads cover
  int64_t held_bytes = 0;     // KV bytes the sequence holds at the end (after compression)
  std::string compression;    // the compression driver's report (JSON), empty for `full`
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  virtual std::string model_name() const = 0;
  // Longest sequence (prompt + generated tokens) the model accepts.
  virtual int64_t max_context() const = 0;
  // The model's tokenizer, used by generators to fill tasks to a length in tokens.
  virtual const TokenCounter& token_counter() const = 0;

  virtual Status begin(const std::string& method) = 0;
  virtual Result<FeedResult> feed(const std::string& text) = 0;
  virtual Result<DecodeResult> decode(int max_new_tokens, bool stop_at_newline) = 0;
  virtual KvStats kv_stats() const = 0;

  // Teacher-forced next-token logits for fidelity: begin(method), prefill tokens[0, n_prefix),
  // then feed tokens[n_prefix, end) one at a time. on_logits(i, logits[vocab]) is called with
  // the distribution predicting tokens[i] for every i in [n_prefix, tokens.size()).
  virtual Result<std::vector<int32_t>> tokenize(const std::string& text) const = 0;
  virtual Status forced_logits(
      const std::string& method, std::span<const int32_t> tokens, int64_t n_prefix,
      const std::function<void(int64_t, std::span<const float>)>& on_logits) = 0;
};

}  // namespace lk::eval
