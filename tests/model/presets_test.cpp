// Presets against the parameter counts their publishers state (model cards / papers):
// the shapes copied from each config.json must add up to the published size.
#include "model/presets.h"

#include <gtest/gtest.h>

namespace lk {
namespace {

struct Published {
  const char* id;
  double total_b;   // published total parameters, billions
  double active_b;  // published active parameters (MoE), billions; 0 = dense
  double tol;       // relative tolerance
};

TEST(Presets, ShapesAddUpToPublishedParameterCounts) {
  const Published cases[] = {
      {"yi-34b-200k", 34.39, 0, 0.01},     // 01-ai model card: 34B (34.39B in safetensors)
      {"command-r-plus", 104, 0, 0.01},    // Cohere model card: 104B
      {"llama-3.1-8b", 8.03, 0, 0.01},     // Meta: 8.03B
      {"llama-3.1-70b", 70.6, 0, 0.01},    // Meta: 70.6B
      {"llama-3.1-405b", 405.9, 0, 0.01},  // Meta: 405B (405.9B)
      {"qwen2.5-7b", 7.61, 0, 0.01},       // Qwen2.5 report: 7.61B
      {"qwen2.5-72b", 72.7, 0, 0.01},      // Qwen2.5 report: 72.7B
      {"mixtral-8x7b", 46.7, 12.9, 0.01},  // Mistral: 46.7B total, 12.9B active
      {"deepseek-v2", 236, 21, 0.001},     // DeepSeek-V2 paper: 236B total, 21B active
  };
  for (const auto& c : cases) {
    auto m = model_preset(c.id);
    ASSERT_TRUE(m.is_ok()) << c.id;
    EXPECT_NEAR(m->total_params() / 1e9 / c.total_b, 1.0, c.tol)
        << c.id << " " << m->total_params();
    if (c.active_b > 0) {
      EXPECT_NEAR(m->active_params() / 1e9 / c.active_b, 1.0, 0.02)
          << c.id << " " << m->active_params();
    }
  }
}

TEST(Presets, EveryPresetResolvesAndUnknownNamesTheChoices) {
  for (const auto& id : model_preset_names()) EXPECT_TRUE(model_preset(id).is_ok()) << id;
  EXPECT_TRUE(model_preset("Yi-34B-200K").is_ok());  // case-insensitive, display name too
  auto r = model_preset("yi-35b");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("command-r-plus"), std::string::npos);
}

TEST(Presets, MoeUpcycleSharesYiAttention) {
  const ModelSpec yi = *model_preset("yi-34b-200k"), moe = *model_preset("yi-34b-8x-moe");
  EXPECT_EQ(moe.n_layers, yi.n_layers);
  EXPECT_EQ(moe.n_kv_heads, yi.n_kv_heads);
  EXPECT_EQ(moe.n_experts, 8);
  EXPECT_EQ(moe.n_experts_active, 2);
}

}  // namespace
}  // namespace lk
