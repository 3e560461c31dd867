// The numerical oracle: a plain, unoptimized forward pass of one token at a time, written
// like llama2.c's run.c (f32 everywhere, weights converted row by row, its own KV arrays).
// The fast batched forward (engine/forward.h) is tested against it; keep it readable.
#pragma once

#include <vector>

#include "core/status.h"
#include "engine/model_weights.h"

namespace lk {

class ReferenceForward {
 public:
  // Allocates KV for max_positions tokens of one sequence.
  ReferenceForward(const Model& model, int max_positions);

  // Runs `token` at position `pos` (tokens 0..pos-1 must have been run) and returns the
  // logits [vocab]. Errors: token out of range, pos beyond max_positions, unsupported dtype.
  Result<std::vector<float>> forward(int token, int pos);

 private:
  // out[m] = W x, W with ne = [n, m], row by row in f32 (sequential sums like run.c).
  Status matmul(const TensorView& w, const float* x, float* out);
  void rmsnorm(float* out, const float* x, const float* weight, int n) const;
  void rope(float* vec, int n_heads, int pos) const;

  const Model& model_;
  int max_positions_;
  std::vector<float> inv_freq_;   // [head_dim / 2]
  std::vector<float> row_;        // scratch row [max in-features]
  std::vector<float> key_cache_;  // [layer][max_positions][kv_dim]
  std::vector<float> value_cache_;
};

}  // namespace lk
