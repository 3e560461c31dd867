// Token sampler: greedy, temperature, top-k, top-p, seeded. With top_k = 0 it reproduces
// llama2.c's run.c sampler exactly (xorshift* RNG, softmax, top-p cutoff and sort), so the
// same seed gives the same text as run.c.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace lk {

struct SamplerConfig {
  float temperature = 0.8f;  // 0 = greedy (argmax)
  int top_k = 0;             // 0 = off
  float top_p = 0.9f;        // >= 1 or <= 0 = off
  uint64_t seed = 0;         // must be non-zero for xorshift; 0 is mapped to a fixed value
};

Status sampler_config_validate(const SamplerConfig& c);

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& config);

  // Picks a token from logits [n]; modifies logits in place (scaled, softmaxed).
  int sample(float* logits, int n);

  // run.c's xorshift* generator: a u32 and a float in [0, 1).
  uint32_t random_u32();
  float random_f32();

 private:
  struct ProbIndex {
    float prob;
    int index;
  };
  int sample_from_candidates(int n_cand, float coin);

  SamplerConfig config_;
  uint64_t state_;
  std::vector<ProbIndex> cand_;
};

// Index of the largest value (the first one on ties).
int argmax(const float* x, int n);

}  // namespace lk
