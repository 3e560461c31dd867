// The cost model's pure functions: FRAMEWORK.md's formulas, how each factor moves the
// metrics (context, hardware, TP, MoE, GQA vs MHA, compression) and bad input.
#include "analysis/cost_model.h"

#include <gtest/gtest.h>

#include "analysis/errata.h"
#include "model/presets.h"

namespace lk {
namespace {

Metrics at(const ModelSpec& m, const Deployment& d, int64_t ctx, const CompressionPlan& p = {}) {
  Workload w;
  w.context_tokens = ctx;
  w.rounds = 1;
  auto r = analyze_point(m, d, w, p);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : Metrics{};
}

Deployment on(const std::string& hw, int tp = 1) {
  Deployment d;
  d.hw = *hardware_lookup(hw);
  d.tp = tp;
  return d;
}

TEST(CostModel, KvBytesPerTokenIsLayersTimesKvHeadsTimesHeadDimTimesTwoTimesBytes) {
  // 60 × 8 × 128 × 2 (K and V) × 2 bytes.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(framework_model(), 16), 245760.0);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(*model_preset("yi-34b-200k"), 8), 122880.0);
  // DeepSeek-V2's MLA caches a 512 latent + 64 RoPE key per layer: 60 × 576 × 2 bytes.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(*model_preset("deepseek-v2"), 16), 69120.0);
  // Llama-3.1-8B: 32 × 8 × 128 × 2 × 2.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(*model_preset("llama-3.1-8b"), 16), 131072.0);
}

TEST(CostModel, PrefillFlopIsFrameworkFormulaAndChunksAddUp) {
  const ModelSpec m = framework_model();
  const double n = 50000;
  EXPECT_DOUBLE_EQ(prefill_flop(m, 4096, n, 0), n * (2 * 34e9 + 2 * 60 * n * 4096));
  // Chunked prefill costs exactly the whole: Σ c (2p + c) = n².
  double sum = 0, past = 0;
  for (double c : {8192.0, 8192.0, 20000.0, 13616.0}) {
    sum += prefill_flop(m, 4096, c, past);
    past += c;
  }
  EXPECT_NEAR(sum / prefill_flop(m, 4096, n, 0), 1.0, 1e-12);
}

TEST(CostModel, ArithmeticIntensityOfA100) {
  EXPECT_DOUBLE_EQ(framework_deployment().hw.critical_intensity(), 156.0);
}

TEST(CostModel, LongerContextScalesEachMetricAsFrameworkSays) {
  const ModelSpec yi = *model_preset("yi-34b-200k");
  const Deployment d = on("a100-80gb");
  const Metrics a = at(yi, d, 10000), b = at(yi, d, 100000);
  EXPECT_NEAR(a.concurrency / b.concurrency, 10.0, 1e-9);                    // inversely
  EXPECT_NEAR(b.kv_bytes_per_session / a.kv_bytes_per_session, 10.0, 1e-9);  // linearly
  EXPECT_NEAR(b.switch_s / a.switch_s, 10.0, 1e-9);                          // linearly
  EXPECT_GT(b.prefill_s / a.prefill_s, 10.0 * 1.5);  // superlinear (quadratic term)
  const double kv_share = (b.decode_s - a.decode_s) / b.decode_s;
  EXPECT_GT(kv_share, 0.0);  // decode grows with the KV read
  // decode is linear in context: three points on a line.
  const Metrics c = at(yi, d, 190000);
  EXPECT_NEAR((c.decode_s - b.decode_s) / (b.decode_s - a.decode_s), 1.0, 1e-9);
}

TEST(CostModel, NewerHardwareImprovesEachMetricButNotTheGap) {
  const ModelSpec yi = *model_preset("yi-34b-200k");
  const Metrics a4 = at(yi, on("a100-80gb"), 4000), a50 = at(yi, on("a100-80gb"), 50000);
  const Metrics h4 = at(yi, on("h200"), 4000), h50 = at(yi, on("h200"), 50000);
  EXPECT_GT(h50.concurrency, a50.concurrency);
  EXPECT_LT(h50.prefill_s, a50.prefill_s);
  EXPECT_LT(h50.decode_s, a50.decode_s);
  EXPECT_LE(h50.switch_s, a50.switch_s);
  // The ratio of 4K to 50K concurrency is the ratio of KV sizes on any hardware.
  EXPECT_NEAR(a4.concurrency / a50.concurrency, h4.concurrency / h50.concurrency, 1e-9);
}

TEST(CostModel, TensorParallelMultipliesMemoryComputeBandwidthNotLink) {
  const ModelSpec yi = *model_preset("yi-34b-200k");
  const Metrics one = at(yi, on("a100-80gb", 1), 50000), two = at(yi, on("a100-80gb", 2), 50000);
  EXPECT_NEAR(two.free_bytes, 2 * 85.899345920e9 - one.weight_bytes, 1e3);
  EXPECT_LT(two.prefill_s, one.prefill_s * 0.51);
  EXPECT_NEAR(two.decode_s, one.decode_s / 2, 1e-9);
  EXPECT_DOUBLE_EQ(two.switch_s, one.switch_s);
}

TEST(CostModel, MoeUpcycleMultipliesWeightsKeepsKvAndSwitching) {
  const ModelSpec yi = *model_preset("yi-34b-200k"), moe = *model_preset("yi-34b-8x-moe");
  const Deployment d = on("h200", 8);
  const Metrics a = at(yi, d, 50000), b = at(moe, d, 50000);
  EXPECT_DOUBLE_EQ(b.kv_bytes_per_session, a.kv_bytes_per_session);
  EXPECT_DOUBLE_EQ(b.switch_s, a.switch_s);
  EXPECT_GT(b.weight_bytes / a.weight_bytes, 6.0);
  // Two active experts: prefill and batch-1 decode grow ~2× (attention is shared).
  EXPECT_GT(b.prefill_s / a.prefill_s, 1.4);
  EXPECT_LT(b.prefill_s / a.prefill_s, 2.0);
  EXPECT_GT(b.decode_s / a.decode_s, 1.5);
  EXPECT_LT(b.decode_s / a.decode_s, 2.0);
  // A large batch touches every expert: reads approach the full weights.
  EXPECT_NEAR(weight_bytes_read(moe, 16, 1000) / weight_bytes(moe, 16), 1.0, 1e-6);
  EXPECT_DOUBLE_EQ(weight_bytes_read(yi, 16, 1), weight_bytes(yi, 16));
}

TEST(CostModel, MhaScalesKvByKvHeads) {
  ModelSpec m = framework_model();
  const Metrics gqa = at(m, framework_deployment(), 50000);
  m.n_kv_heads = 32;
  const Metrics mha = at(m, framework_deployment(), 50000);
  EXPECT_DOUBLE_EQ(mha.kv_bytes_per_session / gqa.kv_bytes_per_session, 4.0);
}

TEST(CostModel, CompressionDimensionsComposeByMultiplication) {
  // FRAMEWORK.md: 1/4 of heads × 1/2 of tokens × 4-bit ≈ 32× smaller.
  CompressionPlan p;
  p.head = 0.25;
  p.token = 0.5;
  p.hidden_bits = 4;
  EXPECT_DOUBLE_EQ(p.memory_factor(50000, 16), 1.0 / 32);
  const ModelSpec yi = *model_preset("yi-34b-200k");
  const Metrics plain = at(yi, on("a100-80gb"), 50000), small = at(yi, on("a100-80gb"), 50000, p);
  EXPECT_NEAR(plain.kv_bytes_per_session / small.kv_bytes_per_session, 32.0, 1e-9);
  EXPECT_NEAR(plain.switch_s / small.switch_s, 32.0, 1e-9);
  EXPECT_DOUBLE_EQ(small.prefill_s, plain.prefill_s);  // head/token/hidden do not help prefill
  EXPECT_LT(small.decode_s, plain.decode_s);
}

TEST(CostModel, NamedMethodsUseTheirTypicalFactors) {
  const ModelSpec yi = *model_preset("yi-34b-200k");
  CompressionPlan p;
  ASSERT_TRUE(compression_add_method(p, "snapkv", yi).is_ok());
  ASSERT_TRUE(compression_add_method(p, "kivi", yi).is_ok());
  EXPECT_DOUBLE_EQ(p.memory_factor(20480, 16), 0.1 * 2 / 16);  // 2048 of 20480 tokens, 2-bit
  EXPECT_DOUBLE_EQ(p.memory_factor(1000, 16), 2.0 / 16);       // budget above the context
  CompressionPlan q;
  ASSERT_TRUE(compression_add_method(q, "quest", yi).is_ok());
  EXPECT_DOUBLE_EQ(q.memory_factor(40960, 16), 1.0);  // Quest saves reads, not memory
  EXPECT_DOUBLE_EQ(q.read_factor(40960, 16), 0.1);
  CompressionPlan y;
  ASSERT_TRUE(compression_add_method(y, "yoco", yi).is_ok());
  EXPECT_DOUBLE_EQ(y.memory_factor(1000, 16), 1.0 / 60);
  EXPECT_DOUBLE_EQ(y.prefill_attention_factor(), 1.0 / 60);
  CompressionPlan bad;
  Status s = compression_add_method(bad, "h3o", yi);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("snapkv"), std::string::npos);
}

TEST(CostModel, BadInputNamesTheField) {
  const ModelSpec yi = *model_preset("yi-34b-200k");
  Deployment d = on("a100-80gb");
  Workload w;
  w.context_tokens = -5;
  auto r = analyze_point(yi, d, w, {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--context"), std::string::npos);
  w = Workload{};
  d.hw.bw = 0;
  r = analyze_point(yi, d, w, {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("--bw"), std::string::npos);
  d = on("a100-80gb");
  d.compute_eff = 1.5;
  EXPECT_FALSE(analyze_point(yi, d, w, {}).is_ok());
  ModelSpec broken = yi;
  broken.n_kv_heads = 0;
  r = analyze_point(broken, on("a100-80gb"), w, {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("num_key_value_heads"), std::string::npos);
  auto hw = hardware_lookup("a200");
  ASSERT_FALSE(hw.is_ok());
  EXPECT_EQ(hw.status().code(), StatusCode::kNotFound);
  EXPECT_NE(hw.status().message().find("a100-80gb"), std::string::npos);
}

TEST(CostModel, ModelThatDoesNotFitServesNoSessions) {
  const ModelSpec big = *model_preset("llama-3.1-405b");
  const Metrics m = at(big, on("a100-80gb"), 4000);
  EXPECT_LT(m.free_bytes, 0);
  EXPECT_EQ(m.concurrency, 0);
  EXPECT_EQ(m.sessions_per_hour, 0);
  EXPECT_EQ(m.bound, "memory");
}

TEST(CostModel, SessionThroughputIsTheTightestResource) {
  const ModelSpec yi = *model_preset("yi-34b-200k");
  Workload w;
  w.context_tokens = 50000;
  auto r = analyze_point(yi, on("a100-80gb"), w, {});
  ASSERT_TRUE(r.is_ok());
  const Metrics& m = *r;
  EXPECT_GT(m.sessions_per_hour, 0);
  EXPECT_LE(m.sessions_per_hour, m.sph_compute);
  EXPECT_LE(m.sessions_per_hour, m.sph_memory);
  EXPECT_LE(m.sessions_per_hour, m.sph_link);
  // One slot at 50K: the slot turns over once per on-device session time.
  EXPECT_EQ(m.concurrency_sessions, 1);
  EXPECT_NEAR(m.sph_memory, 3600.0 / m.session_active_s, 1e-9);
}

}  // namespace
}  // namespace lk
