// Mixed precision by age in the paged KV manager (KvManagerConfig::old_format,
// reencode_older): which blocks are re-encoded, the byte accounting (a re-encoded block frees
// its main-format block), eviction and appends around old blocks, copy-on-write of shared
// blocks, snapshots of mixed sequences, and config errors. Decoded values are checked in
// tests/compress/mixed_test.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "kv_test_util.h"

namespace lk::test {
namespace {

KvManagerConfig mixed_config(KvFormat old, KvFormat main = KvFormat::kF16) {
  KvManagerConfig c = small_config(main, /*block=*/4);
  c.old_format = old;
  c.prefix_cache = false;
  return c;
}

std::vector<KvFormat> head_formats(const KvManager& m, SeqId seq, int layer, int head) {
  std::vector<KvFormat> f;
  for (const KvRun& r : m.view(seq, layer, head).runs) f.push_back(r.format);
  return f;
}

Status reencode_all(KvManager& m, SeqId seq, int64_t before, int64_t* n) {
  *n = 0;
  for (int l = 0; l < m.config().n_layers; ++l)
    for (int h = 0; h < m.config().n_kv_heads; ++h) {
      auto r = m.reencode_older(seq, l, h, before);
      if (!r.is_ok()) return r.status();
      *n += *r;
    }
  return Status::ok();
}

class MixedByFormat : public ::testing::TestWithParam<KvFormat> {};

TEST_P(MixedByFormat, OldBlocksAreReencodedAndBytesDropByTheFormatRatio) {
  const KvFormat old = GetParam();
  const KvManagerConfig c = mixed_config(old);
  auto m = make_manager(c);
  std::mt19937 rng(7);
  const int n = 22;  // blocks of 4: 5 full + 1 of 2 tokens per head
  const auto k = random_kv(n, c, rng), v = random_kv(n, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, n, k, v).is_ok());
  const int heads = c.n_layers * c.n_kv_heads;
  const int64_t main_b = m->block_bytes(KvFormat::kF16), old_b = m->block_bytes(old);
  ASSERT_LT(old_b, main_b);
  EXPECT_EQ(m->usage().used_bytes, heads * 6 * main_b);

  // Window 9: positions < 13 are old, so blocks [0,3], [4,7], [8,11] (block [12,15] holds 13).
  int64_t done = 0;
  ASSERT_TRUE(reencode_all(*m, 1, n - 9, &done).is_ok());
  m->check_invariants();
  EXPECT_EQ(done, heads * 3);
  EXPECT_EQ(m->seq_blocks(1, old), heads * 3);
  EXPECT_EQ(m->seq_blocks(1, KvFormat::kF16), heads * 3);
  EXPECT_EQ(m->usage().used_bytes, heads * (3 * old_b + 3 * main_b));
  EXPECT_EQ(m->seq_bytes(1), heads * (3 * old_b + 3 * main_b));
  EXPECT_EQ(head_formats(*m, 1, 1, 1),
            (std::vector<KvFormat>{old, old, old, KvFormat::kF16, KvFormat::kF16, KvFormat::kF16}));
  EXPECT_EQ(m->head_tokens(1, 0, 0), n);

  // Idempotent at the same cutoff; a later cutoff continues after the old prefix; the last
  // block (where appends go) is never re-encoded.
  ASSERT_TRUE(reencode_all(*m, 1, n - 9, &done).is_ok());
  EXPECT_EQ(done, 0);
  ASSERT_TRUE(reencode_all(*m, 1, 1 << 20, &done).is_ok());
  EXPECT_EQ(done, heads * 2);
  m->check_invariants();
  EXPECT_EQ(head_formats(*m, 1, 0, 1).back(), KvFormat::kF16);
  EXPECT_EQ(m->usage().used_bytes, heads * (5 * old_b + 1 * main_b));

  // Appends continue in the main format; releasing frees everything.
  const auto k2 = random_kv(7, c, rng), v2 = random_kv(7, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, n, 7, k2, v2).is_ok());
  m->check_invariants();
  EXPECT_EQ(m->head_tokens(1, 1, 0), n + 7);
  m->release(1);
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Formats, MixedByFormat,
                         ::testing::Values(KvFormat::kInt8, KvFormat::kInt4, KvFormat::kInt2),
                         [](const auto& i) { return std::string(kv_format_name(i.param)); });

TEST(KvManagerMixed, EvictionAroundOldBlocksKeepsInvariantsAndAppendsWork) {
  const KvManagerConfig c = mixed_config(KvFormat::kInt8);
  auto m = make_manager(c);
  std::mt19937 rng(3);
  const auto k = random_kv(16, c, rng), v = random_kv(16, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 16, k, v).is_ok());
  int64_t done = 0;
  ASSERT_TRUE(reencode_all(*m, 1, 12, &done).is_ok());  // blocks 0..2 old, block 3 recent
  // Evicting 6 tokens of the first two int8 blocks leaves one token in each: they merge into
  // one int8 block (only blocks of one per-token format merge).
  ASSERT_TRUE(m->evict(1, 0, 0, std::vector<int32_t>{1, 2, 3, 4, 5, 6}).is_ok());
  m->check_invariants();
  EXPECT_EQ(head_formats(*m, 1, 0, 0),
            (std::vector<KvFormat>{KvFormat::kInt8, KvFormat::kInt8, KvFormat::kF16}));
  // Evict every recent token: the head's last block is now an old one with free slots; the
  // next append must open a new main-format block (not write into the int8 block).
  ASSERT_TRUE(m->evict(1, 0, 0, std::vector<int32_t>{11, 12, 13, 14, 15}).is_ok());
  m->check_invariants();
  EXPECT_EQ(head_formats(*m, 1, 0, 0).back(), KvFormat::kInt8);
  const auto k2 = random_kv(5, c, rng), v2 = random_kv(5, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 16, 5, k2, v2).is_ok());
  m->check_invariants();
  EXPECT_EQ(head_formats(*m, 1, 0, 0), (std::vector<KvFormat>{KvFormat::kInt8, KvFormat::kInt8,
                                                              KvFormat::kF16, KvFormat::kF16}));
  EXPECT_EQ(m->head_tokens(1, 0, 0), 16 - 11 + 5);
}

