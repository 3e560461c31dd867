// synth: deterministic weights, a GGUF and a HF folder of the same seed hold the same model
// (read back through Checkpoint, llama Q/K permuted), dtype/shape errors, the vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/half.h"
#include "model/checkpoint.h"
#include "model/gguf_spec.h"
#include "model/hf_config.h"
#include "model/qk_permute.h"
#include "model/quant.h"
#include "model/synth.h"
#include "model/synth_vocab.h"
#include "test_util.h"

namespace lk {
namespace {

ModelSpec fixture(const std::string& name) {
  auto p = test::source_dir() / "tests/model/fixtures/hf_configs" / name;
  return *model_spec_from_hf_config_file(p.string());
}

std::vector<float> floats(const TensorView& t) {
  return *dequantize_tensor(t);
}

float f16_round_trip(float v) {
  return f16_to_f32(f32_to_f16(v));
}

TEST(Synth, TensorListFollowsArchitecture) {
  auto llama = *synth_tensors(fixture("tiny-llama3.json"));
  EXPECT_EQ(llama.size(), 1u + 2 * 9 + 1 + 1);  // embed, 9 per layer, norm, lm_head
  EXPECT_TRUE(llama[2].gguf_permute_qk);        // q_proj
  auto qwen2 = *synth_tensors(fixture("tiny-qwen2.json"));
  EXPECT_EQ(qwen2.size(), 1u + 2 * 12 + 1);  // + 3 biases per layer, tied
  for (const auto& t : qwen2) EXPECT_FALSE(t.gguf_permute_qk);
  auto qwen3 = *synth_tensors(fixture("tiny-qwen3.json"));
  EXPECT_EQ(qwen3.size(), 1u + 2 * 11 + 1 + 1);  // + q/k norm
  EXPECT_EQ(synth_tensors(fixture("mixtral-8x7b.json")).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(synth_tensors(fixture("deepseek-v2-lite.json")).status().code(),
            StatusCode::kUnsupported);
}

TEST(Synth, RowsAreDeterministicAndSane) {
  auto ts = *synth_tensors(fixture("tiny-llama3.json"));
  std::vector<float> a(64), b(64), c(64);
  synth_row(ts[2], 1, 3, a.data());
  synth_row(ts[2], 1, 3, b.data());
  synth_row(ts[2], 2, 3, c.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double ss = 0;
  for (float v : a) ss += v * v;
  EXPECT_NEAR(std::sqrt(ss / 64), 1 / 8.0, 0.05);  // 1/sqrt(row length)
  synth_row(ts[1], 1, 0, a.data());                // attn_norm
  for (float v : a) {
    EXPECT_GT(v, 0.7f);
    EXPECT_LT(v, 1.3f);
    EXPECT_EQ(v, f16_round_trip(v));
  }
}

TEST(Synth, GgufAndHfFolderHoldTheSameModel) {
  for (const char* cfg : {"tiny-llama3.json", "tiny-qwen2.json", "tiny-qwen3.json"}) {
    SCOPED_TRACE(cfg);
    const ModelSpec spec = fixture(cfg);
    auto dir = test::temp_dir("synth_same");
    const std::string gguf = (dir / "m.gguf").string(), hf = (dir / "hf").string();
    ASSERT_TRUE(synth_write_gguf(spec, {DType::kF32, 11}, gguf).is_ok());
    ASSERT_TRUE(synth_write_hf(spec, {DType::kF32, 11}, hf).is_ok());
    auto g = Checkpoint::open(gguf);
    auto h = Checkpoint::open(hf);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    ASSERT_TRUE(h.is_ok()) << h.status().to_string();
    EXPECT_EQ((*g)->spec().n_layers, spec.n_layers);
    EXPECT_EQ((*h)->spec().head_dim, spec.head_dim);
    EXPECT_EQ((*g)->spec().head_dim, spec.head_dim);
    EXPECT_EQ((*g)->spec().tied_embeddings, spec.tied_embeddings);
    EXPECT_EQ((*g)->spec().rope_scaling, spec.rope_scaling);
    EXPECT_EQ((*h)->spec().rope_scaling, spec.rope_scaling);
    auto ts = *synth_tensors(spec);
    for (const auto& t : ts) {
      const TensorView gv = *(*g)->tensor(t.gguf_name);
      const TensorView hv = *(*h)->tensor(t.hf_name);
      ASSERT_EQ(gv.ne, hv.ne) << t.hf_name;
      std::vector<uint8_t> hb(static_cast<const uint8_t*>(hv.data),
                              static_cast<const uint8_t*>(hv.data) + hv.nbytes);
      if (t.gguf_permute_qk)
        hb = qk_permute_hf_to_gguf(hb, hv.ne[1], hv.row_bytes(), spec.head_dim);
      EXPECT_EQ(std::memcmp(hb.data(), gv.data, gv.nbytes), 0) << t.hf_name;
    }
  }
}

TEST(Synth, QuantizedGgufDequantizesCloseToF32) {
  const ModelSpec spec = fixture("tiny-k256.json");
  auto dir = test::temp_dir("synth_q");
  ASSERT_TRUE(synth_write_gguf(spec, {DType::kF32, 4}, (dir / "f.gguf").string()).is_ok());
  auto f = Checkpoint::open((dir / "f.gguf").string());
  for (DType dt : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K,
                   DType::kF16, DType::kBF16}) {
    const std::string p = (dir / (std::string(dtype_name(dt)) + ".gguf")).string();
    ASSERT_TRUE(synth_write_gguf(spec, {dt, 4}, p).is_ok()) << dtype_name(dt);
    auto q = Checkpoint::open(p);
    ASSERT_TRUE(q.is_ok());
    const TensorView qv = *(*q)->tensor("blk.1.ffn_up.weight");
    EXPECT_EQ(qv.dtype, dt);
    EXPECT_EQ((*q)->tensor("blk.1.ffn_norm.weight")->dtype, DType::kF32);
    auto a = floats(*(*f)->tensor("blk.1.ffn_up.weight"));
    auto b = floats(qv);
    double se = 0, ss = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      se += (a[i] - b[i]) * (a[i] - b[i]);
      ss += a[i] * a[i];
    }
    EXPECT_LT(std::sqrt(se / ss), 0.12) << dtype_name(dt);
  }
}

TEST(Synth, Errors) {
  auto dir = test::temp_dir("synth_err");
  // K-quants need rows of 256: tiny-llama3 has d_model 64.
  Status s =
      synth_write_gguf(fixture("tiny-llama3.json"), {DType::kQ4_K, 0}, (dir / "x.gguf").string());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("multiples of 256"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir / "x.gguf"));
  s = synth_write_hf(fixture("tiny-llama3.json"), {DType::kQ8_0, 0}, (dir / "hf").string());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("f32, f16 or bf16"), std::string::npos);
  ModelSpec tiny = fixture("tiny-llama3.json");
  tiny.vocab_size = 100;
  s = synth_write_gguf(tiny, {DType::kF32, 0}, (dir / "y.gguf").string());
  EXPECT_NE(s.message().find("vocab_size 100"), std::string::npos) << s.message();
}

