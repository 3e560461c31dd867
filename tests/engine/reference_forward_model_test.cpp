// The reference forward on the real stories260K checkpoint (llama2.c format) reproduces the
// golden outputs of llama2.c's run.c: prompt logits within 1e-4, the greedy token ids, and
// the sampled text at -t 1.0 -p 0.9 -s 133742.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/llama2c_loader.h"
#include "engine/reference_forward.h"
#include "engine/sampler.h"
#include "golden_util.h"
#include "test_util.h"

namespace lk {
namespace {

// run.c's generate loop from BOS: forward, sample, stop at BOS or after `steps` positions.
std::vector<int> run_c_generate(const Model& m, const SamplerConfig& sc, int steps) {
  ReferenceForward ref(m, steps);
  Sampler sampler(sc);
  std::vector<int> out;
  int token = 1;
  for (int pos = 0; pos < steps; ++pos) {
    auto logits = ref.forward(token, pos);
    EXPECT_TRUE(logits.is_ok()) << logits.status().to_string();
    const int next = sampler.sample(logits->data(), m.spec.vocab_size);
    if (next == 1) break;
    out.push_back(next);
    token = next;
  }
  return out;
}

TEST(ReferenceForwardModel, PromptLogitsMatchGolden) {
  LK_REQUIRE_SHARED_MODELS();
  const auto dir = test::shared_models_dir();
  auto m = llama2c_load((dir / "stories260K.bin").string());
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->spec.d_model, 64);
  EXPECT_EQ(m->spec.n_kv_heads, 4);
  const auto golden = test::read_json(dir / "golden/stories260K_greedy.json");
  const auto want = test::read_f32(dir / "golden" / golden["logits_file"].get<std::string>());
  const auto ids = golden["logits_prompt_ids"].get<std::vector<int>>();
  ASSERT_EQ(want.size(), ids.size() * 512);
  ReferenceForward ref(*m, 16);
  float max_err = 0;
  for (size_t p = 0; p < ids.size(); ++p) {
    auto logits = ref.forward(ids[p], static_cast<int>(p));
    ASSERT_TRUE(logits.is_ok());
    for (int i = 0; i < 512; ++i)
      max_err = std::max(max_err, std::abs((*logits)[i] - want[p * 512 + i]));
  }
  EXPECT_LT(max_err, 1e-4f);
}

TEST(ReferenceForwardModel, GreedyIdsMatchRunC) {
  LK_REQUIRE_SHARED_MODELS();
  const auto dir = test::shared_models_dir();
  auto m = llama2c_load((dir / "stories260K.bin").string());
  ASSERT_TRUE(m.is_ok());
  const auto golden = test::read_json(dir / "golden/stories260K_greedy.json");
  const auto want = golden["greedy_from_bos_ids"].get<std::vector<int>>();
  SamplerConfig sc;
  sc.temperature = 0.0f;
  const auto got = run_c_generate(*m, sc, 256);
  EXPECT_EQ(got, want);
  test::Llama2cPieces pieces(dir / "tok512.bin", 512);
  EXPECT_EQ(pieces.decode(got, 1), golden["greedy_from_bos_text"].get<std::string>());
}

TEST(ReferenceForwardModel, SampledTextMatchesRunC) {
  LK_REQUIRE_SHARED_MODELS();
  const auto dir = test::shared_models_dir();
  auto m = llama2c_load((dir / "stories260K.bin").string());
  ASSERT_TRUE(m.is_ok());
  SamplerConfig sc;
  sc.temperature = 1.0f;
  sc.top_p = 0.9f;
  sc.seed = 133742;
  const auto got = run_c_generate(*m, sc, 256);
  test::Llama2cPieces pieces(dir / "tok512.bin", 512);
  std::string want = test::read_text(dir / "golden/stories260K_runc_t1_p0.9_s133742.txt");
  while (!want.empty() && want.back() == '\n') want.pop_back();  // run.c's final printf("\n")
  EXPECT_EQ(pieces.decode(got, 1), want);
}

}  // namespace
}  // namespace lk
