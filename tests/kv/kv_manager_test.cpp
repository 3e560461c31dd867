#include "kv/kv_manager.h"

#include <gtest/gtest.h>

#include <random>

#include "kernels/attention_quant.h"
#include "kv/kv_codec.h"
#include "kv_test_util.h"

namespace lk {
namespace {

using test::append_all_layers;
using test::make_manager;
using test::random_kv;
using test::small_config;

// Decodes a head's view back to f32 [n][D] and positions.
void decode_view(const KvHeadView& view, int D, std::vector<float>* k, std::vector<float>* v,
                 std::vector<int32_t>* pos) {
  k->clear();
  v->clear();
  pos->clear();
  for (const KvRun& r : view.runs) {
    ASSERT_EQ(r.format, KvFormat::kF32);
    const float* kr = static_cast<const float*>(r.k);
    const float* vr = static_cast<const float*>(r.v);
    k->insert(k->end(), kr, kr + r.n_tokens * D);
    v->insert(v->end(), vr, vr + r.n_tokens * D);
    pos->insert(pos->end(), r.positions, r.positions + r.n_tokens);
  }
}

TEST(KvManager, AppendAndViewRoundTripF32) {
  auto c = small_config(KvFormat::kF32, 4);
  auto m = make_manager(c);
  std::mt19937 rng(1);
  auto k = random_kv(10, c, rng), v = random_kv(10, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 7, 0, 10, k, v).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->seq_length(7), 10);
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_kv_heads; ++h) {
      KvHeadView view = m->view(7, l, h);
      EXPECT_EQ(view.runs.size(), 3u);  // 4 + 4 + 2
      std::vector<float> kd, vd;
      std::vector<int32_t> pos;
      decode_view(view, c.head_dim, &kd, &vd, &pos);
      ASSERT_EQ(pos.size(), 10u);
      for (int t = 0; t < 10; ++t) {
        EXPECT_EQ(pos[t], t);
        for (int d = 0; d < c.head_dim; ++d) {
          EXPECT_EQ(kd[t * c.head_dim + d], k[(t * c.n_kv_heads + h) * c.head_dim + d]);
          EXPECT_EQ(vd[t * c.head_dim + d], v[(t * c.n_kv_heads + h) * c.head_dim + d]);
        }
      }
    }
  // Accounting: 3 blocks per head, 4 heads.
  const KvUsage u = m->usage();
  EXPECT_EQ(u.used_bytes, 12 * m->block_bytes(KvFormat::kF32));
  EXPECT_EQ(m->seq_bytes(7), u.used_bytes);
  ASSERT_EQ(u.head_bytes.size(), 4u);
  for (int64_t b : u.head_bytes) EXPECT_EQ(b, 3 * m->block_bytes(KvFormat::kF32));
  EXPECT_EQ(u.tier_bytes.at("device"), u.used_bytes);
  m->release(7);
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, 0);
  EXPECT_FALSE(m->contains(7));
}

TEST(KvManager, BudgetExhaustedChangesNothing) {
  auto c = small_config(KvFormat::kF16, 4);
  const int64_t block = block_layout(KvFormat::kF16, 4, 8).bytes();
  c.budget_bytes = 9 * block;  // 4 heads x 2 blocks fit; one more layer of 2 heads does not
  auto m = make_manager(c);
  std::mt19937 rng(2);
  auto k = random_kv(8, c, rng), v = random_kv(8, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 8, k, v).is_ok());
  m->check_invariants();
  const KvUsage before = m->usage();
  const KvHeadView view_before = m->view(1, 0, 0);
  auto k1 = random_kv(1, c, rng);
  Status st = m->append(1, 0, std::vector<int32_t>{8}, k1.data(), k1.data());
  EXPECT_EQ(st.code(), StatusCode::kOutOfMemory) << st.to_string();
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, before.used_bytes);
  EXPECT_EQ(m->seq_length(1), 8);
  EXPECT_EQ(m->view(1, 0, 0).n_tokens(), view_before.n_tokens());
  // A new sequence that does not fit at all: nothing created.
  st = m->append(2, 0, std::vector<int32_t>{0}, k1.data(), k1.data());
  EXPECT_EQ(st.code(), StatusCode::kOutOfMemory);
  m->check_invariants();
}

