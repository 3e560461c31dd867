// Attention read directly from each storage format, over the paged manager's non-contiguous
// blocks, against an f32 reference attention over the original (unquantized) K/V.
// Error bounds (max |out - ref|, K,V ~ N(0,1), D = 64, 200 tokens; decode / causal query at
// position 10): f32 1e-5, f16 1e-3 / 2e-3, bf16 8e-3 / 1e-2, int8 1.5e-2 / 3e-2,
// int4 0.15 / 0.25, int2 0.4 / 1.0 (measured: ~1/2 to 1/5 of each bound; see kv/README.md).
#include "kernels/attention_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kv_test_util.h"

namespace lk {
namespace {

// Max |out - ref| allowed. Decode averages over 200 tokens; a causal query at position 10
// sees 11 tokens, so one token's quantization error weighs more there.
float bound_for(KvFormat f, bool causal) {
  switch (f) {
    case KvFormat::kF32: return 1e-5f;
    case KvFormat::kF16: return causal ? 2e-3f : 1e-3f;
    case KvFormat::kBF16: return causal ? 1e-2f : 8e-3f;
    case KvFormat::kInt8: return causal ? 3e-2f : 1.5e-2f;
    case KvFormat::kInt4: return causal ? 0.25f : 0.15f;
    case KvFormat::kInt2: return causal ? 1.0f : 0.4f;
  }
  return 0;
}

class AttentionFormat : public ::testing::TestWithParam<KvFormat> {};

TEST_P(AttentionFormat, MatchesF32ReferenceOverPagedBlocks) {
  const KvFormat f = GetParam();
  KvManagerConfig c = test::small_config(f, 16, 64 << 20);
  c.n_layers = 1;
  c.head_dim = 64;
  auto m = test::make_manager(c);
  std::mt19937 rng(11);
  const int n = 200;  // 12 full groups + a residual of 8 for KIVI
  // Two sequences appended in interleaved chunks: their blocks are not contiguous.
  std::vector<float> k = test::random_kv(n, c, rng), v = test::random_kv(n, c, rng);
  auto other = test::random_kv(n, c, rng);
  for (int s = 0; s < n; s += 25) {
    std::vector<float> kc(k.begin() + s * 2 * 64, k.begin() + (s + 25) * 2 * 64);
    std::vector<float> vc(v.begin() + s * 2 * 64, v.begin() + (s + 25) * 2 * 64);
    ASSERT_TRUE(test::append_all_layers(*m, 1, s, 25, kc, vc).is_ok());
    std::vector<float> oc(other.begin() + s * 2 * 64, other.begin() + (s + 25) * 2 * 64);
    ASSERT_TRUE(test::append_all_layers(*m, 2, s, 25, oc, oc).is_ok());
  }
  m->check_invariants();
  const int D = 64, n_q = 4;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int kh = 0; kh < c.n_kv_heads; ++kh) {
    KvHeadView view = m->view(1, 0, kh);
    ASSERT_EQ(view.n_tokens(), n);
    if (kv_format_is_kivi(f)) {
      ASSERT_EQ(view.runs.back().format, KvFormat::kF16);  // the full-precision residual
      ASSERT_EQ(view.runs.back().n_tokens, n % 16);
      ASSERT_EQ(view.runs.front().format, f);
    }
    std::vector<float> keys(n * D), vals(n * D);
    std::vector<int32_t> pos(n);
    for (int t = 0; t < n; ++t) {
      pos[t] = t;
      for (int d = 0; d < D; ++d) {
        keys[t * D + d] = k[(t * c.n_kv_heads + kh) * D + d];
        vals[t * D + d] = v[(t * c.n_kv_heads + kh) * D + d];
      }
    }
    std::vector<float> q(n_q * D);
    for (auto& x : q) x = nd(rng);
    std::vector<float> out(n_q * D), ref(n_q * D);
    // Decode: no mask.
    attention_view(view, D, q.data(), nullptr, n_q, scale, out.data());
    test::reference_attention(keys, vals, pos, D, q.data(), nullptr, n_q, scale, ref.data());
    float err = 0;
    for (int i = 0; i < n_q * D; ++i) err = std::max(err, std::fabs(out[i] - ref[i]));
    EXPECT_LE(err, bound_for(f, false)) << kv_format_name(f) << " decode";
    // Chunked prefill: queries at positions 10, 77, 150, 199 see only earlier tokens.
    const int32_t qp[n_q] = {10, 77, 150, 199};
    attention_view(view, D, q.data(), qp, n_q, scale, out.data());
    test::reference_attention(keys, vals, pos, D, q.data(), qp, n_q, scale, ref.data());
    err = 0;
    for (int i = 0; i < n_q * D; ++i) err = std::max(err, std::fabs(out[i] - ref[i]));
    EXPECT_LE(err, bound_for(f, true)) << kv_format_name(f) << " causal";
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, AttentionFormat,
                         ::testing::Values(KvFormat::kF32, KvFormat::kF16, KvFormat::kBF16,
                                           KvFormat::kInt8, KvFormat::kInt4, KvFormat::kInt2),
                         [](const auto& info) { return std::string(kv_format_name(info.param)); });

// A quantized format must actually change the result less than a wrong cache would: the
// test above cannot pass by returning, e.g., the mean of V.
TEST(AttentionQuant, DetectsWrongKeys) {
  KvManagerConfig c = test::small_config(KvFormat::kInt4, 16, 16 << 20);
  c.n_layers = 1;
  c.head_dim = 64;
  auto m = test::make_manager(c);
  std::mt19937 rng(5);
  const int n = 64, D = 64;
  auto k = test::random_kv(n, c, rng, 3.0f), v = test::random_kv(n, c, rng);
  ASSERT_TRUE(test::append_all_layers(*m, 1, 0, n, k, v).is_ok());
  std::vector<float> keys(n * D), vals(n * D), shuffled(n * D);
  std::vector<int32_t> pos(n);
  for (int t = 0; t < n; ++t) {
    pos[t] = t;
    for (int d = 0; d < D; ++d) {
      keys[t * D + d] = k[(t * 2) * D + d];
      vals[t * D + d] = v[(t * 2) * D + d];
      shuffled[t * D + d] = k[(((t + 7) % n) * 2) * D + d];
    }
  }
  std::vector<float> q(keys.begin() + 3 * D, keys.begin() + 4 * D);  // attends to token 3
  std::vector<float> out(D), ref(D), wrong(D);
  attention_view(m->view(1, 0, 0), D, q.data(), nullptr, 1, 0.125f, out.data());
  test::reference_attention(keys, vals, pos, D, q.data(), nullptr, 1, 0.125f, ref.data());
  test::reference_attention(shuffled, vals, pos, D, q.data(), nullptr, 1, 0.125f, wrong.data());
  float e_ok = 0, e_wrong = 0;
  for (int d = 0; d < D; ++d) {
    e_ok = std::max(e_ok, std::fabs(out[d] - ref[d]));
    e_wrong = std::max(e_wrong, std::fabs(out[d] - wrong[d]));
  }
  EXPECT_LT(e_ok * 4, e_wrong);
}

}  // namespace
}  // namespace lk

