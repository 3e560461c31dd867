// The real eval backend on a real model (stories260K, llama2.c format, ../shared/models):
// greedy answers match the llama2.c reference's greedy text, next-token logits match the
// golden logits, rounds continue one sequence, and KV accounting matches the model's shape.
#include "eval/engine_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "eval/fidelity.h"
#include "eval/runner.h"
#include "test_util.h"

namespace lk::eval {
namespace {

std::unique_ptr<ModelRunner> open_stories() {
  auto dir = lk::test::shared_models_dir();
  auto r = open_model_runner((dir / "stories260K.bin").string(), {(dir / "tok512.bin").string()});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? std::move(*r) : nullptr;
}

nlohmann::json golden() {
  std::ifstream f(lk::test::shared_models_dir() / "golden" / "stories260K_greedy.json");
  return nlohmann::json::parse(f);
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \n"), e = s.find_last_not_of(" \n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

TEST(EngineBackendModel, GreedyContinuationMatchesTheReference) {
  LK_REQUIRE_SHARED_MODELS();
  auto runner = open_stories();
  ASSERT_TRUE(runner);
  EXPECT_EQ(runner->max_context(), 512);
  const std::string text = golden()["greedy_from_bos_text"];
  const std::string prompt = "Once upon a time, there was a little girl named Lily.";
  ASSERT_EQ(text.rfind(prompt, 0), 0u);
  const std::string expected = trim(text.substr(prompt.size(), text.find('\n') - prompt.size()));

  ASSERT_TRUE(runner->begin("full").is_ok());
  auto fed = runner->feed(prompt);
  ASSERT_TRUE(fed.is_ok()) << fed.status().to_string();
  auto dec = runner->decode(200, /*stop_at_newline=*/true);
  ASSERT_TRUE(dec.is_ok()) << dec.status().to_string();
  EXPECT_EQ(trim(dec->text), expected);
  // The next round continues the same sequence: the golden text's second line follows.
  auto fed2 = runner->feed("\n");
  ASSERT_TRUE(fed2.is_ok());
  KvStats kv = runner->kv_stats();
  // stories260K: 5 layers x 4 kv heads x head_dim 8 x (K and V) x 4 bytes (f32) per token,
  // held by the paged manager in whole blocks of 16 tokens.
  const int64_t per_token = 5 * 4 * 8 * 2 * 4;
  // fed includes BOS; fed2 includes the last generated token, which joins the cache then.
  const int64_t n = fed->tokens + dec->tokens + fed2->tokens - 1;
  EXPECT_EQ(kv.peak_bytes, (n + 15) / 16 * 16 * per_token);
  EXPECT_GT(kv.bytes_read, 0);
  EXPECT_EQ(kv.decode_tokens, dec->tokens - 1);
  // Bad or unknown specs are refused by the backend, never run as something else.
  EXPECT_EQ(runner->begin("snapkv").code(), StatusCode::kInvalidArgument);  // no budget
  EXPECT_EQ(runner->begin("nosuch:0.5").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runner->begin("mixed:old=int5").code(), StatusCode::kInvalidArgument);
}

TEST(EngineBackendModel, ForcedLogitsMatchTheGoldenLogits) {
  LK_REQUIRE_SHARED_MODELS();
  auto runner = open_stories();
  ASSERT_TRUE(runner);
  nlohmann::json g = golden();
  std::vector<int32_t> ids = g["logits_prompt_ids"];
  std::ifstream f(lk::test::shared_models_dir() / "golden" / "stories260K_logits_prompt5.f32",
                  std::ios::binary);
  std::vector<float> ref(5 * 512);
  f.read(reinterpret_cast<char*>(ref.data()), static_cast<std::streamsize>(ref.size() * 4));
  ASSERT_TRUE(f);
  int seen = 0;
  ASSERT_TRUE(runner
                  ->forced_logits("full", ids, 1,
                                  [&](int64_t i, std::span<const float> logits) {
                                    ASSERT_EQ(logits.size(), 512u);
                                    const float* row = &ref[static_cast<size_t>(i - 1) * 512];
                                    for (int v = 0; v < 512; ++v)
                                      ASSERT_NEAR(logits[v], row[v], 1e-3) << i << " " << v;
                                    ++seen;
                                  })
                  .is_ok());
  EXPECT_EQ(seen, 4);
}

TEST(EngineBackendModel, EvalRunIsDeterministicAndFidelityOfFullIsExact) {
  LK_REQUIRE_SHARED_MODELS();
  auto a = open_stories(), b = open_stories();
  ASSERT_TRUE(a && b);
  std::vector<std::string> warnings;
  int64_t bad = 0;
  auto tasks = prepare_tasks({"passkey", "multi_round:rounds=2"}, &warnings, &bad);
  ASSERT_TRUE(tasks.is_ok());
  EvalConfig cfg;
  cfg.tasks = *tasks;
  cfg.methods = {"full"};
  cfg.lengths = {300, 4096};
  cfg.n = 2;
  auto ra = run_eval(*a, cfg), rb = run_eval(*b, cfg);
  ASSERT_TRUE(ra.is_ok() && rb.is_ok());
  ASSERT_EQ(ra->records.size(), rb->records.size());
  for (size_t i = 0; i < ra->records.size(); ++i) {
    EXPECT_EQ(ra->records[i].predictions, rb->records[i].predictions);
    EXPECT_EQ(ra->records[i].peak_kv_bytes, rb->records[i].peak_kv_bytes);
  }
  // Length 4096 exceeds stories260K's 512: that cell fails clearly, the others ran.
  for (const auto& row : ra->rows) {
    if (row.length == 4096) {
      EXPECT_EQ(row.n, 0);
      EXPECT_NE(row.error.find("exceeds the model's limit of 512"), std::string::npos) << row.error;
    } else {
      EXPECT_EQ(row.n, 2);
      EXPECT_LE(row.prompt_tokens, 300);
      EXPECT_GT(row.peak_kv_bytes, 0);
    }
  }
  auto fid = run_fidelity(*a, golden()["greedy_from_bos_text"], "golden", {"full"}, 32);
  ASSERT_TRUE(fid.is_ok()) << fid.status().to_string();
  EXPECT_EQ((*fid)[0].n_tokens, 32);
  EXPECT_NEAR((*fid)[0].kl_mean, 0.0, 1e-9);
  EXPECT_EQ((*fid)[0].top1_agreement, 1.0);
  // The text is the model's own greedy output: its perplexity is low.
  EXPECT_LT((*fid)[0].ppl, 3.0);
}

}  // namespace
}  // namespace lk::eval

namespace lk::eval {
namespace {

// The same model in two files (llama2.c .bin + tok512.bin, GGUF with its own tokenizer)
// gives the same greedy answers to the same generated tasks. (The Hugging Face copy joins
// when the engine loads safetensors directories.)
TEST(EngineBackendModel, SameModelInEveryFormatGivesTheSameAnswers) {
  LK_REQUIRE_SHARED_MODELS();
  auto dir = lk::test::shared_models_dir();
  std::vector<std::unique_ptr<ModelRunner>> runners;
  runners.push_back(open_stories());
  for (const char* p : {"stories260K.gguf"}) {
    auto r = open_model_runner((dir / p).string(), {});
    ASSERT_TRUE(r.is_ok()) << p << ": " << r.status().to_string();
    runners.push_back(std::move(*r));
  }
  std::vector<std::string> warnings;
  int64_t bad = 0;
  auto tasks = prepare_tasks({"passkey"}, &warnings, &bad);
  ASSERT_TRUE(tasks.is_ok());
  EvalConfig cfg;
  cfg.tasks = *tasks;
  cfg.methods = {"full"};
  cfg.lengths = {256};
  cfg.n = 2;
  std::vector<std::vector<std::string>> preds;
  for (auto& r : runners) {
    auto out = run_eval(*r, cfg);
    ASSERT_TRUE(out.is_ok());
    std::vector<std::string> p;
    for (const auto& rec : out->records) {
      ASSERT_TRUE(rec.ok()) << rec.error;
      p.push_back(rec.predictions[0]);
    }
    preds.push_back(p);
  }
  EXPECT_EQ(preds[0], preds[1]);
}

}  // namespace
}  // namespace lk::eval
