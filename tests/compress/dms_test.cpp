// DMS: the dms_* keys of a config.json, both decision forms, delayed eviction, and the
// training-free form.
#include <gtest/gtest.h>

#include <numeric>

#include "compress/dms.h"

namespace lk::compress {
namespace {

TEST(DmsConfig, ReadsOfficialKeys) {
  auto j = nlohmann::json::parse(R"({"model_type": "qwen3", "dms_alpha_scale": 50.0,
    "dms_initial_alpha_offset": 2.5, "dms_window_size": 256, "dms_separate_alpha": true,
    "dms_alpha_per": "layer", "dms_cr": 4, "dms_disable_eviction": false,
    "dms_paged_attention_block_size": 128, "dms_tau": 0.1})");
  auto c = dms_config_from_json(j);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_TRUE(c->present);
  EXPECT_DOUBLE_EQ(c->alpha_scale, 50.0);
  EXPECT_DOUBLE_EQ(c->initial_alpha_offset, 2.5);
  EXPECT_EQ(c->window_size, 256);
  EXPECT_TRUE(c->separate_alpha);
  EXPECT_EQ(c->alpha_per, "layer");
  EXPECT_DOUBLE_EQ(c->cr, 4);
  EXPECT_EQ(c->paged_attention_block_size, 128);
}

TEST(DmsConfig, AbsentAndInvalid) {
  auto none = dms_config_from_json(nlohmann::json::parse(R"({"model_type": "llama"})"));
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->present);
  auto bad = dms_config_from_json(nlohmann::json::parse(R"({"dms_alpha_per": "token"})"));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("valid: head, layer"), std::string::npos);
  auto bad2 = dms_config_from_json(nlohmann::json::parse(R"({"dms_window_size": "big"})"));
  ASSERT_FALSE(bad2.is_ok());
  EXPECT_NE(bad2.status().message().find("dms_window_size"), std::string::npos);
  auto missing = dms_config_from_file("/nonexistent/model");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(DmsNeuron, LastChannelOfFirstHeadOfEachGroup) {
  // 2 tokens, 4 query heads, 2 kv heads (group 2), head_dim 4.
  const int H = 4, KV = 2, D = 4;
  std::vector<float> q(2 * H * D, 1.0f);
  q[(0 * H + 0) * D + 3] = 0.06f;  // token 0, group 0 -> 0.06 * 100 - 5 = 1 (evict)
  q[(0 * H + 2) * D + 3] = 0.04f;  // token 0, group 1 -> -1 (keep)
  q[(1 * H + 0) * D + 3] = -0.5f;  // token 1, group 0 -> -55
  q[(1 * H + 2) * D + 3] = 0.1f;   // token 1, group 1 -> 5
  DmsModelConfig cfg;
  std::vector<float> logits(2 * KV);
  dms_neuron_logits(q.data(), 2, H, KV, D, cfg, logits.data());
  EXPECT_NEAR(logits[0], 1.0f, 1e-5);
  EXPECT_NEAR(logits[1], -1.0f, 1e-5);
  EXPECT_NEAR(logits[2], -55.0f, 1e-4);
  EXPECT_NEAR(logits[3], 5.0f, 1e-5);
  // The decision channel is zeroed; the other heads' last channels are untouched.
  EXPECT_EQ(q[(0 * H + 0) * D + 3], 0.0f);
  EXPECT_EQ(q[(0 * H + 2) * D + 3], 0.0f);
  EXPECT_EQ(q[(0 * H + 1) * D + 3], 1.0f);
  EXPECT_EQ(q[(0 * H + 3) * D + 3], 1.0f);
  EXPECT_EQ(dms_decisions(logits, KV, cfg), (std::vector<uint8_t>{1, 0, 0, 1}));
  cfg.alpha_per = "layer";  // head 0 decides for the layer
  EXPECT_EQ(dms_decisions(logits, KV, cfg), (std::vector<uint8_t>{1, 1, 0, 0}));
  cfg.disable_eviction = true;
  EXPECT_EQ(dms_decisions(logits, KV, cfg), (std::vector<uint8_t>{0, 0, 0, 0}));
}