namespace lk {
namespace {

// Cross-check with the engine's scalar attention (kernels/attention.h), which this module
// did not write: same view of float runs from the paged manager, same query layout (GQA
// group of 3, causal chunk).
TEST(AttentionQuant, AgreesWithEngineScalarKernelOnFloatRuns) {
  for (KvFormat f : {KvFormat::kF32, KvFormat::kF16, KvFormat::kBF16}) {
    KvManagerConfig c = test::small_config(f, 16, 16 << 20);
    c.n_layers = 1;
    c.head_dim = 32;
    auto m = test::make_manager(c);
    std::mt19937 rng(21);
    const int n = 70, D = 32, G = 3, nq = 5;
    auto k = test::random_kv(n, c, rng), v = test::random_kv(n, c, rng);
    ASSERT_TRUE(test::append_all_layers(*m, 1, 0, n, k, v).is_ok());
    ASSERT_TRUE(m->evict(1, 0, 1, std::vector<int32_t>{3, 4, 40}).is_ok());
    std::normal_distribution<float> nd;
    std::vector<float> q(nq * G * D);
    for (auto& x : q) x = nd(rng);
    const int32_t qpos[nq] = {5, 20, 41, 60, 69};
    AttentionQuery query;
    query.q = q.data();
    query.stride = G * D;
    query.positions = qpos;
    query.n_q = nq;
    query.group = G;
    query.head_dim = D;
    query.scale = 0.2f;
    for (int kh = 0; kh < c.n_kv_heads; ++kh) {
      KvHeadView view = m->view(1, 0, kh);
      std::vector<float> mine(q.size()), theirs(q.size());
      ASSERT_TRUE(attention_kv_head_quant(view, query, mine.data(), G * D).is_ok());
      ASSERT_TRUE(attention_kv_head_scalar(view, query, theirs.data(), G * D).is_ok());
      for (size_t i = 0; i < q.size(); ++i)
        ASSERT_NEAR(mine[i], theirs[i], 2e-5f) << kv_format_name(f) << " i=" << i;
    }
  }
}

}  // namespace
}  // namespace lk
