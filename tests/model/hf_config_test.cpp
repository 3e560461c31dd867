// config.json -> ModelSpec for each supported architecture (fixtures copied from the
// published configs), and the errors for missing, ill-typed and unsupported fields.
#include <gtest/gtest.h>

#include "model/hf_config.h"
#include "test_util.h"

namespace lk {
namespace {

ModelSpec load(const std::string& name) {
  auto p = test::source_dir() / "tests/model/fixtures/hf_configs" / name;
  auto s = model_spec_from_hf_config_file(p.string());
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? *s : ModelSpec{};
}

TEST(HfConfig, Llama31WithLlama3RopeScaling) {
  ModelSpec s = load("llama-3.1-8b.json");
  EXPECT_EQ(s.arch, "llama");
  EXPECT_EQ(s.n_layers, 32);
  EXPECT_EQ(s.d_model, 4096);
  EXPECT_EQ(s.n_heads, 32);
  EXPECT_EQ(s.n_kv_heads, 8);
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_EQ(s.ffn_dim, 14336);
  EXPECT_EQ(s.vocab_size, 128256);
  EXPECT_EQ(s.max_context, 131072);
  EXPECT_FALSE(s.tied_embeddings);
  EXPECT_FLOAT_EQ(s.rope_theta, 500000.f);
  EXPECT_FLOAT_EQ(s.rms_eps, 1e-5f);
  EXPECT_EQ(s.rope_scaling, RopeScaling::kLlama3);
  EXPECT_FLOAT_EQ(s.rope_factor, 8.f);
  EXPECT_FLOAT_EQ(s.rope_low_freq_factor, 1.f);
  EXPECT_FLOAT_EQ(s.rope_high_freq_factor, 4.f);
  EXPECT_EQ(s.rope_original_context, 8192);
  // 8.03B parameters as published.
  EXPECT_NEAR(s.total_params() / 1e9, 8.03, 0.01);
}

TEST(HfConfig, Qwen2HasQkvBiasAndTiedVariant) {
  ModelSpec s = load("qwen2-7b.json");
  EXPECT_EQ(s.arch, "qwen2");
  EXPECT_TRUE(s.qkv_bias);
  EXPECT_FALSE(s.qk_norm);
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_EQ(s.n_kv_heads, 4);
  EXPECT_FLOAT_EQ(s.rms_eps, 1e-6f);
  ModelSpec t = load("qwen2.5-0.5b.json");
  EXPECT_TRUE(t.tied_embeddings);
  EXPECT_EQ(t.head_dim, 64);
  EXPECT_NEAR(t.total_params() / 1e9, 0.494, 0.005);
}

TEST(HfConfig, Qwen3HeadDimAndQkNorm) {
  ModelSpec s = load("qwen3-8b.json");
  EXPECT_EQ(s.arch, "qwen3");
  EXPECT_TRUE(s.qk_norm);
  EXPECT_FALSE(s.qkv_bias);
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_EQ(s.n_layers, 36);
  EXPECT_EQ(s.rope_scaling, RopeScaling::kNone);
  ModelSpec t = load("tiny-qwen3.json");
  EXPECT_EQ(t.head_dim, 32);  // explicit, != hidden / heads
}

TEST(HfConfig, MistralMixtralDeepseek) {
  ModelSpec m = load("mistral-7b-v0.3.json");
  EXPECT_EQ(m.arch, "mistral");
  EXPECT_EQ(m.vocab_size, 32768);
  ModelSpec x = load("mixtral-8x7b.json");
  EXPECT_EQ(x.arch, "mixtral");
  EXPECT_EQ(x.n_experts, 8);
  EXPECT_EQ(x.n_experts_active, 2);
  EXPECT_NEAR(x.total_params() / 1e9, 46.7, 0.1);
  ModelSpec d = load("deepseek-v2-lite.json");
  EXPECT_EQ(d.arch, "deepseek2");
  EXPECT_TRUE(d.is_mla());
  EXPECT_EQ(d.kv_lora_rank, 512);
  EXPECT_EQ(d.qk_rope_head_dim, 64);
  EXPECT_EQ(d.head_dim, 192);
  EXPECT_EQ(d.n_experts, 64);
  EXPECT_EQ(d.n_shared_experts, 2);
  EXPECT_EQ(d.ffn_dim, 1408);
  EXPECT_EQ(d.rope_scaling, RopeScaling::kYarn);
  EXPECT_EQ(d.kv_elements_per_token_per_layer(), 576);
}

void expect_error(const std::string& json, StatusCode code, const std::string& needle) {
  auto s = model_spec_from_hf_config_text(json, "cfg.json");
  ASSERT_FALSE(s.is_ok()) << json;
  EXPECT_EQ(s.status().code(), code) << s.status().message();
  EXPECT_NE(s.status().message().find("cfg.json"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find(needle), std::string::npos) << s.status().message();
}

const char* kBase =
    R"("hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,)"
    R"("num_key_value_heads":2,"vocab_size":100)";

TEST(HfConfig, Errors) {
  expect_error("{", StatusCode::kInvalidArgument, "not valid JSON");
  expect_error("[]", StatusCode::kInvalidArgument, "JSON object");
  expect_error(std::string("{") + kBase + "}", StatusCode::kInvalidArgument, "model_type");
  expect_error(std::string(R"({"model_type":"gpt2",)") + kBase + "}", StatusCode::kUnsupported,
               "qwen3");
  expect_error(R"({"model_type":"llama","hidden_size":64})", StatusCode::kInvalidArgument,
               "'num_hidden_layers' is missing");
  expect_error(std::string(R"({"model_type":"llama","hidden_size":"64",)") +
                   R"("intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,)"
                   R"("vocab_size":100})",
               StatusCode::kInvalidArgument, "'hidden_size': expected a positive integer");
  expect_error(std::string(R"({"model_type":"llama","num_key_value_heads":3,)") +
                   R"("hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,)"
                   R"("num_attention_heads":4,"vocab_size":100})",
               StatusCode::kInvalidArgument, "not a multiple");
  expect_error(std::string(R"({"model_type":"llama","rope_scaling":{"rope_type":"dynamic",)") +
                   R"("factor":2},)" + kBase + "}",
               StatusCode::kUnsupported, "rope_scaling type 'dynamic'");
  expect_error(std::string(R"({"model_type":"llama","rope_scaling":{"rope_type":"llama3",)") +
                   R"("factor":8},)" + kBase + "}",
               StatusCode::kInvalidArgument, "low_freq_factor");
  expect_error(std::string(R"({"model_type":"llama","attention_bias":true,)") + kBase + "}",
               StatusCode::kUnsupported, "attention_bias");
  expect_error(std::string(R"({"model_type":"llama","hidden_act":"gelu",)") + kBase + "}",
               StatusCode::kUnsupported, "hidden_act 'gelu'");
  expect_error(std::string(R"({"model_type":"mistral","sliding_window":4096,)") +
                   R"("max_position_embeddings":32768,)" + kBase + "}",
               StatusCode::kUnsupported, "sliding_window");
  expect_error(std::string(R"({"model_type":"mixtral",)") + kBase + "}",
               StatusCode::kInvalidArgument, "num_local_experts");
  auto missing = model_spec_from_hf_config_file("/nonexistent/dir/config.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(HfConfig, DefaultsAndLinearScaling) {
  auto s = model_spec_from_hf_config_text(
      std::string(R"({"model_type":"llama","rope_scaling":{"type":"linear","factor":4.0},)") +
          R"("hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,)"
          R"("num_attention_heads":4,"vocab_size":100})",
      "cfg.json");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->n_kv_heads, 4);  // MHA when num_key_value_heads is absent
  EXPECT_EQ(s->head_dim, 16);
  EXPECT_EQ(s->rope_scaling, RopeScaling::kLinear);
  EXPECT_FLOAT_EQ(s->rope_factor, 4.f);
  EXPECT_FLOAT_EQ(s->rope_theta, 10000.f);
}

