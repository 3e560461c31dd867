// Keys decoded from every storage format of the KV manager, and the attention probabilities
// policies see (causal, normalised, equal to a direct softmax).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/observe.h"
#include "kv/kv_manager.h"

namespace lk::compress {
namespace {

constexpr int kD = 8;

class ObserveFormats : public ::testing::TestWithParam<KvFormat> {};

TEST_P(ObserveFormats, KeysDecodeWithinQuantizationError) {
  KvManagerConfig c;
  c.n_layers = 1;
  c.n_kv_heads = 1;
  c.head_dim = kD;
  c.block_tokens = 4;
  c.format = GetParam();
  c.residual_format = KvFormat::kF16;
  c.budget_bytes = 1 << 20;
  c.model_digest = "t";
  c.prefix_cache = false;
  auto kv = std::move(KvManager::create(c)).value();
  std::mt19937 rng(9);
  std::normal_distribution<float> nd;
  const int n = 10;
  std::vector<float> k(n * kD), v(n * kD);
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  std::vector<int32_t> pos(n);
  for (int i = 0; i < n; ++i) pos[i] = i;
  ASSERT_TRUE(kv->append(1, 0, pos, k.data(), v.data()).is_ok());
  std::vector<float> keys;
  std::vector<int32_t> kp;
  view_keys(kv->view(1, 0, 0), kD, &keys, &kp);
  ASSERT_EQ(kp, pos);
  const float tol = GetParam() == KvFormat::kInt2   ? 1.5f
                    : GetParam() == KvFormat::kInt4 ? 0.4f
                    : GetParam() == KvFormat::kInt8 ? 0.03f
                    : GetParam() == KvFormat::kF32  ? 0.0f
                                                    : 0.02f;
  for (int i = 0; i < n * kD; ++i) EXPECT_NEAR(keys[i], k[i], tol) << i;

  // Probabilities: causal, rows sum to 1, equal to softmax over the decoded keys.
  std::vector<float> q(2 * kD);
  for (auto& x : q) x = nd(rng);
  const int32_t qpos[1] = {6};
  std::vector<float> probs;
  attention_probs(kv->view(1, 0, 0), q.data(), 2 * kD, qpos, 1, 2, kD, 0.5f, &probs, &kp);
  ASSERT_EQ(probs.size(), 2u * n);
  for (int g = 0; g < 2; ++g) {
    double sum = 0, z = 0;
    std::vector<double> e(7);
    for (int t = 0; t <= 6; ++t) {
      double s = 0;
      for (int d = 0; d < kD; ++d) s += q[g * kD + d] * keys[t * kD + d];
      e[t] = std::exp(0.5 * s);
      z += e[t];
    }
    for (int t = 0; t < n; ++t) {
      sum += probs[g * n + t];
      if (t > 6)
        EXPECT_EQ(probs[g * n + t], 0.0f);
      else
        EXPECT_NEAR(probs[g * n + t], e[t] / z, 1e-5);
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, ObserveFormats,
                         ::testing::Values(KvFormat::kF32, KvFormat::kF16, KvFormat::kBF16,
                                           KvFormat::kInt8, KvFormat::kInt4, KvFormat::kInt2));

}  // namespace
}  // namespace lk::compress
