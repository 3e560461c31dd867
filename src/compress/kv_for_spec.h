// The paged KV manager a compression spec runs on, sized for one sequence of the model's whole
// context uncompressed in f32 (the prefill holds a prompt before the policy selects), shared by
// `longkv run --kv` and `longkv eval --kv`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "compress/spec.h"
#include "kv/kv_manager.h"

namespace lk::compress {

struct KvShape {
  int n_layers = 0, n_kv_heads = 0, head_dim = 0;
  int64_t max_context = 0;
  std::string model_digest;
};

// full_format: the model's uncompressed KV format (used when the spec names none).
Result<std::unique_ptr<KvManager>> kv_manager_for_spec(const CompressionSpec& spec,
                                                       const KvShape& shape, KvFormat full_format);

}  // namespace lk::compress
