#include "engine/sampler.h"

#include <algorithm>
#include <cmath>

namespace lk {

Status sampler_config_validate(const SamplerConfig& c) {
  if (!(c.temperature >= 0.0f) || !std::isfinite(c.temperature)) {
    return invalid_argument("--temp must be >= 0 (got {})", c.temperature);
  }
  if (c.top_k < 0) return invalid_argument("--top-k must be >= 0 (got {})", c.top_k);
  if (!std::isfinite(c.top_p)) return invalid_argument("--top-p must be finite");
  return Status::ok();
}

int argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

Sampler::Sampler(const SamplerConfig& config)
    : config_(config), state_(config.seed != 0 ? config.seed : 0x853c49e6748fea9bull) {}

uint32_t Sampler::random_u32() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
}

float Sampler::random_f32() {
  return static_cast<float>(random_u32() >> 8) / 16777216.0f;
}

int Sampler::sample_from_candidates(int n_cand, float coin) {
  // Keep the smallest prefix (by descending probability) whose mass exceeds top_p, then
  // draw within it: r = coin * kept mass (run.c's sample_topp).
  const bool use_top_p = config_.top_p > 0.0f && config_.top_p < 1.0f;
  float cumulative = 0.0f;
  int last = n_cand - 1;
  for (int i = 0; i < n_cand; ++i) {
    cumulative += cand_[i].prob;
    if (use_top_p && cumulative > config_.top_p) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (int i = 0; i <= last; ++i) {
    cdf += cand_[i].prob;
    if (r < cdf) return cand_[i].index;
  }
  return cand_[last].index;
}

int Sampler::sample(float* logits, int n) {
  if (config_.temperature == 0.0f) return argmax(logits, n);
  for (int i = 0; i < n; ++i) logits[i] /= config_.temperature;
  // softmax, in run.c's order of operations
  float max_val = logits[0];
  for (int i = 1; i < n; ++i) max_val = std::max(max_val, logits[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    logits[i] = std::exp(logits[i] - max_val);
    sum += logits[i];
  }
  for (int i = 0; i < n; ++i) logits[i] /= sum;
  const float* probs = logits;
  const float coin = random_f32();

  const bool use_top_p = config_.top_p > 0.0f && config_.top_p < 1.0f;
  const auto by_prob_desc = [](const ProbIndex& a, const ProbIndex& b) { return a.prob > b.prob; };
  cand_.clear();
  if (config_.top_k > 0 && config_.top_k < n) {
    cand_.resize(n);
    for (int i = 0; i < n; ++i) cand_[i] = {probs[i], i};
    std::partial_sort(cand_.begin(), cand_.begin() + config_.top_k, cand_.end(),
                      [](const ProbIndex& a, const ProbIndex& b) {
                        return a.prob > b.prob || (a.prob == b.prob && a.index < b.index);
                      });
    cand_.resize(config_.top_k);
    return sample_from_candidates(config_.top_k, coin);
  }
  if (!use_top_p) {  // run.c's sample_mult: walk the CDF in index order
    float cdf = 0.0f;
    for (int i = 0; i < n; ++i) {
      cdf += probs[i];
      if (coin < cdf) return i;
    }
    return n - 1;
  }
  // Tokens below this cannot be in the nucleus (run.c's cutoff); sort what is left.
  const float cutoff = (1.0f - config_.top_p) / static_cast<float>(n - 1);
  for (int i = 0; i < n; ++i) {
    if (probs[i] >= cutoff) cand_.push_back({probs[i], i});
  }
  std::stable_sort(cand_.begin(), cand_.end(), by_prob_desc);
  return sample_from_candidates(static_cast<int>(cand_.size()), coin);
}

}  // namespace lk