TEST(DmsProjection, NormalizedHiddenThroughLinear) {
  // d_model 2, one token x = (3, 4): rms = sqrt(12.5); xn = x / rms (norm weights 1).
  std::vector<float> x = {3, 4}, norm = {1, 1}, proj = {1, 0, 0, 1}, bias = {0.5f, 0};
  DmsModelConfig cfg;
  cfg.alpha_scale = 1.0;
  cfg.initial_alpha_offset = 1.0;
  std::vector<float> logits(2);
  dms_projection_logits(x.data(), 1, 2, norm.data(), 0.0f, proj.data(), bias.data(), 2, cfg,
                        logits.data());
  const float rms = std::sqrt(12.5f);
  EXPECT_NEAR(logits[0], 3 / rms + 0.5f - 1.0f, 1e-5);
  EXPECT_NEAR(logits[1], 4 / rms - 1.0f, 1e-5);
}

LayerState layer(std::vector<std::vector<int32_t>>& held, int64_t seq_len) {
  LayerState st;
  st.seq_len = seq_len;
  st.phase = Phase::kDecode;
  for (auto& h : held) st.held.emplace_back(h);
  return st;
}

TEST(DmsPolicy, DelayedEvictionFromModelDecisions) {
  DmsPolicy p;
  DmsModelConfig cfg;
  cfg.window_size = 3;
  p.use_model_decisions(cfg);
  EXPECT_EQ(p.window(), 3);
  std::vector<int32_t> pos(10);
  std::iota(pos.begin(), pos.end(), 0);
  std::vector<uint8_t> ev(10 * 2, 0);
  ev[2 * 2 + 0] = 1;  // token 2, head 0
  ev[5 * 2 + 0] = 1;  // token 5, head 0
  ev[5 * 2 + 1] = 1;  // token 5, head 1
  p.record_decisions(0, pos, ev, 2);
  std::vector<std::vector<int32_t>> held = {pos, pos};
  // seq_len 5: token 2 is still visible to query 5 (2 + 3 >= 5): nothing yet.
  auto out = p.select(layer(held, 5));
  EXPECT_TRUE(out[0].empty() && out[1].empty());
  out = p.select(layer(held, 6));
  EXPECT_EQ(out[0], (std::vector<int32_t>{2}));
  EXPECT_TRUE(out[1].empty());
  EXPECT_EQ(p.pending(0, 0), 1);
  // The state persists across calls (and rounds) until reset().
  out = p.select(layer(held, 9));
  EXPECT_EQ(out[0], (std::vector<int32_t>{5}));
  EXPECT_EQ(out[1], (std::vector<int32_t>{5}));
  EXPECT_EQ(p.pending(0, 0), 0);
  p.record_decisions(0, std::vector<int32_t>{12}, std::vector<uint8_t>{1, 0}, 2);
  p.reset();
  EXPECT_EQ(p.pending(0, 0), 0);
}

TEST(DmsPolicy, TrainingFreeThreshold) {
  DmsPolicy p(DmsPolicyConfig{2, 0.2});
  // Keys 0..3; queries 1..3 each attend; mean attention received in the window:
  std::vector<int32_t> keys = {0, 1, 2, 3}, queries = {1, 2, 3};
  std::vector<float> probs = {
      0.5f, 0.5f,  0.0f, 0.0f,  // query 1
      0.6f, 0.1f,  0.3f, 0.0f,  // query 2
      0.0f, 0.05f, 0.9f, 0.05f  // query 3 (key 0 outside its window: 3 - 0 > 2)
  };
  AttentionObservation o;
  o.key_positions = keys;
  o.query_positions = queries;
  o.probs = probs;
  p.observe(o);
  std::vector<std::vector<int32_t>> held = {keys};
  // seq_len 4: keys 0 (0 + 2 < 4) and 1 (1 + 2 < 4) are decided. 0: mean(.5,.6) = .55 keep;
  // 1: mean(.5, .1, .05) = .217 keep.
  EXPECT_TRUE(p.select(layer(held, 4))[0].empty());
  // Key 2 decided at seq_len 5: received .3 and .9 -> keep; key 3 at 6: .05 -> evict.
  EXPECT_TRUE(p.select(layer(held, 5))[0].empty());
  EXPECT_EQ(p.select(layer(held, 6))[0], (std::vector<int32_t>{3}));
}

}  // namespace
}  // namespace lk::compress
