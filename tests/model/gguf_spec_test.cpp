// GGUF metadata <-> ModelSpec, including the llama3 RoPE factors recovered from a
// rope_freqs.weight tensor laid out the way llama.cpp's converter writes it.
#include <gtest/gtest.h>

#include <cmath>

#include "model/gguf_spec.h"
#include "model/hf_config.h"
#include "test_util.h"

namespace lk {
namespace {

ModelSpec fixture(const std::string& name) {
  auto p = test::source_dir() / "tests/model/fixtures/hf_configs" / name;
  return *model_spec_from_hf_config_file(p.string());
}

ModelSpec round_trip(const ModelSpec& in, bool tied_output = true) {
  GgufWriter w;
  EXPECT_TRUE(model_spec_to_gguf(in, &w).is_ok());
  std::vector<float> e(static_cast<size_t>(in.d_model) * 2);
  EXPECT_TRUE(
      w.add_tensor("token_embd.weight", DType::kF32, {in.d_model, 2}, e.data(), e.size() * 4)
          .is_ok());
  if (!in.tied_embeddings && tied_output) {
    EXPECT_TRUE(w.add_tensor("output.weight", DType::kF32, {in.d_model, 2}, e.data(), e.size() * 4)
                    .is_ok());
  }
  auto bytes = w.to_bytes();
  auto g = GgufFile::from_memory(bytes.data(), bytes.size(), "rt.gguf");
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  auto s = model_spec_from_gguf(**g);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return *s;
}

void expect_same(const ModelSpec& a, const ModelSpec& b) {
  EXPECT_EQ(a.n_layers, b.n_layers);
  EXPECT_EQ(a.d_model, b.d_model);
  EXPECT_EQ(a.n_heads, b.n_heads);
  EXPECT_EQ(a.n_kv_heads, b.n_kv_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.ffn_dim, b.ffn_dim);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.max_context, b.max_context);
  EXPECT_EQ(a.tied_embeddings, b.tied_embeddings);
  EXPECT_EQ(a.qkv_bias, b.qkv_bias);
  EXPECT_EQ(a.qk_norm, b.qk_norm);
  EXPECT_EQ(a.rope_scaling, b.rope_scaling);
  EXPECT_FLOAT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_FLOAT_EQ(a.rms_eps, b.rms_eps);
  EXPECT_FLOAT_EQ(a.rope_factor, b.rope_factor);
  EXPECT_EQ(a.n_experts, b.n_experts);
}

TEST(GgufSpec, RoundTripsEachArchitecture) {
  for (const char* name : {"llama-3.1-8b.json", "qwen2-7b.json", "qwen2.5-0.5b.json",
                           "qwen3-8b.json", "mixtral-8x7b.json", "tiny-qwen3.json"}) {
    SCOPED_TRACE(name);
    ModelSpec in = fixture(name);
    ModelSpec out = round_trip(in);
    expect_same(in, out);
    if (in.rope_scaling == RopeScaling::kLlama3) {
      EXPECT_FLOAT_EQ(out.rope_low_freq_factor, in.rope_low_freq_factor);
      EXPECT_FLOAT_EQ(out.rope_high_freq_factor, in.rope_high_freq_factor);
      EXPECT_EQ(out.rope_original_context, in.rope_original_context);
    }
  }
}

TEST(GgufSpec, RefusesMlaAndUnknownArch) {
  GgufWriter w;
  EXPECT_EQ(model_spec_to_gguf(fixture("deepseek-v2-lite.json"), &w).code(),
            StatusCode::kUnsupported);
  GgufWriter v;
  v.set_str("general.architecture", "gpt2");
  auto b = v.to_bytes();
  auto g = GgufFile::from_memory(b.data(), b.size(), "x.gguf");
  auto s = model_spec_from_gguf(**g);
  EXPECT_EQ(s.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(s.status().message().find("'gpt2'"), std::string::npos);
  EXPECT_NE(s.status().message().find("qwen3"), std::string::npos);
}

TEST(GgufSpec, MissingAndIllTypedKeysNameTheKey) {
  GgufWriter w;
  w.set_str("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_str("llama.embedding_length", "64");
  auto b = w.to_bytes();
  auto g = GgufFile::from_memory(b.data(), b.size(), "x.gguf");
  auto s = model_spec_from_gguf(**g);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("x.gguf"), std::string::npos);
  EXPECT_NE(s.status().message().find("llama.embedding_length"), std::string::npos);
  GgufWriter w2;
  w2.set_str("general.architecture", "qwen2");
  b = w2.to_bytes();
  g = GgufFile::from_memory(b.data(), b.size(), "x.gguf");
  s = model_spec_from_gguf(**g);
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("qwen2.block_count"), std::string::npos);
}

// llama.cpp's converter: rope_freqs[i] = 1 | factor | 1 / ((1 - smooth) / factor + smooth).
std::vector<float> llama3_factors(const ModelSpec& s) {
  std::vector<float> r;
  const double low_wl = s.rope_original_context / s.rope_low_freq_factor;
  const double high_wl = s.rope_original_context / s.rope_high_freq_factor;
  for (int i = 0; i < s.head_dim / 2; ++i) {
    const double freq = 1.0 / std::pow(s.rope_theta, 2.0 * i / s.head_dim);
    const double wl = 2 * M_PI / freq;
    if (wl < high_wl)
      r.push_back(1.0f);
    else if (wl > low_wl)
      r.push_back(s.rope_factor);
    else {
      const double sm = (s.rope_original_context / wl - s.rope_low_freq_factor) /
                        (s.rope_high_freq_factor - s.rope_low_freq_factor);
      r.push_back(static_cast<float>(1.0 / ((1 - sm) / s.rope_factor + sm)));
    }
  }
  return r;
}

TEST(GgufSpec, Llama3FactorsFromRopeFreqsTensor) {
  ModelSpec in = fixture("llama-3.1-8b.json");
  GgufWriter w;
  ModelSpec plain = in;
  plain.rope_scaling = RopeScaling::kNone;  // no longkv.* keys: only the tensor
  ASSERT_TRUE(model_spec_to_gguf(plain, &w).is_ok());
  auto f = llama3_factors(in);
  ASSERT_TRUE(w.add_tensor("rope_freqs.weight", DType::kF32, {64}, f.data(), f.size() * 4).is_ok());
  auto b = w.to_bytes();
  auto g = GgufFile::from_memory(b.data(), b.size(), "x.gguf");
  auto s = model_spec_from_gguf(**g);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->rope_scaling, RopeScaling::kLlama3);
  EXPECT_FLOAT_EQ(s->rope_factor, 8.f);
  EXPECT_NEAR(s->rope_low_freq_factor, 1.f, 1e-3);
  EXPECT_NEAR(s->rope_high_freq_factor, 4.f, 1e-3);
  EXPECT_EQ(s->rope_original_context, 8192);
}

TEST(GgufSpec, Stories260K) {
  LK_REQUIRE_SHARED_MODELS();
  auto g = GgufFile::open((test::shared_models_dir() / "stories260K.gguf").string(),
                          {.header_only = true});
  ASSERT_TRUE(g.is_ok());
  auto s = model_spec_from_gguf(**g);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->arch, "llama");
  EXPECT_EQ(s->n_layers, 5);
  EXPECT_EQ(s->d_model, 64);
  EXPECT_EQ(s->n_heads, 8);
  EXPECT_EQ(s->n_kv_heads, 4);
  EXPECT_EQ(s->head_dim, 8);
  EXPECT_EQ(s->ffn_dim, 172);
  EXPECT_EQ(s->vocab_size, 512);
  EXPECT_EQ(s->max_context, 2048);
  EXPECT_FALSE(s->tied_embeddings);  // the file carries output.weight
}

}  // namespace
}  // namespace lk
