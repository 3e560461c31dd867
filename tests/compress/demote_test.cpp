// Tier demotion with recall: evicted rows go to the host tier in pages (decode evictions top up
// the newest page), recall returns the top pages by Quest bound in position order with the
// exact rows, and a driver with demote:1.0 lets attention see every token again while the
// pool holds only the policy's budget.
#include <gtest/gtest.h>

#include <random>

#include "compress/demote.h"
#include "compress/driver.h"

namespace lk::compress {
namespace {

constexpr int kD = 2;

TEST(Demote, PagesRecallByQuestBoundInPositionOrder) {
  DemotionStore st(make_host_tier(), 1, 1, kD, 2);
  // Page {0,1}: keys along +x; page {4,5}: along -x; then one token at a time: 6, 7 fill a page.
  std::vector<int32_t> p = {0, 1, 4, 5};
  std::vector<float> k = {1, 0, 2, 0, -1, 0, -2, 0}, v = {10, 11, 12, 13, 14, 15, 16, 17};
  ASSERT_TRUE(st.demote(0, 0, p, k.data(), v.data()).is_ok());
  const float k6[2] = {0, 5}, v6[2] = {60, 61}, k7[2] = {0, 6}, v7[2] = {70, 71};
  const int32_t p6 = 6, p7 = 7;
  ASSERT_TRUE(st.demote(0, 0, {&p6, 1}, k6, v6).is_ok());
  ASSERT_TRUE(st.demote(0, 0, {&p7, 1}, k7, v7).is_ok());
  EXPECT_EQ(st.demoted_tokens(), 6);
  const float qx[2] = {1, 0};  // favours the +x page
  auto r = st.recall(0, 0, qx, 1, 2);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->n_tokens, 2);
  EXPECT_EQ(r->positions[0], 0);
  EXPECT_EQ(r->positions[1], 1);
  EXPECT_FLOAT_EQ(static_cast<const float*>(r->v)[3], 13);
  const float qy[2] = {0, 1};  // the page {6, 7} (topped up to 2 tokens) scores highest
  auto y = st.recall(0, 0, qy, 1, 2);
  ASSERT_EQ(y->n_tokens, 2);
  EXPECT_EQ(y->positions[0], 6);
  EXPECT_EQ(y->positions[1], 7);
  EXPECT_FLOAT_EQ(static_cast<const float*>(y->k)[3], 6);
  auto all = st.recall(0, 0, qx, 1, 100);
  ASSERT_EQ(all->n_tokens, 6);
  for (int i = 1; i < 6; ++i) EXPECT_LT(all->positions[i - 1], all->positions[i]);
  EXPECT_EQ(st.recalled_tokens(), 10);
  st.clear();
  EXPECT_EQ(st.tier_bytes(), 0);
}

TEST(Demote, SpecRules) {
  EXPECT_TRUE(parse_compression_spec("streaming:4x+demote").is_ok());
  EXPECT_DOUBLE_EQ(parse_compression_spec("snapkv:0.5+demote:4x")->recall_budget.ratio, 0.25);
  for (const char* bad : {"demote", "quest:0.5+demote", "snapkv:0.5+demote:1MiB",
                          "snapkv:0.5+demote:0.5:x", "snapkv:0.5+int8+demote"})
    EXPECT_FALSE(parse_compression_spec(bad).is_ok()) << bad;
  EXPECT_NE(parse_compression_spec("demote").status().message().find("compose it with"),
            std::string::npos);
}

TEST(Demote, DriverRecallsEverythingAtFullBudget) {
  KvManagerConfig c;
  c.n_layers = 1;
  c.n_kv_heads = 1;
  c.head_dim = 4;
  c.block_tokens = 4;
  c.format = KvFormat::kF32;
  c.budget_bytes = 8 << 20;
  c.model_digest = "t";
  c.prefix_cache = false;
  auto kv = std::move(KvManager::create(c)).value();
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> k(32 * 4), v(k.size());
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  std::vector<int32_t> pos(32);
  for (int i = 0; i < 32; ++i) pos[i] = i;
  ASSERT_TRUE(kv->append(1, 0, pos, k.data(), v.data()).is_ok());
  auto spec = parse_compression_spec("streaming:4x:sinks=2+demote:1.0");
  auto d = std::move(CompressionDriver::create(*spec, kv.get(), 2)).value();
  d->begin(1);
  ASSERT_TRUE(d->end_prefill(1).is_ok());
  EXPECT_EQ(kv->head_tokens(1, 0, 0), 8);
  std::vector<float> q(8, 0.5f);
  const KvHeadView view = d->filter_view(1, 0, 0, kv->view(1, 0, 0), q.data(), 8, 1);
  ASSERT_EQ(view.n_tokens(), 32);
  int i = 0;
  for (const KvRun& r : view.runs)
    for (int t = 0; t < r.n_tokens; ++t, ++i) {
      ASSERT_EQ(r.positions[t], i);
      for (int dd = 0; dd < 4; ++dd)
        EXPECT_FLOAT_EQ(static_cast<const float*>(r.v)[t * 4 + dd], v[i * 4 + dd]);
    }
  EXPECT_EQ(d->report()["demote"]["demoted_tokens"].get<int>(), 24);
}

}  // namespace
}  // namespace lk::compress