TEST(SynthVocab, ByteLevelBpe) {
  auto v = *synth_vocab_make(1000, SynthTokenizerStyle::kLlama3);
  ASSERT_EQ(v.tokens.size(), 1000u);
  EXPECT_EQ(v.tokens[' '], "Ġ");
  EXPECT_EQ(v.tokens['A'], "A");
  EXPECT_EQ(v.tokens[0], "Ā");
  EXPECT_EQ(v.tokens[v.bos_id], "<|begin_of_text|>");
  EXPECT_EQ(v.tokens[v.eos_id], "<|eot_id|>");
  EXPECT_GT(v.n_merges_learned, 200);
  std::set<std::string> uniq(v.tokens.begin(), v.tokens.end());
  EXPECT_EQ(uniq.size(), v.tokens.size());
  EXPECT_NE(std::find(v.tokens.begin(), v.tokens.end(), "Ġthe"), v.tokens.end());
  auto q = *synth_vocab_make(300, SynthTokenizerStyle::kQwen2);
  EXPECT_EQ(q.tokens.size(), 300u);
  EXPECT_EQ(q.bos_id, -1);
  EXPECT_EQ(q.tokens[q.eos_id], "<|im_end|>");
  EXPECT_FALSE(synth_vocab_make(258, SynthTokenizerStyle::kQwen2).is_ok());
  // Same input, same vocabulary.
  EXPECT_EQ(synth_vocab_make(1000, SynthTokenizerStyle::kLlama3)->merges, v.merges);
}

}  // namespace
}  // namespace lk