TEST(KvManager, PlanHasNoSideEffectsAndApplyReserves) {
  auto c = small_config(KvFormat::kF16, 4);
  const int64_t block = block_layout(KvFormat::kF16, 4, 8).bytes();
  c.budget_bytes = 16 * block;
  auto m = make_manager(c);
  std::vector<AppendRequest> batch = {{1, 5}, {2, 3}};
  auto plan = m->plan_append(batch);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan->blocks_needed, 4 * 2 + 4 * 1);  // seq 1: 2 blocks per head, seq 2: 1
  EXPECT_EQ(plan->bytes_needed, 12 * block);
  EXPECT_EQ(m->usage().used_bytes, 0);
  EXPECT_FALSE(m->contains(1));
  EXPECT_TRUE(m->can_admit(*plan));
  // Too big for the budget: probe says no, apply fails and changes nothing.
  std::vector<AppendRequest> big = {{3, 100}};
  auto big_plan = m->plan_append(big);
  ASSERT_TRUE(big_plan.is_ok());
  EXPECT_FALSE(m->can_admit(*big_plan));
  EXPECT_EQ(m->apply(*big_plan).code(), StatusCode::kOutOfMemory);
  EXPECT_EQ(m->usage().used_bytes, 0);
  EXPECT_FALSE(m->contains(3));
  m->check_invariants();
  ASSERT_TRUE(m->apply(*plan).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, 12 * block);
  // A stale plan is refused.
  EXPECT_EQ(m->apply(*plan).code(), StatusCode::kInvalidArgument);
  // Filling the reservation allocates nothing more, even with the rest of the budget gone.
  std::mt19937 rng(3);
  auto k = random_kv(5, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 5, k, k).is_ok());
  auto k2 = random_kv(3, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 2, 0, 3, k2, k2).is_ok());
  EXPECT_EQ(m->usage().used_bytes, 12 * block);
  m->check_invariants();
}

TEST(KvManager, PerHeadEvictionCompactsAndFreesMemory) {
  auto c = small_config(KvFormat::kF32, 4);
  c.prefix_cache = false;
  auto m = make_manager(c);
  std::mt19937 rng(4);
  auto k = random_kv(12, c, rng), v = random_kv(12, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 12, k, v).is_ok());
  const int64_t before = m->usage().used_bytes;
  // Evict 1 token from each of the first two blocks of (layer 1, head 0): the blocks compact
  // to 3 + 3 tokens, which do not fit one block of 4, so nothing is freed yet.
  ASSERT_TRUE(m->evict(1, 1, 0, std::vector<int32_t>{1, 6}).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->head_tokens(1, 1, 0), 10);
  EXPECT_EQ(m->usage().used_bytes, before);
  // Two more from the second block: 3 + 1 merge into one block: a block is freed for real.
  ASSERT_TRUE(m->evict(1, 1, 0, std::vector<int32_t>{4, 5}).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, before - m->block_bytes(KvFormat::kF32));
  std::vector<float> kd, vd;
  std::vector<int32_t> pos;
  decode_view(m->view(1, 1, 0), c.head_dim, &kd, &vd, &pos);
  const std::vector<int32_t> expect = {0, 2, 3, 7, 8, 9, 10, 11};
  EXPECT_EQ(pos, expect);
  for (size_t i = 0; i < expect.size(); ++i)
    for (int d = 0; d < c.head_dim; ++d)
      EXPECT_EQ(kd[i * c.head_dim + d], k[(expect[i] * c.n_kv_heads + 0) * c.head_dim + d]);
  // Other heads are untouched.
  EXPECT_EQ(m->head_tokens(1, 1, 1), 12);
  EXPECT_EQ(m->head_tokens(1, 0, 0), 12);
  // Unknown position: error, nothing changed.
  EXPECT_EQ(m->evict(1, 1, 0, std::vector<int32_t>{1}).code(), StatusCode::kNotFound);
  EXPECT_EQ(m->head_tokens(1, 1, 0), 8);
  // Appending after eviction keeps positions increasing.
  auto k1 = random_kv(1, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 12, 1, k1, k1).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->head_tokens(1, 1, 0), 9);
}

TEST(KvManager, ForkSharesBlocksAndCopiesOnWrite) {
  auto c = small_config(KvFormat::kF32, 4);
  c.prefix_cache = false;
  auto m = make_manager(c);
  std::mt19937 rng(5);
  auto k = random_kv(6, c, rng), v = random_kv(6, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 6, k, v).is_ok());
  const int64_t one = m->usage().used_bytes;
  ASSERT_TRUE(m->fork(1, 2).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, one);  // shared, not copied
  // Appending to the child copies its partial tail block only.
  auto k1 = random_kv(1, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 2, 6, 1, k1, k1).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, one + 4 * m->block_bytes(KvFormat::kF32));
  EXPECT_EQ(m->view(1, 0, 0).n_tokens(), 6);
  EXPECT_EQ(m->view(2, 0, 0).n_tokens(), 7);
  // Evicting in the child leaves the parent intact.
  ASSERT_TRUE(m->evict(2, 0, 0, std::vector<int32_t>{0}).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->view(1, 0, 0).n_tokens(), 6);
  EXPECT_EQ(m->view(1, 0, 0).runs[0].positions[0], 0);
  EXPECT_EQ(m->view(2, 0, 0).runs[0].positions[0], 1);
  m->release(1);
  m->release(2);
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, 0);
}

