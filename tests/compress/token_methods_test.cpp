// Deterministic tests of the token methods on hand-made attention patterns: exactly which
// positions survive.
#include <gtest/gtest.h>

#include <numeric>

#include "compress/token_methods.h"

namespace lk::compress {
namespace {

std::vector<int32_t> iota_pos(int n, int first = 0) {
  std::vector<int32_t> p(n);
  std::iota(p.begin(), p.end(), first);
  return p;
}

// Survivors of held after evicting `ev`.
std::vector<int32_t> survivors(const std::vector<int32_t>& held, const std::vector<int32_t>& ev) {
  std::vector<int32_t> out;
  for (int32_t p : held)
    if (std::find(ev.begin(), ev.end(), p) == ev.end()) out.push_back(p);
  return out;
}

LayerState one_head(const std::vector<int32_t>& held, int64_t keep, Phase ph = Phase::kPrefill,
                    int layer = 0, int n_layers = 1) {
  LayerState st;
  st.layer = layer;
  st.n_layers = n_layers;
  st.phase = ph;
  st.seq_len = held.empty() ? 0 : held.back() + 1;
  st.prompt_len = st.seq_len;
  st.keep_per_head = keep;
  st.held = {held};
  return st;
}

// An observation of n_q queries (group g) over keys with probabilities rows[q][g][k].
struct Obs {
  std::vector<int32_t> keys, queries;
  std::vector<float> probs;
  int group = 1;
  AttentionObservation get(int layer = 0, int head = 0, Phase ph = Phase::kPrefill) const {
    AttentionObservation o;
    o.layer = layer;
    o.kv_head = head;
    o.phase = ph;
    o.key_positions = keys;
    o.query_positions = queries;
    o.group = group;
    o.probs = probs;
    return o;
  }
};

TEST(EvictAllButTop, KeepsTopAndProtectedTiesKeepLater) {
  std::vector<int32_t> held = {0, 1, 2, 3, 4};
  std::vector<float> s = {0.5f, 0.1f, 0.5f, 0.9f, 0.0f};
  std::vector<bool> prot = {false, false, false, false, true};
  // Top 2 unprotected: 3 (0.9), then 0 and 2 tie at 0.5 -> the later (2) wins.
  EXPECT_EQ(evict_all_but_top(held, s, prot, 2), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(evict_all_but_top(held, s, prot, 0), (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_TRUE(evict_all_but_top(held, s, prot, 10).empty());
}

TEST(StreamingLlm, KeepsSinksAndRecentWindow) {
  StreamingLlmPolicy p(StreamingConfig{4});
  auto held = iota_pos(20);
  auto ev = p.select(one_head(held, 8));
  EXPECT_EQ(survivors(held, ev[0]), (std::vector<int32_t>{0, 1, 2, 3, 16, 17, 18, 19}));
  // At or under budget: nothing evicted.
  EXPECT_TRUE(p.select(one_head(iota_pos(8), 8))[0].empty());
  // Decode after earlier evictions: held is sparse; the window slides.
  std::vector<int32_t> held2 = {0, 1, 2, 3, 16, 17, 18, 19, 20};
  EXPECT_EQ(p.select(one_head(held2, 8, Phase::kDecode))[0], (std::vector<int32_t>{16}));
  EXPECT_TRUE(p.evicts_during_decode());
}

TEST(H2o, AccumulatedAttentionPlusRecent) {
  H2oPolicy p(H2oConfig{0.5});
  Obs o;
  o.keys = iota_pos(10);
  o.queries = {8, 9};
  o.probs.assign(2 * 10, 0.0f);
  // Query 8: key 3 0.5, key 6 0.3, key 8 0.2. Query 9: key 1 0.4, key 3 0.2, key 9 0.4.
  o.probs[3] = 0.5f, o.probs[6] = 0.3f, o.probs[8] = 0.2f;
  o.probs[10 + 1] = 0.4f, o.probs[10 + 3] = 0.2f, o.probs[10 + 9] = 0.4f;
  p.observe(o.get());
  // Accumulated: 3 -> 0.7, 1 -> 0.4, 6 -> 0.3. Budget 4: recent {8, 9} + heavy {3, 1}.
  auto held = iota_pos(10);
  auto ev = p.select(one_head(held, 4));
  EXPECT_EQ(survivors(held, ev[0]), (std::vector<int32_t>{1, 3, 8, 9}));
  // Another query keeps accumulating: key 6 receives 0.5 -> 0.8 beats 1 (0.4).
  Obs o2;
  o2.keys = {1, 3, 8, 9, 10};
  o2.queries = {10};
  o2.probs = {0.1f, 0.0f, 0.0f, 0.0f, 0.9f};
  p.observe(o2.get(0, 0, Phase::kDecode));
  std::vector<int32_t> held2 = {1, 3, 8, 9, 10};
  // recent {9, 10}; heavy among {1 (0.5), 3 (0.7), 8 (0.2)} -> {3, 1}; 8 evicted.
  EXPECT_EQ(p.select(one_head(held2, 4, Phase::kDecode))[0], (std::vector<int32_t>{8}));
}

TEST(H2o, GroupHeadsAreSummed) {
  H2oPolicy p(H2oConfig{0.0});
  Obs o;
  o.group = 2;
  o.keys = {0, 1, 2};
  o.queries = {2};
  // Head 0 likes key 0 (0.6), head 1 likes key 1 (0.9): sums 0: 0.6, 1: 1.0, 2: 0.4.
  o.probs = {0.6f, 0.1f, 0.3f, 0.0f, 0.9f, 0.1f};
  p.observe(o.get());
  EXPECT_EQ(p.select(one_head({0, 1, 2}, 1))[0], (std::vector<int32_t>{0, 2}));
}

TEST(Tova, OnlyTheCurrentQueryCounts) {
  TovaPolicy p;
  Obs o;
  o.keys = iota_pos(6);
  o.queries = {4, 5};
  o.probs.assign(2 * 6, 0.0f);
  o.probs[0] = 1.0f;  // the earlier query only looks at key 0
  // The current query: key 2 0.5, key 4 0.3, key 5 0.2.
  o.probs[6 + 2] = 0.5f, o.probs[6 + 4] = 0.3f, o.probs[6 + 5] = 0.2f;
  p.observe(o.get());
  auto held = iota_pos(6);
  // Budget 3: the newest (5) + top 2 of the current query {2, 4}; key 0 is dropped.
  EXPECT_EQ(survivors(held, p.select(one_head(held, 3))[0]), (std::vector<int32_t>{2, 4, 5}));
}

TEST(SnapKv, WindowVotesWithoutPooling) {
  SnapKvConfig c;
  c.window = 2;
  c.kernel = 1;
  SnapKvPolicy p(SnapKvVariant::kSnapKv, c);
  Obs o;
  o.keys = iota_pos(12);
  o.queries = {9, 10, 11};  // only the last 2 vote
  o.probs.assign(3 * 12, 0.0f);
  o.probs[0 * 12 + 1] = 1.0f;  // query 9 (outside the window) votes for key 1: ignored
  o.probs[1 * 12 + 7] = 0.6f, o.probs[1 * 12 + 2] = 0.4f;
  o.probs[2 * 12 + 7] = 0.2f, o.probs[2 * 12 + 5] = 0.5f, o.probs[2 * 12 + 11] = 0.3f;
  p.observe(o.get());
  auto held = iota_pos(12);
  // keep 5 = window {10, 11} + top 3 votes: 7 (0.8), 5 (0.5), 2 (0.4).
  EXPECT_EQ(survivors(held, p.select(one_head(held, 5))[0]),
            (std::vector<int32_t>{2, 5, 7, 10, 11}));
  // Decode: SnapKV never evicts generated tokens.
  EXPECT_TRUE(p.select(one_head(iota_pos(20), 5, Phase::kDecode))[0].empty());
}

TEST(SnapKv, MaxPoolingKeepsNeighbours) {
  EXPECT_EQ(max_pool_1d(std::vector<float>{0, 0, 0, 1, 0, 0, 0.5f}, 3),
            (std::vector<float>{0, 0, 1, 1, 1, 0.5f, 0.5f}));
  SnapKvConfig c;
  c.window = 1;
  c.kernel = 3;
  SnapKvPolicy p(SnapKvVariant::kSnapKv, c);
  Obs o;
  o.keys = iota_pos(10);
  o.queries = {9};
  o.probs.assign(10, 0.0f);
  o.probs[4] = 0.9f, o.probs[8] = 0.1f;
  p.observe(o.get());
  auto held = iota_pos(10);
  // Pooled: 3, 4, 5 -> 0.9; 7, 8 -> 0.1 (8 is a key, 9 is the window). keep 4: window + {3,4,5}.
  EXPECT_EQ(survivors(held, p.select(one_head(held, 4))[0]), (std::vector<int32_t>{3, 4, 5, 9}));
}

// The kvpress-default knobs (docs/compress.md): average pooling, layer-wide TOVA, mean H2O.
TEST(SnapKv, AveragePoolingIsZeroPaddedLikeTorch) {
  // torch avg_pool1d(kernel 3, padding 1, count_include_pad): the ends divide by 3 too.
  const std::vector<float> got = avg_pool_1d(std::vector<float>{3, 0, 0, 6, 0, 0, 0.3f}, 3);
  const std::vector<float> want = {1, 1, 2, 2, 2, 0.1f, 0.1f};
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
  SnapKvConfig c;
  c.window = 1;
  c.kernel = 3;
  c.avg_pool = true;
  SnapKvPolicy p(SnapKvVariant::kSnapKv, c);
  Obs o;
  o.keys = iota_pos(10);
  o.queries = {9};
  o.probs.assign(10, 0.0f);
  o.probs[4] = 0.6f, o.probs[5] = 0.3f, o.probs[8] = 0.5f;
  p.observe(o.get());
  auto held = iota_pos(10);
  // Avg-pooled votes: 3: 0.2, 4: 0.3, 5: 0.3, 6: 0.1, 7: 0.167, 8: 0.167 (8 is the last key,
  // its right neighbour is the window: padding). Max pooling would keep 3, 4, 5 (all 0.6);
  // average pooling keeps 4, 5 (0.3) and 3 (0.2).
  EXPECT_EQ(survivors(held, p.select(one_head(held, 4))[0]), (std::vector<int32_t>{3, 4, 5, 9}));
  auto held2 = iota_pos(10);
  EXPECT_EQ(survivors(held2, p.select(one_head(held2, 3))[0]), (std::vector<int32_t>{4, 5, 9}));
}

TEST(Tova, LayerScopeAveragesAllHeadsAndKeepsTheSameTokens) {
  TovaPolicy p(TovaConfig{true});
  Obs a, b;
  a.keys = b.keys = iota_pos(5);
  a.queries = b.queries = {4};
  a.probs = {0.5f, 0.0f, 0.1f, 0.0f, 0.4f};  // kv head 0 likes key 0
  b.probs = {0.0f, 0.3f, 0.3f, 0.0f, 0.4f};  // kv head 1 likes keys 1 and 2
  p.observe(a.get(0, 0));
  p.observe(b.get(0, 1));
  const std::vector<int32_t> held = iota_pos(5);  // st.held holds spans: keep it alive
  LayerState st = one_head(held, 3);
  st.held = {held, held};
  // Layer means: 0: 0.25, 1: 0.15, 2: 0.2. Keep 3 = newest + {0, 2} in both heads.
  auto ev = p.select(st);
  EXPECT_EQ(ev[0], (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(ev[1], (std::vector<int32_t>{1, 3}));
  // Per group (default), head 1 would keep its own {1, 2}.
  TovaPolicy g;
  g.observe(a.get(0, 0));
  g.observe(b.get(0, 1));
  EXPECT_EQ(g.select(st)[1], (std::vector<int32_t>{0, 3}));
}

TEST(H2o, MeanDividesByTheQueriesThatSawTheKey) {
  H2oPolicy p(H2oConfig{0.0, /*mean=*/true});
  Obs o;
  o.keys = iota_pos(4);
  o.queries = {1, 2, 3};
  // Key 0 is seen by 3 queries (sum 0.9 -> mean 0.3), key 1 by 3 (sum 0.6 -> 0.2), key 2 by 2
  // (sum 0.5 -> 0.25), key 3 by 1 (0.4).
  o.probs = {0.5f, 0.5f, 0.0f, 0.0f,  //
             0.2f, 0.0f, 0.2f, 0.0f,  //
             0.2f, 0.1f, 0.3f, 0.4f};
  p.observe(o.get());
  auto held = iota_pos(4);
  EXPECT_EQ(survivors(held, p.select(one_head(held, 2))[0]), (std::vector<int32_t>{0, 3}));
  // The plain sum keeps 0 (0.9) and 1 (0.6) instead.
  H2oPolicy s(H2oConfig{0.0});
  s.observe(o.get());
  EXPECT_EQ(survivors(held, s.select(one_head(held, 2))[0]), (std::vector<int32_t>{0, 1}));
}

TEST(PyramidKv, LayerBudgetsDecreaseLinearly) {
  SnapKvConfig c;
  c.window = 2;
  c.kernel = 1;
  c.pyramid_beta = 20;
  SnapKvPolicy p(SnapKvVariant::kPyramidKv, c);
  // avg 12, window 2: rest 10, min 0.5, max 19.5, step 9.5 -> 2 + {20, 10, 1}.
  EXPECT_EQ(p.layer_budget(0, 3, 12), 22);
  EXPECT_EQ(p.layer_budget(1, 3, 12), 12);
  EXPECT_EQ(p.layer_budget(2, 3, 12), 3);
  // Budgets no larger than the window stay uniform.
  EXPECT_EQ(p.layer_budget(0, 3, 2), 2);
  Obs o;
  o.keys = iota_pos(10);
  o.queries = {8, 9};
  o.probs.assign(2 * 10, 0.0f);
  o.probs[10 + 6] = 0.7f, o.probs[10 + 1] = 0.2f;
  p.observe(o.get(2, 0));
  auto held = iota_pos(10);
  // Last layer keeps 3: window {8, 9} + key 6.
  EXPECT_EQ(survivors(held, p.select(one_head(held, 12, Phase::kPrefill, 2, 3))[0]),
            (std::vector<int32_t>{6, 8, 9}));
}

TEST(AdaKv, HeadsShareTheLayerBudget) {
  SnapKvConfig c;
  c.window = 1;
  c.kernel = 1;
  c.ada_floor = 0.0;
  SnapKvPolicy p(SnapKvVariant::kAdaKv, c);
  Obs a, b;
  a.keys = b.keys = iota_pos(8);
  a.queries = b.queries = {7};
  // Head 0: concentrated on 1, 2, 3, 4; head 1: weak, best on key 5.
  a.probs = {0.0f, 0.3f, 0.25f, 0.2f, 0.15f, 0.0f, 0.0f, 0.1f};
  b.probs = {0.01f, 0.01f, 0.01f, 0.01f, 0.01f, 0.05f, 0.01f, 0.89f};
  p.observe(a.get(0, 0));
  p.observe(b.get(0, 1));
  LayerState st = one_head(iota_pos(8), 4);
  auto held = iota_pos(8);
  st.held = {held, held};
  // Layer budget: 2 heads x (4 - 1) = 6 non-window slots, top scores over both heads:
  // h0: 1 .3, 2 .25, 3 .2, 4 .15; h1: 5 .05, then 0.01 ties -> latest first (h1 key 6).
  auto ev = p.select(st);
  EXPECT_EQ(survivors(held, ev[0]), (std::vector<int32_t>{1, 2, 3, 4, 7}));
  EXPECT_EQ(survivors(held, ev[1]), (std::vector<int32_t>{5, 6, 7}));
  // With a floor of 2/3 every head keeps at least 2 of its own best.
  c.ada_floor = 0.67;
  SnapKvPolicy q(SnapKvVariant::kAdaKv, c);
  q.observe(a.get(0, 0));
  q.observe(b.get(0, 1));
  ev = q.select(st);
  EXPECT_EQ(survivors(held, ev[0]), (std::vector<int32_t>{1, 2, 3, 4, 7}));
  EXPECT_EQ(survivors(held, ev[1]), (std::vector<int32_t>{5, 6, 7}));
  c.ada_floor = 1.0;  // floor = the whole share: plain per-head SnapKV
  SnapKvPolicy r(SnapKvVariant::kAdaKv, c);
  r.observe(a.get(0, 0));
  r.observe(b.get(0, 1));
  ev = r.select(st);
  EXPECT_EQ(survivors(held, ev[0]), (std::vector<int32_t>{1, 2, 3, 7}));
  EXPECT_EQ(survivors(held, ev[1]), (std::vector<int32_t>{4, 5, 6, 7}));
}

}  // namespace
}  // namespace lk::compress
