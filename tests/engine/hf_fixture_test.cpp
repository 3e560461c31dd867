// Hugging Face transformers is the reference: tiny random checkpoints of every architecture
// (tools/make_hf_fixtures.py: llama incl. llama3 rope scaling, mistral, qwen2 with biases,
// qwen3 with q/k norm; MHA/GQA/MQA; tied/untied; f32, bf16 and f16 storage) were run by
// transformers in float32 and their logits and 32-token greedy continuations committed.
// longkv loads the same safetensors + config.json and must agree: logits within the stored
// tolerance (1e-4: weights identical, f32 compute on both sides — f16/bf16 weights are
// upcast exactly), the greedy ids identical. Both the fast forward (f32 KV) and the
// reference forward are checked.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/forward.h"
#include "engine/generate.h"
#include "engine/model_loader.h"
#include "engine/reference_forward.h"
#include "golden_util.h"
#include "kv/contiguous_cache.h"
#include "test_util.h"

namespace lk {
namespace {

std::vector<std::string> fixture_names() {
  std::vector<std::string> out;
  const auto dir = test::source_dir() / "tests/engine/fixtures/hf";
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

class HfFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(HfFixture, LogitsAndGreedyMatchTransformers) {
  const auto dir = test::source_dir() / "tests/engine/fixtures/hf" / GetParam();
  auto m = load_model(dir.string());
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->rope_style, RopeStyle::kRotateHalf);
  const auto exp = test::read_json(dir / "expected.json");
  const auto prompt = exp["prompt_ids"].get<std::vector<int32_t>>();
  const auto greedy = exp["greedy_ids"].get<std::vector<int32_t>>();
  const auto want = test::read_f32(dir / "logits.f32");
  const float tol = exp["tolerance"].get<float>();
  const int V = m->spec.vocab_size;
  ASSERT_EQ(want.size(), prompt.size() * V);

  // Fast forward: prompt logits (chunks of 5 to cross chunk boundaries), then greedy.
  auto cache = contiguous_cache_create(m->spec.n_layers, m->spec.n_kv_heads, m->spec.head_dim,
                                       KvFormat::kF32);
  Forward fwd(*m, cache->get(), ForwardOptions{5});
  std::vector<float> logits;
  SeqBatch b{0, prompt, true};
  ASSERT_TRUE(fwd.forward(std::span<const SeqBatch>(&b, 1), &logits).is_ok());
  float err = 0;
  for (size_t i = 0; i < want.size(); ++i) err = std::max(err, std::abs(logits[i] - want[i]));
  EXPECT_LT(err, tol) << "fast forward, max |diff| over the prompt logits";

  GenerateOptions opt;
  opt.max_new_tokens = static_cast<int>(greedy.size());
  opt.sampler.temperature = 0.0f;
  auto r = generate(fwd, 1, prompt, opt, nullptr);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->tokens, greedy);

  // Reference forward: same logits.
  ReferenceForward ref(*m, static_cast<int>(prompt.size()));
  float ref_err = 0;
  for (size_t p = 0; p < prompt.size(); ++p) {
    auto l = ref.forward(prompt[p], static_cast<int>(p));
    ASSERT_TRUE(l.is_ok());
    for (int i = 0; i < V; ++i) ref_err = std::max(ref_err, std::abs((*l)[i] - want[p * V + i]));
  }
  EXPECT_LT(ref_err, tol) << "reference forward";
}

INSTANTIATE_TEST_SUITE_P(Transformers, HfFixture, ::testing::ValuesIn(fixture_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lk