TEST(KvManager, KiviKeepsResidualInFullPrecisionUntilGroupFills) {
  auto c = small_config(KvFormat::kInt4, 4);
  auto m = make_manager(c);
  std::mt19937 rng(6);
  auto k = random_kv(10, c, rng), v = random_kv(10, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 10, k, v).is_ok());
  m->check_invariants();
  KvHeadView view = m->view(1, 0, 1);
  ASSERT_EQ(view.runs.size(), 3u);
  EXPECT_EQ(view.runs[0].format, KvFormat::kInt4);
  EXPECT_EQ(view.runs[1].format, KvFormat::kInt4);
  EXPECT_EQ(view.runs[2].format, KvFormat::kF16);
  EXPECT_EQ(view.runs[2].n_tokens, 2);
  EXPECT_EQ(view.runs[2].positions[0], 8);
  // Two more tokens complete the group: it is quantized, the residual empties.
  auto k2 = random_kv(2, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 10, 2, k2, k2).is_ok());
  m->check_invariants();
  view = m->view(1, 0, 1);
  ASSERT_EQ(view.runs.size(), 3u);
  EXPECT_EQ(view.runs[2].format, KvFormat::kInt4);
  EXPECT_EQ(view.runs[2].positions[3], 11);
}

TEST(KvManager, PrefixReuseSharesBlocksAndEvictsLru) {
  ManualClock clock;
  auto c = small_config(KvFormat::kF16, 4);
  c.clock = &clock;
  const int64_t block = block_layout(KvFormat::kF16, 4, 8).bytes();
  c.budget_bytes = 4 * 6 * block;  // 6 blocks per head
  auto m = make_manager(c);
  std::mt19937 rng(7);
  std::vector<int32_t> toks_a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  auto k = random_kv(10, c, rng), v = random_kv(10, c, rng);
  ASSERT_TRUE(m->append_tokens(1, toks_a).is_ok());
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 10, k, v).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->prefix_entries(), 2);  // two full blocks
  EXPECT_EQ(m->match_prefix(toks_a, 100), 8);
  std::vector<int32_t> toks_b = {1, 2, 3, 4, 5, 6, 7, 99, 9};
  EXPECT_EQ(m->match_prefix(toks_b, 100), 4);  // diverges inside the second block
  m->release(1);                               // the index keeps the full blocks alive
  m->check_invariants();
  const int64_t cached = m->usage().used_bytes;
  EXPECT_EQ(cached, 8 * block);
  EXPECT_EQ(m->usage().prefix_only_bytes, cached);
  clock.advance(1.0);
  // A resent conversation: seq 2 adopts the 8 cached tokens without new memory.
  auto got = m->adopt_prefix(2, toks_a, 9);
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(*got, 8);
  EXPECT_EQ(m->seq_length(2), 8);
  EXPECT_EQ(m->usage().used_bytes, cached);
  m->check_invariants();
  // Its KV equals what seq 1 stored.
  KvHeadView view = m->view(2, 1, 1);
  ASSERT_EQ(view.n_tokens(), 8);
  // The divergent conversation shares the first block and computes the rest.
  auto got_b = m->adopt_prefix(3, toks_b, 100);
  ASSERT_TRUE(got_b.is_ok());
  EXPECT_EQ(*got_b, 4);
  auto kb = random_kv(5, c, rng);
  ASSERT_TRUE(m->append_tokens(3, std::span<const int32_t>(toks_b).subspan(4)).is_ok());
  ASSERT_TRUE(append_all_layers(*m, 3, 4, 5, kb, kb).is_ok());
  m->check_invariants();
  m->release(2);
  m->release(3);
  m->check_invariants();
  // Three chains cached now: [1..4] -> [5..8], [1..4] -> [5,6,7,99]. Fill the pool with a
  // fresh sequence: the least recently used unreferenced chains are evicted to make room.
  clock.advance(1.0);
  std::vector<int32_t> toks_c(24);
  for (int i = 0; i < 24; ++i) toks_c[i] = 1000 + i;
  auto kc = random_kv(24, c, rng);
  ASSERT_TRUE(m->append_tokens(4, toks_c).is_ok());
  ASSERT_TRUE(append_all_layers(*m, 4, 0, 24, kc, kc).is_ok()) << "LRU eviction should make room";
  m->check_invariants();
  EXPECT_EQ(m->match_prefix(toks_a, 100), 0);
  EXPECT_EQ(m->usage().used_bytes, 4 * 6 * block);
}

}  // namespace
}  // namespace lk