TEST(KvManagerMixed, SharedBlocksAreCopiedNotChanged) {
  const KvManagerConfig c = mixed_config(KvFormat::kInt4);
  auto m = make_manager(c);
  std::mt19937 rng(5);
  const auto k = random_kv(12, c, rng), v = random_kv(12, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 12, k, v).is_ok());
  ASSERT_TRUE(m->fork(1, 2).is_ok());
  const int64_t before = m->usage().used_bytes;
  auto r = m->reencode_older(1, 0, 0, 8);  // blocks 0 and 1
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, 2);
  m->check_invariants();
  // seq 2 still holds the f16 originals; the copies add their bytes.
  EXPECT_EQ(head_formats(*m, 2, 0, 0),
            (std::vector<KvFormat>{KvFormat::kF16, KvFormat::kF16, KvFormat::kF16}));
  EXPECT_EQ(m->usage().used_bytes, before + 2 * m->block_bytes(KvFormat::kInt4));
  m->release(2);
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes,
            c.n_layers * c.n_kv_heads * 3 * m->block_bytes(KvFormat::kF16) -
                2 * (m->block_bytes(KvFormat::kF16) - m->block_bytes(KvFormat::kInt4)));
}

TEST(KvManagerMixed, SnapshotRoundTripKeepsOldBlocks) {
  const KvManagerConfig c = mixed_config(KvFormat::kInt2);
  auto m = make_manager(c);
  std::mt19937 rng(9);
  const auto k = random_kv(14, c, rng), v = random_kv(14, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 14, k, v).is_ok());
  int64_t done = 0;
  ASSERT_TRUE(reencode_all(*m, 1, 9, &done).is_ok());
  ASSERT_EQ(done, c.n_layers * c.n_kv_heads * 2);
  const std::string path = (temp_dir("kv_mixed") / "seq.lkkv").string();
  ASSERT_TRUE(m->save_snapshot(1, path).is_ok());

  auto m2 = make_manager(c);
  ASSERT_TRUE(m2->load_snapshot(path, 5).is_ok());
  m2->check_invariants();
  EXPECT_EQ(m2->seq_bytes(5), m->seq_bytes(1));
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_kv_heads; ++h) {
      const KvHeadView a = m->view(1, l, h), b = m2->view(5, l, h);
      ASSERT_EQ(a.runs.size(), b.runs.size());
      for (size_t i = 0; i < a.runs.size(); ++i) {
        EXPECT_EQ(a.runs[i].format, b.runs[i].format);
        const BlockLayout lay = block_layout(a.runs[i].format, c.block_tokens, c.head_dim);
        EXPECT_EQ(std::memcmp(a.runs[i].k, b.runs[i].k, lay.row_bytes * a.runs[i].n_tokens), 0);
        EXPECT_EQ(std::memcmp(a.runs[i].v, b.runs[i].v, lay.row_bytes * a.runs[i].n_tokens), 0);
      }
    }
  // A cache without that old format refuses the snapshot, naming both.
  auto plain = make_manager(small_config(KvFormat::kF16, 4));
  Status st = plain->load_snapshot(path, 1);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  EXPECT_NE(st.message().find("old blocks in int2"), std::string::npos) << st.to_string();
  auto other = make_manager(mixed_config(KvFormat::kInt8));
  EXPECT_FALSE(other->load_snapshot(path, 1).is_ok());
}

TEST(KvManagerMixed, ConfigErrorsNameTheChoices) {
  KvManagerConfig c = mixed_config(KvFormat::kF32);
  Status st = c.validate();
  EXPECT_NE(st.message().find("int8, int4 (kivi4) or int2 (kivi2)"), std::string::npos)
      << st.to_string();
  c = mixed_config(KvFormat::kInt4, KvFormat::kInt8);
  st = c.validate();
  EXPECT_NE(st.message().find("float format (f32, f16, bf16)"), std::string::npos)
      << st.to_string();
  auto m = make_manager(small_config(KvFormat::kF16, 4));
  std::mt19937 rng(1);
  const auto k = random_kv(8, m->config(), rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 0, 8, k, k).is_ok());
  EXPECT_EQ(m->reencode_older(1, 0, 0, 8).status().code(), StatusCode::kInvalidArgument);
  auto mm = make_manager(mixed_config(KvFormat::kInt8));
  EXPECT_EQ(mm->reencode_older(3, 0, 0, 8).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lk::test
