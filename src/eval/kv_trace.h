// What a KV method keeps, token by token: runs one prompt (token ids) through longkv's engine
// on the paged KV manager with the method's compression driver, then reports the positions
// every (layer, kv-head) still holds after the prompt's compression, the next-token logits
// of teacher-forced continuation tokens and a greedy continuation. This is the observable
// `longkv kv-trace` prints and tools/kvpress_compare.py compares, head by head, with
// kvpress's presses on the same Hugging Face model (docs/eval.md, "Agreement with kvpress").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model_weights.h"

namespace lk::eval {

struct KvTraceOptions {
  std::string method = "full";  // "full" or a compression spec (compress/spec.h)
  std::vector<int32_t> prompt;  // prefilled as one prompt (the caller adds BOS)
  std::vector<int32_t> forced;  // fed one at a time after the prompt's compression
  int greedy = 0;               // greedy tokens generated after the forced ones
  // false: the prompt is compressed once and later tokens run uncompressed (kvpress's
  // convention: presses act only while the context is prefilled); true: the method's own
  // decode-time eviction runs too (longkv eval's behaviour).
  bool decode_eviction = true;
  int chunk = 512;           // prefill chunk size (tokens per forward step)
  bool keep_logits = false;  // store every logits row (else only their argmax)
};

struct KvTrace {
  int n_layers = 0, n_kv_heads = 0;
  int64_t keep_per_head = -1;  // the driver's resolved budget (-1: none / full)
  // Positions held after the prompt's compression: [layer][kv_head] ascending.
  std::vector<std::vector<std::vector<int32_t>>> kept;
  // Rows predict the token after the prompt, then after each forced token:
  // [1 + forced.size()][vocab] (only with keep_logits) and their argmax.
  std::vector<std::vector<float>> logits;
  std::vector<int32_t> argmax;
  std::vector<int32_t> greedy;  // greedy ids (end-of-sequence does not stop them)
  // Tokens every (layer, kv-head) holds at the end: [layer][kv_head].
  std::vector<std::vector<int64_t>> held_end;
};

// Token ids must be inside the model's vocabulary; the whole trace must fit its context.
Result<KvTrace> run_kv_trace(const Model& model, const KvTraceOptions& opt);

}  // namespace lk::eval
