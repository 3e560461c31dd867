// A KV compression plan along FRAMEWORK.md's four dimensions (layer, head, token, hidden
// bits). Each dimension keeps a fraction of the cache; the dimensions compose by
// multiplication (1/4 of heads × 1/2 of tokens × 4-bit of 16 = 1/32). Named methods from
// FRAMEWORK.md's table add their typical factor to one dimension.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model_spec.h"

namespace lk {

struct CompressionPlan {
  double layer = 1.0;        // fraction of layers that keep their own KV
  double head = 1.0;         // fraction of KV heads that keep full context
  double token = 1.0;        // fraction of tokens kept (ratio methods: H2O, DMS, ...)
  int64_t token_budget = 0;  // tokens kept per sequence at most (0 = no budget; SnapKV, ...)
  double hidden_bits = 0;    // bits per element after quantization (0 = the KV dtype's)
  int64_t read_budget = 0;   // tokens read per decode step (Quest: saves reads, not memory)
  std::vector<std::string> methods;  // named methods applied, in order

  // Fraction of the uncompressed KV bytes kept for a sequence of ctx tokens, given the
  // KV dtype's bits per element.
  double memory_factor(int64_t ctx, double kv_bits) const;
  // Fraction of the uncompressed KV bytes read per decode step (≤ memory_factor).
  double read_factor(int64_t ctx, double kv_bits) const;
  // Factor on prefill's attention FLOP: only layers that keep KV compute attention over
  // the context (YOCO, cross-layer sharing); the other dimensions compress after prefill.
  double prefill_attention_factor() const { return layer; }
  bool empty() const;
  std::string describe() const;  // "snapkv + kivi (token ≤2048, 2-bit)"
};

struct CompressionMethod {
  std::string id;         // "snapkv"
  std::string dimension;  // layer | head | token | hidden
  std::string typical;    // the typical factor, in words
  std::string source;     // where the figure comes from
};

const std::vector<CompressionMethod>& compression_methods();

// Adds a named method's typical factor to the plan (YOCO and GQA depend on the model).
// kNotFound naming the valid methods for an unknown name.
Status compression_add_method(CompressionPlan& plan, const std::string& name,
                              const ModelSpec& model);

// Checks the per-dimension factors are in range, naming the field on error.
Status compression_validate(const CompressionPlan& plan);

}  // namespace lk
