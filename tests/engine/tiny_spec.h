// The small model shape shared by the engine's random-model tests (paged forward, context
// switching): 2 layers, d_model 64, 4 query heads over 2 KV heads (so GQA groups are
// exercised), FFN 96. Tests pick the head dim, vocabulary and context they need.
#pragma once

#include "model/model_spec.h"

namespace lk::test {

inline ModelSpec tiny_gqa_spec(int head_dim, int vocab_size, int max_context) {
  ModelSpec s;
  s.n_layers = 2;
  s.d_model = 64;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.head_dim = head_dim;
  s.ffn_dim = 96;
  s.vocab_size = vocab_size;
  s.max_context = max_context;
  s.rms_eps = 1e-6f;
  return s;
}

}  // namespace lk::test
