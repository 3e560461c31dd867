// The driver over the real paged KV manager: evictions free pool bytes by the stated ratio
// (within block granularity), attention statistics reach the policies, decode keeps budgets.
#include <gtest/gtest.h>

#include <random>

#include "compress/driver.h"
#include "driver_test_util.h"

namespace lk::compress {
namespace {

constexpr int kLayers = 2, kKv = 2, kD = 8, kHeads = 4;  // group 2

std::unique_ptr<KvManager> manager(KvFormat f = KvFormat::kF32) {
  KvManagerConfig c;
  c.n_layers = kLayers;
  c.n_kv_heads = kKv;
  c.head_dim = kD;
  c.block_tokens = 4;
  c.format = f;
  c.residual_format = KvFormat::kF16;
  c.budget_bytes = 8 << 20;
  c.model_digest = "test";
  c.prefix_cache = false;
  auto m = KvManager::create(c);
  EXPECT_TRUE(m.is_ok());
  return std::move(m).value();
}

// Appends n tokens (positions first..first+n) to every layer; keys [n][kKv][kD] random.
std::vector<float> append(KvManager& kv, SeqId seq, int first, int n, std::mt19937& rng) {
  std::normal_distribution<float> nd;
  std::vector<float> k(static_cast<size_t>(n) * kKv * kD), v(k.size());
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  std::vector<int32_t> pos(n);
  for (int i = 0; i < n; ++i) pos[i] = first + i;
  for (int l = 0; l < kLayers; ++l) EXPECT_TRUE(kv.append(seq, l, pos, k.data(), v.data()).is_ok());
  return k;
}

std::vector<int32_t> held(const KvManager& kv, SeqId seq, int l, int h) {
  std::vector<int32_t> out;
  for (const KvRun& r : kv.view(seq, l, h).runs)
    out.insert(out.end(), r.positions, r.positions + r.n_tokens);
  return out;
}

std::unique_ptr<CompressionDriver> driver(const std::string& spec, KvManager* kv) {
  return make_test_driver(spec, kv, kHeads);
}

TEST(Driver, StreamingFreesPoolBytesByTheRatio) {
  auto kv = manager();
  std::mt19937 rng(1);
  append(*kv, 1, 0, 32, rng);
  const int64_t before = kv->usage().used_bytes;
  auto d = driver("streaming:0.25:sinks=2", kv.get());
  d->begin(1);
  ASSERT_TRUE(d->end_prefill(1).is_ok());
  EXPECT_EQ(d->keep_per_head(), 8);
  kv->check_invariants();
  for (int l = 0; l < kLayers; ++l)
    for (int h = 0; h < kKv; ++h)
      EXPECT_EQ(held(*kv, 1, l, h), (std::vector<int32_t>{0, 1, 26, 27, 28, 29, 30, 31}));
  EXPECT_EQ(kv->usage().used_bytes * 4, before);  // 8 of 32 tokens, whole blocks of 4
  auto c = d->counters();
  EXPECT_EQ(c[0].evictions, 24);
  EXPECT_EQ(c[0].held, 8);
  EXPECT_DOUBLE_EQ(c[0].retained_ratio(), 0.25);
  EXPECT_EQ(c[0].bytes_saved, 24 * kv->block_bytes(KvFormat::kF32) / 4);
  auto rep = d->report();
  EXPECT_DOUBLE_EQ(rep["retained_ratio"].get<double>(), 0.25);
  EXPECT_EQ(rep["heads"].size(), 4u);
  // Decode: the window slides, the cache stays at its budget.
  d->set_phase(Phase::kDecode);
  append(*kv, 1, 32, 1, rng);
  std::vector<float> q(kHeads * kD, 0.0f);
  int32_t p = 32;
  for (int l = 0; l < kLayers; ++l)
    ASSERT_TRUE(d->after_attention(1, l, q.data(), kHeads * kD, {&p, 1}).is_ok());
  EXPECT_EQ(held(*kv, 1, 0, 0), (std::vector<int32_t>{0, 1, 27, 28, 29, 30, 31, 32}));
  kv->check_invariants();
}

TEST(Driver, SnapKvKeepsWhatTheWindowAttendsTo) {
  auto kv = manager();
  std::mt19937 rng(2);
  const int n = 40;
  std::vector<float> keys = append(*kv, 1, 0, n, rng);
  const int64_t before = kv->usage().used_bytes;
  auto d = driver("snapkv:0.25:window=2:kernel=1", kv.get());
  d->begin(1);
  // Prefill in two chunks; the last 2 queries point at key 5 (head 0) and 17 (head 1).
  const int64_t q_dim = kHeads * kD;
  std::vector<float> q(static_cast<size_t>(n) * q_dim, 0.0f);
  for (int g = 0; g < 2; ++g)
    for (int dd = 0; dd < kD; ++dd) {
      for (int t : {38, 39}) {
        q[t * q_dim + (0 * 2 + g) * kD + dd] = 8.0f * keys[(5 * kKv + 0) * kD + dd];
        q[t * q_dim + (1 * 2 + g) * kD + dd] = 8.0f * keys[(17 * kKv + 1) * kD + dd];
      }
    }
  std::vector<int32_t> pos(n);
  for (int i = 0; i < n; ++i) pos[i] = i;
  for (int l = 0; l < kLayers; ++l) {
    ASSERT_TRUE(d->after_attention(1, l, q.data(), q_dim, {pos.data(), 20}).is_ok());
    ASSERT_TRUE(
        d->after_attention(1, l, q.data() + 20 * q_dim, q_dim, {pos.data() + 20, 20}).is_ok());
  }
  ASSERT_TRUE(d->end_prefill(1).is_ok());
  EXPECT_EQ(d->keep_per_head(), 10);
  for (int l = 0; l < kLayers; ++l) {
    auto h0 = held(*kv, 1, l, 0), h1 = held(*kv, 1, l, 1);
    EXPECT_EQ(h0.size(), 10u);
    EXPECT_NE(std::find(h0.begin(), h0.end(), 5), h0.end());
    EXPECT_NE(std::find(h1.begin(), h1.end(), 17), h1.end());
    EXPECT_EQ(h0.back(), 39);  // the window is kept
    EXPECT_EQ(h0[h0.size() - 2], 38);
  }
  kv->check_invariants();
  // 10 of 40 tokens per head: 3 blocks of 4 (10 tokens, the last partial) of 10.
  const int64_t after = kv->usage().used_bytes;
  EXPECT_LE(after * 10, before * 3);
  EXPECT_GE(after * 4, before);
}

TEST(Driver, H2oObservesEveryPrefillQuery) {
  auto kv = manager();
  std::mt19937 rng(3);
  append(*kv, 7, 0, 16, rng);
  auto d = driver("h2o:0.5", kv.get());
  d->begin(7);
  std::vector<float> q(16 * kHeads * kD, 0.0f);
  std::vector<int32_t> pos(16);
  for (int i = 0; i < 16; ++i) pos[i] = i;
  for (int l = 0; l < kLayers; ++l)
    ASSERT_TRUE(d->after_attention(7, l, q.data(), kHeads * kD, pos).is_ok());
  ASSERT_TRUE(d->end_prefill(7).is_ok());
  // Zero queries attend uniformly: key t receives sum_{i>=t} 1/(i+1), largest for early keys.
  // Budget 8 = recent 4 {12..15} + heavy 4 {0..3}.
  EXPECT_EQ(held(*kv, 7, 1, 1), (std::vector<int32_t>{0, 1, 2, 3, 12, 13, 14, 15}));
}

TEST(Driver, RefusesMismatchedFormatAndThresholdlessDms) {
  auto kv = manager(KvFormat::kF32);
  auto s = parse_compression_spec("snapkv:0.5+int8");
  auto d = CompressionDriver::create(*s, kv.get(), kHeads);
  ASSERT_FALSE(d.is_ok());
  EXPECT_NE(d.status().message().find("int8"), std::string::npos);
  auto dms = CompressionDriver::create(*parse_compression_spec("dms"), kv.get(), kHeads);
  ASSERT_FALSE(dms.is_ok());
  EXPECT_NE(dms.status().message().find("threshold"), std::string::npos);
}

TEST(Driver, QuestReadsFewerPagesAndKeepsEveryToken) {
  auto kv = manager();
  std::mt19937 rng(4);
  append(*kv, 1, 0, 32, rng);
  auto d = driver("quest:0.25", kv.get());
  d->begin(1);
  ASSERT_TRUE(d->end_prefill(1).is_ok());
  std::vector<float> q(kHeads * kD, 0.5f);
  KvHeadView v = kv->view(1, 0, 0);
  KvHeadView r = d->filter_view(1, 0, 0, v, q.data(), kHeads * kD, 1);
  EXPECT_EQ(v.n_tokens(), 32);
  EXPECT_EQ(r.n_tokens(), 8);               // 2 of 8 pages
  EXPECT_EQ(kv->head_tokens(1, 0, 0), 32);  // memory untouched
  EXPECT_EQ(d->quest_counters().pages_read, 2);
  EXPECT_EQ(d->quest_counters().pages_total, 8);
  EXPECT_NE(d->report()["notes"].get<std::string>().find("saves reads, not memory"),
            std::string::npos);
}

}  // namespace
}  // namespace lk::compress
