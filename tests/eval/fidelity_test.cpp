#include "eval/fidelity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fake_model_runner.h"

namespace lk::eval {
namespace {

TEST(Fidelity, AccumulatorMatchesHandComputedValues) {
  // P = softmax(0, ln 3) = (1/4, 3/4); Q = (1/2, 1/2).
  std::vector<float> p = {0.0f, std::log(3.0f)}, q = {1.0f, 1.0f};
  FidelityAccumulator acc;
  acc.add(p, q, 1);
  FidelityRow row;
  acc.fill(&row);
  const double kl = 0.25 * std::log(0.25 / 0.5) + 0.75 * std::log(0.75 / 0.5);
  EXPECT_NEAR(row.kl_mean, kl, 1e-6);
  EXPECT_NEAR(row.ppl, 2.0, 1e-6);             // exp(-ln 1/2)
  EXPECT_NEAR(row.ppl_full, 4.0 / 3.0, 1e-6);  // exp(-ln 3/4)
  EXPECT_EQ(row.top1_agreement, 0.0);          // argmax P = 1, argmax Q = 0 (first of ties)
  EXPECT_EQ(row.n_tokens, 1);
}

TEST(Fidelity, FullAgainstItselfIsExactAndLossyMethodsDrift) {
  test::FakeModelRunner fake;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "abcdefghij";
  auto rows = run_fidelity(fake, text, "t.txt", {"full", "test_forget_front", "test_refuse"}, 100);
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 3u);
  const FidelityRow& f = (*rows)[0];
  EXPECT_EQ(f.n_tokens, 100);
  EXPECT_EQ(f.context_tokens, 300);
  EXPECT_NEAR(f.kl_mean, 0.0, 1e-12);
  EXPECT_EQ(f.top1_agreement, 1.0);
  EXPECT_NEAR(f.ppl, f.ppl_full, 1e-9);
  EXPECT_GT((*rows)[1].kl_mean, 0.01);
  EXPECT_FALSE((*rows)[2].error.empty());
  auto too_long = run_fidelity(fake, std::string(9000, 'x'), "big.txt", {"full"}, 10);
  ASSERT_FALSE(too_long.is_ok());
  EXPECT_NE(too_long.status().message().find("limit"), std::string::npos);
}

}  // namespace
}  // namespace lk::eval