TEST(HfConfig, Stories260KCheckpoint) {
  LK_REQUIRE_SHARED_MODELS();
  auto s = model_spec_from_hf_config_file((test::shared_models_dir() / "stories260K-hf").string());
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->name, "stories260K-hf");
  EXPECT_EQ(s->d_model, 64);
  EXPECT_EQ(s->n_kv_heads, 4);
  EXPECT_EQ(s->head_dim, 8);
  EXPECT_TRUE(s->tied_embeddings);
}

}  // namespace
}  // namespace lk

namespace lk {
namespace {

// transformers 5 writes rope_theta and the scaling fields into one "rope_parameters" object.
TEST(HfConfig, Transformers5RopeParameters) {
  auto s = model_spec_from_hf_config_text(
      std::string(R"({"model_type":"llama","rope_parameters":{"rope_type":"llama3","factor":8.0,)") +
          R"("low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192,)"
          R"("rope_theta":500000.0},"hidden_size":64,"intermediate_size":128,)"
          R"("num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100})",
      "cfg.json");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->rope_scaling, RopeScaling::kLlama3);
  EXPECT_FLOAT_EQ(s->rope_factor, 8.f);
  EXPECT_FLOAT_EQ(s->rope_theta, 500000.f);
  EXPECT_EQ(s->rope_original_context, 8192);

  auto plain = model_spec_from_hf_config_text(
      std::string(R"({"model_type":"llama","rope_parameters":{"rope_type":"default",)") +
          R"("rope_theta":1000000.0},"hidden_size":64,"intermediate_size":128,)"
          R"("num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100})",
      "cfg.json");
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(plain->rope_scaling, RopeScaling::kNone);
  EXPECT_FLOAT_EQ(plain->rope_theta, 1000000.f);
}

}  // namespace
}  // namespace lk
