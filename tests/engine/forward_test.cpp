// The fast batched forward agrees with the reference forward on random models of every
// supported architecture variant (MHA/GQA/MQA, qwen2 biases, qwen3 q/k norm, llama3 rope
// scaling, both RoPE styles, tied/untied), in f32 within 1e-4 and for f16/bf16/q8_0/q4_0
// weights within 1e-3 (same converted weights; only summation order differs). Batching
// several sequences and chunking prompts do not change the logits.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/forward.h"
#include "engine/random_model.h"
#include "engine/reference_forward.h"
#include "kernels/gemv.h"
#include "kv/contiguous_cache.h"

namespace lk {
namespace {

ModelSpec small_spec(int n_heads, int n_kv_heads) {
  ModelSpec s;
  s.n_layers = 2;
  s.d_model = 64;
  s.n_heads = n_heads;
  s.n_kv_heads = n_kv_heads;
  s.head_dim = 64 / n_heads * 2;  // q_dim = 128 != d_model on purpose
  s.ffn_dim = 96;
  s.vocab_size = 128;
  s.max_context = 256;
  s.rms_eps = 1e-6f;
  return s;
}

std::vector<std::vector<float>> reference_logits(const Model& m, const std::vector<int32_t>& ids) {
  ReferenceForward ref(m, static_cast<int>(ids.size()));
  std::vector<std::vector<float>> out;
  for (size_t p = 0; p < ids.size(); ++p) {
    auto l = ref.forward(ids[p], static_cast<int>(p));
    EXPECT_TRUE(l.is_ok()) << l.status().to_string();
    out.push_back(*l);
  }
  return out;
}

float max_abs_diff(const float* a, const float* b, int n) {
  float e = 0;
  for (int i = 0; i < n; ++i) e = std::max(e, std::abs(a[i] - b[i]));
  return e;
}

struct Variant {
  const char* name;
  int n_heads, n_kv_heads;
  bool qkv_bias, qk_norm, tied, llama3;
  RopeStyle rope;
};

class ForwardVsReference : public ::testing::TestWithParam<Variant> {};

TEST_P(ForwardVsReference, PrefillDecodeAndBatchingMatch) {
  const Variant v = GetParam();
  ModelSpec spec = small_spec(v.n_heads, v.n_kv_heads);
  spec.qkv_bias = v.qkv_bias;
  spec.qk_norm = v.qk_norm;
  spec.tied_embeddings = v.tied;
  if (v.llama3) {
    spec.rope_scaling = RopeScaling::kLlama3;
    spec.rope_factor = 8.0f;
    spec.rope_low_freq_factor = 1.0f;
    spec.rope_high_freq_factor = 4.0f;
    spec.rope_original_context = 64;
    spec.rope_theta = 500000.0f;
  }
  // (dtype, int8 activations): q8_0 runs both decode paths. With int8 activations (the
  // llama.cpp-style VNNI path) the activation rounding (<= 1/254 of each 32-block's max)
  // propagates through the layers, so that case gets a tolerance relative to the logit
  // scale: 2% of max |logit|.
  const std::pair<DType, bool> cases[] = {
      {DType::kF32, false}, {DType::kF16, false}, {DType::kQ8_0, false}, {DType::kQ8_0, true}};
  for (auto [dt, int8] : cases) {
    gemv_set_int8_activations(int8);
    auto m = random_model(spec, dt, 42, v.rope);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    float tol = dt == DType::kF32 ? 1e-4f : 1e-3f;
    std::vector<int32_t> ids;
    for (int i = 0; i < 40; ++i) ids.push_back((i * 37 + 5) % spec.vocab_size);
    const auto want = reference_logits(*m, ids);
    const int V = spec.vocab_size;
    if (int8) {
      float scale = 0;
      for (const auto& row : want) {
        for (float x : row) scale = std::max(scale, std::abs(x));
      }
      tol = 0.02f * scale;
    }

    // (a) whole prompt, all logits, chunk of 16 (3 steps, gemm + attention across chunks)
    auto cache =
        contiguous_cache_create(spec.n_layers, spec.n_kv_heads, spec.head_dim, KvFormat::kF32);
    ASSERT_TRUE(cache.is_ok());
    Forward fwd(*m, cache->get(), ForwardOptions{16});
    std::vector<float> logits;
    SeqBatch b{1, std::span<const int32_t>(ids.data(), 30), true};
    ASSERT_TRUE(fwd.forward(std::span<const SeqBatch>(&b, 1), &logits).is_ok());
    for (int p = 0; p < 30; ++p) {
      ASSERT_LT(max_abs_diff(&logits[p * V], want[p].data(), V), tol)
          << dtype_name(dt) << " pos " << p;
    }
    // (b) decode the rest one token at a time, batched with two other sequences that run
    // the same tokens from scratch (prefill + decode in one step).
    std::vector<int32_t> other(ids.begin(), ids.begin() + 3);
    for (int p = 30; p < 40; ++p) {
      std::vector<SeqBatch> batch = {{1, std::span<const int32_t>(&ids[p], 1), false},
                                     {2, std::span<const int32_t>(ids.data(), 3), p == 30},
                                     {3, std::span<const int32_t>(&ids[p - 30], 1), false}};
      if (p > 30) batch.erase(batch.begin() + 1);
      ASSERT_TRUE(fwd.forward(batch, &logits).is_ok());
      ASSERT_LT(max_abs_diff(&logits[0], want[p].data(), V), tol) << "decode pos " << p;
      if (p == 30) {
        for (int j = 0; j < 3; ++j)
          ASSERT_LT(max_abs_diff(&logits[(1 + j) * V], want[j].data(), V), tol);
        ASSERT_LT(max_abs_diff(&logits[4 * V], want[0].data(), V), tol);
      } else {
        ASSERT_LT(max_abs_diff(&logits[V], want[p - 30].data(), V), tol) << "seq 3 pos " << p - 30;
      }
    }
    (*cache)->check_invariants();
  }
  gemv_set_int8_activations(true);
}

INSTANTIATE_TEST_SUITE_P(
    Architectures, ForwardVsReference,
    ::testing::Values(
        Variant{"llama_gqa", 4, 2, false, false, true, false, RopeStyle::kAdjacentPairs},
        Variant{"llama_mha_untied", 4, 4, false, false, false, false, RopeStyle::kRotateHalf},
        Variant{"mqa", 4, 1, false, false, true, false, RopeStyle::kRotateHalf},
        Variant{"llama3_rope", 4, 2, false, false, true, true, RopeStyle::kRotateHalf},
        Variant{"qwen2_bias", 4, 2, true, false, false, false, RopeStyle::kRotateHalf},
        Variant{"qwen3_qknorm", 4, 2, false, true, true, false, RopeStyle::kRotateHalf}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Forward, RejectsBadInputWithoutTouchingTheCache) {
  ModelSpec spec = small_spec(4, 2);
  auto m = random_model(spec, DType::kF32, 1);
  ASSERT_TRUE(m.is_ok());
  auto cache =
      contiguous_cache_create(spec.n_layers, spec.n_kv_heads, spec.head_dim, KvFormat::kF16);
  Forward fwd(*m, cache->get());
  std::vector<float> logits;
  const std::vector<int32_t> bad = {1, 2, 999};
  SeqBatch b{5, bad, false};
  const Status s = fwd.forward(std::span<const SeqBatch>(&b, 1), &logits);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("999"), std::string::npos);
  EXPECT_EQ((*cache)->seq_length(5), 0);
  const std::vector<int32_t> ok = {1};
  std::vector<SeqBatch> dup = {{5, ok, false}, {5, ok, false}};
  EXPECT_EQ(fwd.forward(dup, &logits).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lk
