// Context switching and snapshots: swap_out / swap_in through host, disk and Redis tiers,
// bit-exact round trips, fault injection (corrupt copy, failing tier, Redis killed, budget
// exhausted at swap-in), snapshots refused for another model, prefix chains spilled to a tier.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "kv/kv_codec.h"
#include "kv/kv_manager.h"
#include "kv/redis_process.h"
#include "kv_test_util.h"

namespace lk {
namespace {

using test::append_all_layers;
using test::make_manager;
using test::random_kv;
using test::small_config;

// Every byte a head's view exposes (codes, params, positions), for exact comparison.
std::vector<uint8_t> head_bytes(const KvManager& m, SeqId seq, int layer, int head) {
  const auto& c = m.config();
  std::vector<uint8_t> out;
  auto add = [&](const void* p, size_t n) {
    if (!p) return;
    auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  };
  for (const KvRun& r : m.view(seq, layer, head).runs) {
    const BlockLayout l = block_layout(r.format, c.block_tokens, c.head_dim);
    out.push_back(static_cast<uint8_t>(r.format));
    add(r.k, r.n_tokens * l.row_bytes);
    add(r.v, r.n_tokens * l.row_bytes);
    add(r.positions, 4 * r.n_tokens);
    if (r.format == KvFormat::kInt8) {
      add(r.k_scale, 4 * r.n_tokens);
      add(r.v_scale, 4 * r.n_tokens);
    }
    if (kv_format_is_kivi(r.format)) {
      add(r.k_qparams, 4 * c.head_dim);
      add(r.v_qparams, 4 * r.n_tokens);
    }
  }
  return out;
}

std::vector<std::vector<uint8_t>> all_bytes(const KvManager& m, SeqId seq) {
  std::vector<std::vector<uint8_t>> out;
  for (int l = 0; l < m.config().n_layers; ++l)
    for (int h = 0; h < m.config().n_kv_heads; ++h) out.push_back(head_bytes(m, seq, l, h));
  return out;
}

// Device bytes not held only by the prefix cache (which keeps full blocks alive on purpose).
int64_t live_bytes(const KvManager& m) {
  const KvUsage u = m.usage();
  return u.used_bytes - u.prefix_only_bytes;
}

// Builds seq with n tokens (and token ids) plus one evicted token in head (0, 1).
void fill(KvManager& m, SeqId seq, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto k = random_kv(n, m.config(), rng), v = random_kv(n, m.config(), rng);
  std::vector<int32_t> toks(n);
  for (int i = 0; i < n; ++i) toks[i] = static_cast<int32_t>(seed * 1000 + i);
  ASSERT_TRUE(m.append_tokens(seq, toks).is_ok());
  ASSERT_TRUE(append_all_layers(m, seq, 0, n, k, v).is_ok());
  ASSERT_TRUE(m.evict(seq, 0, 1, std::vector<int32_t>{2}).is_ok());
}

// Adds a disk tier in dir (capacity 0: unlimited) to m.
void add_disk_tier(KvManager& m, const std::string& dir, int64_t capacity_bytes = 0) {
  auto disk = make_disk_tier(dir, capacity_bytes);
  ASSERT_TRUE(disk.is_ok());
  ASSERT_TRUE(m.add_tier(std::move(disk).value()).is_ok());
}

// A tier whose writes fail like a full disk, and whose reads can be made to fail.
class FaultyTier final : public KvTier {
 public:
  explicit FaultyTier(std::string name) : name_(std::move(name)), inner_(make_host_tier()) {}
  std::string name() const override { return name_; }
  Status put(const std::string& key, BytesPtr value) override {
    if (fail_writes)
      return Status(StatusCode::kUnavailable, "write failed: No space left on device");
    return inner_->put(key, std::move(value));
  }
  Result<BytesPtr> get(const std::string& key) override {
    auto r = inner_->get(key);
    if (!r.is_ok() || !flip_on_read) return r;
    auto copy = Bytes::make((*r)->size);
    std::memcpy(copy->data.get(), (*r)->data.get(), copy->size);
    copy->data[copy->size - 7] ^= 0x10;  // one bit in the last block's bytes
    return copy;
  }
  Status remove(const std::string& key) override { return inner_->remove(key); }
  int64_t bytes_used() const override { return inner_->bytes_used(); }
  bool fail_writes = false;
  bool flip_on_read = false;

 private:
  std::string name_;
  std::unique_ptr<KvTier> inner_;
};

// A tier whose put blocks until released (to observe the transfer running concurrently).
class GatedTier final : public KvTier {
 public:
  std::string name() const override { return "gated"; }
  Status put(const std::string& key, BytesPtr value) override {
    std::unique_lock<std::mutex> lk(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lk, [&] { return open_; });
    return inner_->put(key, std::move(value));
  }
  Result<BytesPtr> get(const std::string& key) override { return inner_->get(key); }
  Status remove(const std::string& key) override { return inner_->remove(key); }
  int64_t bytes_used() const override { return inner_->bytes_used(); }
  void wait_entered() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return entered_; });
  }
  void open() {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false;
  std::unique_ptr<KvTier> inner_ = make_host_tier();
};

class SwapFormat : public ::testing::TestWithParam<KvFormat> {};

TEST_P(SwapFormat, HostAndDiskRoundTripsAreExact) {
  auto c = small_config(GetParam(), 4);
  c.prefix_cache = false;  // exact device accounting: no cached chains besides the seqs
  auto m = make_manager(c);
  ASSERT_TRUE(m->add_tier(make_host_tier()).is_ok());
  add_disk_tier(*m, test::temp_dir("disk").string());
  fill(*m, 1, 11, 1);
  fill(*m, 2, 6, 2);
  m->check_invariants();
  const auto before = all_bytes(*m, 1);
  const int64_t seq1_bytes = m->seq_bytes(1);
  const int64_t used = m->usage().used_bytes;
  for (const char* tier : {"host", "disk"}) {
    Status st = m->swap_out(1, tier).get();
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    m->check_invariants();
    EXPECT_EQ(m->state(1), SeqState::kSwappedOut);
    EXPECT_EQ(m->seq_length(1), 11);
    EXPECT_TRUE(m->view(1, 0, 0).runs.empty());
    KvUsage u = m->usage();
    EXPECT_EQ(u.used_bytes, used - seq1_bytes) << "device blocks freed";
    EXPECT_GT(u.tier_bytes.at(tier), 0);
    // The engine keeps using the cache for other sequences meanwhile.
    EXPECT_EQ(m->view(2, 1, 1).n_tokens(), 6);
    SwapInResult r = m->swap_in(1).get();
    ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
    m->check_invariants();
    EXPECT_EQ(m->state(1), SeqState::kResident);
    EXPECT_EQ(all_bytes(*m, 1), before) << tier;
    EXPECT_EQ(m->usage().used_bytes, used);
    m->wait_transfers();  // the tier copy is dropped right after the future is ready
    EXPECT_EQ(m->usage().tier_bytes.at(tier), 0) << "tier copy dropped after swap-in";
    EXPECT_EQ(m->tokens(1).size(), 11u);
    EXPECT_EQ(m->head_tokens(1, 0, 1), 10);
  }
  // Appending after a round trip works.
  std::mt19937 rng(9);
  auto k = random_kv(1, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 1, 11, 1, k, k).is_ok());
  m->check_invariants();
}

INSTANTIATE_TEST_SUITE_P(Formats, SwapFormat,
                         ::testing::Values(KvFormat::kF32, KvFormat::kBF16, KvFormat::kInt8,
                                           KvFormat::kInt4, KvFormat::kInt2),
                         [](const auto& info) { return std::string(kv_format_name(info.param)); });

TEST(KvSwap, CorruptCopyMeansRecomputeNeverWrongData) {
  auto c = small_config(KvFormat::kF16, 4);
  auto m = make_manager(c);
  auto tier = std::make_unique<FaultyTier>("faulty");
  FaultyTier* faulty = tier.get();
  ASSERT_TRUE(m->add_tier(std::move(tier)).is_ok());
  const int64_t baseline = m->usage().used_bytes;
  fill(*m, 1, 9, 3);
  ASSERT_TRUE(m->swap_out(1, "faulty").get().is_ok());
  faulty->flip_on_read = true;
  SwapInResult r = m->swap_in(1).get();
  EXPECT_EQ(r.status.code(), StatusCode::kCorrupt) << r.status.to_string();
  EXPECT_TRUE(r.recompute_required);
  EXPECT_NE(r.status.message().find("recompute"), std::string::npos);
  m->check_invariants();
  EXPECT_EQ(m->state(1), SeqState::kResident);
  EXPECT_EQ(m->seq_length(1), 0);
  EXPECT_EQ(m->tokens(1).size(), 9u) << "tokens kept for the recompute";
  EXPECT_TRUE(m->view(1, 0, 0).runs.empty());
  EXPECT_EQ(live_bytes(*m), baseline) << "no blocks leaked by the failed swap-in";
}

TEST(KvSwap, FailingTierLeavesSequenceResident) {
  auto m = make_manager(small_config(KvFormat::kInt8, 4));
  auto tier = std::make_unique<FaultyTier>("full-disk");
  tier->fail_writes = true;
  ASSERT_TRUE(m->add_tier(std::move(tier)).is_ok());
  fill(*m, 1, 9, 4);
  const auto before = all_bytes(*m, 1);
  const int64_t used = m->usage().used_bytes;
  Status st = m->swap_out(1, "full-disk").get();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("No space"), std::string::npos) << st.to_string();
  m->check_invariants();
  EXPECT_EQ(m->state(1), SeqState::kResident);
  EXPECT_EQ(all_bytes(*m, 1), before);
  EXPECT_EQ(m->usage().used_bytes, used);
  EXPECT_EQ(m->swap_out(1, "nope").get().code(), StatusCode::kNotFound);
}

TEST(KvSwap, TransferRunsWhileEngineContinues) {
  auto c = small_config(KvFormat::kF16, 4);
  auto m = make_manager(c);
  auto tier = std::make_unique<GatedTier>();
  GatedTier* gate = tier.get();
  ASSERT_TRUE(m->add_tier(std::move(tier)).is_ok());
  fill(*m, 1, 9, 5);
  fill(*m, 2, 5, 6);
  auto fut = m->swap_out(1, "gated");
  gate->wait_entered();  // the transfer thread is inside the tier write now
  EXPECT_EQ(m->state(1), SeqState::kSwappingOut);
  std::mt19937 rng(1);
  auto k = random_kv(1, c, rng);
  EXPECT_TRUE(append_all_layers(*m, 2, 5, 1, k, k).is_ok()) << "other sequences keep computing";
  EXPECT_EQ(append_all_layers(*m, 1, 9, 1, k, k).code(), StatusCode::kUnavailable);
  EXPECT_EQ(m->view(1, 0, 0).n_tokens(), 9) << "still readable while it is written out";
  m->check_invariants();
  gate->open();
  EXPECT_TRUE(fut.get().is_ok());
  EXPECT_EQ(m->state(1), SeqState::kSwappedOut);
  m->check_invariants();
}

TEST(KvSwap, SwapInWaitsForMemory) {
  auto c = small_config(KvFormat::kF16, 4);
  const int64_t block = block_layout(KvFormat::kF16, 4, 8).bytes();
  c.budget_bytes = 12 * block;
  c.prefix_cache = false;
  auto m = make_manager(c);
  ASSERT_TRUE(m->add_tier(make_host_tier()).is_ok());
  fill(*m, 1, 8, 7);  // 8 blocks
  ASSERT_TRUE(m->swap_out(1, "host").get().is_ok());
  fill(*m, 2, 8, 8);  // takes the room
  SwapInResult r = m->swap_in(1).get();
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfMemory);
  EXPECT_FALSE(r.recompute_required);
  EXPECT_EQ(m->state(1), SeqState::kSwappedOut);
  m->check_invariants();
  m->release(2);
  r = m->swap_in(1).get();
  EXPECT_TRUE(r.status.is_ok()) << r.status.to_string();
  m->check_invariants();
}

TEST(KvSwap, ReleaseDuringTransferDropsEverything) {
  auto m = make_manager(small_config(KvFormat::kF16, 4));
  auto tier = std::make_unique<GatedTier>();
  GatedTier* gate = tier.get();
  ASSERT_TRUE(m->add_tier(std::move(tier)).is_ok());
  fill(*m, 1, 9, 5);
  auto fut = m->swap_out(1, "gated");
  gate->wait_entered();
  m->release(1);
  gate->open();
  EXPECT_TRUE(fut.get().is_ok());
  m->wait_transfers();
  EXPECT_FALSE(m->contains(1));
  m->check_invariants();
  EXPECT_EQ(live_bytes(*m), 0);
  m->evict_prefix_cache(int64_t{1} << 40);  // drop the cached chains too: back to zero
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, 0);
  EXPECT_EQ(m->usage().tier_bytes.at("gated"), 0);
}

TEST(KvSwap, RedisRoundTripAndServerKilled) {
  Result<std::unique_ptr<RedisProcess>> server = RedisProcess::start();
  if (server.status().code() == StatusCode::kUnsupported)
    GTEST_SKIP() << "Redis tier untested: " << server.status().to_string();
  ASSERT_TRUE(server.is_ok()) << server.status().to_string();
  auto c = small_config(KvFormat::kInt4, 4);
  auto m = make_manager(c);
  RedisTierConfig rc;
  rc.port = (*server)->port();
  rc.chunk_bytes = 1000;  // several chunks per value
  rc.timeout_s = 2.0;
  auto tier = make_redis_tier(rc);
  ASSERT_TRUE(tier.is_ok()) << tier.status().to_string();
  ASSERT_TRUE(m->add_tier(std::move(tier).value()).is_ok());
  fill(*m, 1, 13, 9);
  fill(*m, 2, 7, 10);
  const auto before = all_bytes(*m, 1);
  ASSERT_TRUE(m->swap_out(1, "redis").get().is_ok());
  SwapInResult r = m->swap_in(1).get();
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(all_bytes(*m, 1), before);
  m->check_invariants();
  // Swap out again, then the server dies: the copy is lost -> recompute, nothing leaked.
  ASSERT_TRUE(m->swap_out(1, "redis").get().is_ok());
  auto out2 = m->swap_out(2, "redis");  // may race with the kill: either outcome is clean
  (*server)->kill();
  Status st2 = out2.get();
  r = m->swap_in(1).get();
  EXPECT_FALSE(r.status.is_ok());
  EXPECT_TRUE(r.recompute_required) << r.status.to_string();
  EXPECT_EQ(m->seq_length(1), 0);
  if (st2.is_ok()) {
    EXPECT_TRUE(m->swap_in(2).get().recompute_required);
  } else {
    EXPECT_EQ(st2.code(), StatusCode::kUnavailable) << st2.to_string();
    EXPECT_EQ(m->state(2), SeqState::kResident);
  }
  // A swap-out to the dead server fails cleanly and keeps the sequence.
  fill(*m, 3, 5, 11);
  Status st3 = m->swap_out(3, "redis").get();
  EXPECT_EQ(st3.code(), StatusCode::kUnavailable) << st3.to_string();
  EXPECT_EQ(m->state(3), SeqState::kResident);
  m->check_invariants();
  m->release(1);
  m->release(2);
  m->release(3);
  m->evict_prefix_cache(int64_t{1} << 40);
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, 0) << "accounting back to its baseline";
}

TEST(KvSnapshot, SaveRestoreAndRefuseOtherModel) {
  auto c = small_config(KvFormat::kInt4, 4);
  auto m = make_manager(c);
  fill(*m, 1, 14, 12);
  const auto before = all_bytes(*m, 1);
  const std::string path = (test::temp_dir("snap") / "s.lkkv").string();
  ASSERT_TRUE(m->save_snapshot(1, path).is_ok());
  // Another process (another manager) restores it.
  auto m2 = make_manager(c);
  Status st = m2->load_snapshot(path, 5);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  m2->check_invariants();
  EXPECT_EQ(all_bytes(*m2, 5), before);
  EXPECT_EQ(m2->seq_length(5), 14);
  EXPECT_EQ(m2->tokens(5), m->tokens(1));
  // A different model: refused with both digests named.
  auto other = c;
  other.model_digest = "another-model";
  auto m3 = make_manager(other);
  st = m3->load_snapshot(path, 1);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("test-model"), std::string::npos) << st.to_string();
  EXPECT_NE(st.message().find("another-model"), std::string::npos);
  EXPECT_FALSE(m3->contains(1));
  // Same model, other storage format: refused too.
  auto fmt8 = c;
  fmt8.format = KvFormat::kInt8;
  auto m4 = make_manager(fmt8);
  EXPECT_EQ(m4->load_snapshot(path, 1).code(), StatusCode::kInvalidArgument);
  m4->check_invariants();
}

TEST(KvSnapshot, TruncatedOrCorruptedFilesAreRejected) {
  auto c = small_config(KvFormat::kF16, 4);
  auto m = make_manager(c);
  fill(*m, 1, 10, 13);
  const auto dir = test::temp_dir("snapbad");
  const std::string path = (dir / "s.lkkv").string();
  ASSERT_TRUE(m->save_snapshot(1, path).is_ok());
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto m2 = make_manager(c);
  auto write = [&](const std::vector<char>& b) {
    std::ofstream out(dir / "bad.lkkv", std::ios::binary | std::ios::trunc);
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
  };
  for (size_t cut : {size_t{0}, size_t{10}, size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    write(std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
    Status st = m2->load_snapshot((dir / "bad.lkkv").string(), 1);
    EXPECT_EQ(st.code(), StatusCode::kCorrupt) << "cut at " << cut << ": " << st.to_string();
    m2->check_invariants();
  }
  for (size_t at : {size_t{20}, size_t{80}, bytes.size() / 2, bytes.size() - 3}) {
    auto b = bytes;
    b[at] ^= 0x04;
    write(b);
    Status st = m2->load_snapshot((dir / "bad.lkkv").string(), 1);
    EXPECT_EQ(st.code(), StatusCode::kCorrupt) << "flip at " << at << ": " << st.to_string();
    m2->check_invariants();
  }
  EXPECT_EQ(m2->load_snapshot((dir / "missing.lkkv").string(), 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(m2->usage().used_bytes, 0);
  EXPECT_FALSE(m2->contains(1));
}

TEST(KvPrefix, EvictedChainsSpillToTierAndAreFoundThere) {
  ManualClock clock;
  auto c = small_config(KvFormat::kInt8, 4);
  c.clock = &clock;
  const int64_t block = block_layout(KvFormat::kInt8, 4, 8).bytes();
  c.budget_bytes = 4 * 4 * block;  // 4 blocks per head
  auto m = make_manager(c);
  ASSERT_TRUE(m->add_tier(make_host_tier()).is_ok());
  ASSERT_TRUE(m->set_prefix_spill_tier("host").is_ok());
  std::mt19937 rng(15);
  std::vector<int32_t> toks = {5, 6, 7, 8, 9, 10, 11, 12};
  auto k = random_kv(8, c, rng), v = random_kv(8, c, rng);
  ASSERT_TRUE(m->append_tokens(2, toks).is_ok());
  ASSERT_TRUE(append_all_layers(*m, 2, 0, 8, k, v).is_ok());
  const auto before = all_bytes(*m, 2);
  m->release(2);
  EXPECT_EQ(m->prefix_entries(), 2);
  clock.advance(1);
  // Another conversation (no token ids: nothing to register) needs the whole pool: the
  // cached chain goes to the host tier instead of being dropped.
  auto k3 = random_kv(16, c, rng);
  ASSERT_TRUE(append_all_layers(*m, 3, 0, 16, k3, k3).is_ok());
  m->check_invariants();
  EXPECT_GT(m->usage().tier_bytes.at("host"), 0);
  EXPECT_EQ(m->match_prefix(toks, 100), 8) << "the spilled chain is still findable";
  m->release(3);
  auto got = m->adopt_prefix(4, toks, 100);
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(*got, 8);
  EXPECT_EQ(all_bytes(*m, 4), before) << "KV read back from the host tier is exact";
  m->check_invariants();
  EXPECT_EQ(m->usage().tier_bytes.at("host"), 0);
}

// Swap-in re-shares: a swapped-out sequence's registered full blocks stay on device as prefix
// cache, and swap_in (and load_snapshot) takes those blocks instead of copying duplicates.
class SwapReshare : public ::testing::TestWithParam<KvFormat> {};

TEST_P(SwapReshare, SwapInSharesIndexedPrefixBlocks) {
  auto c = small_config(GetParam(), 4);
  auto m = make_manager(c);
  ASSERT_TRUE(m->add_tier(make_host_tier()).is_ok());
  std::mt19937 rng(21);
  const int n = 18;  // 4 full blocks (registered) + 2 tokens
  auto k = random_kv(n, c, rng), v = random_kv(n, c, rng);
  std::vector<int32_t> toks(n);
  for (int i = 0; i < n; ++i) toks[i] = 100 + i;
  ASSERT_TRUE(m->append_tokens(1, toks).is_ok());
  ASSERT_TRUE(append_all_layers(*m, 1, 0, n, k, v).is_ok());
  EXPECT_EQ(m->prefix_entries(), 4);
  const auto before = all_bytes(*m, 1);
  const int64_t blocks_before = m->usage().blocks_in_use;
  const void* first_k = m->view(1, 1, 1).runs[0].k;

  ASSERT_TRUE(m->swap_out(1, "host").get().is_ok());
  const int heads = c.n_layers * c.n_kv_heads;
  EXPECT_EQ(m->usage().blocks_in_use, 4 * heads) << "the index keeps the full blocks";
  SwapInResult in = m->swap_in(1).get();
  ASSERT_TRUE(in.status.is_ok()) << in.status.to_string();
  EXPECT_EQ(m->usage().blocks_in_use, blocks_before) << "shared again, not duplicated";
  EXPECT_EQ(m->view(1, 1, 1).runs[0].k, first_k) << "the very same block";
  EXPECT_EQ(all_bytes(*m, 1), before);
  m->check_invariants();

  // Without the index's copies (evicted while swapped out) everything is copied back.
  ASSERT_TRUE(m->swap_out(1, "host").get().is_ok());
  EXPECT_GT(m->evict_prefix_cache(int64_t{1} << 40), 0);
  EXPECT_EQ(m->usage().blocks_in_use, 0);
  in = m->swap_in(1).get();
  ASSERT_TRUE(in.status.is_ok());
  EXPECT_EQ(m->usage().blocks_in_use, blocks_before);
  EXPECT_EQ(all_bytes(*m, 1), before);
  EXPECT_EQ(m->prefix_entries(), 4) << "registered again on swap-in";
  m->check_invariants();

  // A snapshot restored as another sequence shares the same prefix blocks too.
  const auto dir = test::temp_dir("reshare");
  ASSERT_TRUE(m->save_snapshot(1, (dir / "s.lkkv").string()).is_ok());
  ASSERT_TRUE(m->load_snapshot((dir / "s.lkkv").string(), 2).is_ok());
  const int64_t tail_blocks = blocks_before - 4 * heads;
  EXPECT_EQ(m->usage().blocks_in_use, blocks_before + tail_blocks);
  EXPECT_EQ(all_bytes(*m, 2), before);
  m->check_invariants();
  m->release(1);
  m->release(2);
  m->check_invariants();
}

INSTANTIATE_TEST_SUITE_P(Formats, SwapReshare,
                         ::testing::Values(KvFormat::kF16, KvFormat::kInt8, KvFormat::kInt4),
                         [](const auto& info) { return std::string(kv_format_name(info.param)); });

}  // namespace
}  // namespace lk

namespace lk {
namespace {

TEST(KvSwapDisk, DamagedOrMissingFilesMeanRecompute) {
  auto c = test::small_config(KvFormat::kInt4, 4);
  c.prefix_cache = false;
  auto m = test::make_manager(c);
  const auto dir = test::temp_dir("diskfault");
  add_disk_tier(*m, dir.string());
  fill(*m, 1, 13, 21);
  fill(*m, 2, 9, 22);
  ASSERT_TRUE(m->swap_out(1, "disk").get().is_ok());
  ASSERT_TRUE(m->swap_out(2, "disk").get().is_ok());
  EXPECT_EQ(m->usage().used_bytes, 0);
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 2u) << "one file per swapped sequence, no temp files left";
  std::sort(files.begin(), files.end());
  // seq 1's file damaged on disk (one byte in the block data), seq 2's deleted.
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-20, std::ios::end);
    f.put('\x5a');
  }
  std::filesystem::remove(files[1]);
  for (SeqId id : {1, 2}) {
    SwapInResult r = m->swap_in(id).get();
    EXPECT_TRUE(r.recompute_required) << r.status.to_string();
    EXPECT_TRUE(r.status.code() == StatusCode::kCorrupt || r.status.code() == StatusCode::kNotFound)
        << r.status.to_string();
    EXPECT_EQ(m->seq_length(id), 0);
    EXPECT_FALSE(m->tokens(id).empty());
    m->check_invariants();
  }
  EXPECT_EQ(m->usage().used_bytes, 0) << "accounting back to baseline";
}

TEST(KvSwapDisk, LargeValuesAreMappedAndStillVerified) {
  // Values of 1 MiB and more are read by mapping the file: the bytes are the same, a held
  // value survives the file's removal, and damage is still caught by the block checksums.
  const auto dir = test::temp_dir("diskmap");
  auto disk = make_disk_tier(dir.string(), 0, false);
  ASSERT_TRUE(disk.is_ok());
  {
    KvTier& t = **disk;
    BytesPtr v = Bytes::make(size_t{3} << 20);
    for (size_t i = 0; i < v->size; ++i) v->data[i] = static_cast<uint8_t>(i * 7 + (i >> 9));
    ASSERT_TRUE(t.put("big", v).is_ok());
    Result<BytesPtr> got = t.get("big");
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    ASSERT_EQ((*got)->size, v->size);
    ASSERT_TRUE(t.remove("big").is_ok());
    EXPECT_EQ(std::memcmp((*got)->data.get(), v->data.get(), v->size), 0);
    EXPECT_EQ(t.get("big").status().code(), StatusCode::kNotFound);
  }
  auto c = test::small_config(KvFormat::kF32, 16, 32 << 20);
  c.head_dim = 64;
  c.prefix_cache = false;
  auto m = test::make_manager(c);
  ASSERT_TRUE(m->add_tier(std::move(disk).value()).is_ok());
  fill(*m, 1, 700, 31);  // 2 layers x 2 heads x 44 blocks x 8 KiB: 1.4 MB serialized
  const auto before = all_bytes(*m, 1);
  ASSERT_TRUE(m->swap_out(1, "disk").get().is_ok());
  ASSERT_GE(m->usage().tier_bytes.at("disk"), int64_t{1} << 20);
  SwapInResult r = m->swap_in(1).get();
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(all_bytes(*m, 1), before);
  m->check_invariants();
  ASSERT_TRUE(m->swap_out(1, "disk").get().is_ok());
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(files[0]) / 2));
    f.put('\x5a');
  }
  r = m->swap_in(1).get();
  EXPECT_EQ(r.status.code(), StatusCode::kCorrupt) << r.status.to_string();
  EXPECT_TRUE(r.recompute_required);
  EXPECT_EQ(m->seq_length(1), 0);
  m->check_invariants();
  m->release(1);
  EXPECT_EQ(m->usage().used_bytes, 0) << "accounting back to baseline";
}

// The disk tier writes the body in batches, each checksummed just before it is written, and
// the header (with the checksums) last: the file must hold exactly the bytes of the one-buffer
// serializer (a snapshot of the same sequence), over several batches, with explicit
// positions (an evicted token) and with quantization parameters.
TEST(KvSwapDisk, BatchedWriteMatchesSnapshotBytes) {
  struct Case {
    KvFormat format;
    int tokens;
  };
  for (const Case& k : {Case{KvFormat::kF32, 1500}, Case{KvFormat::kInt8, 700}}) {
    SCOPED_TRACE(kv_format_name(k.format));
    auto c = test::small_config(k.format, 16, 64 << 20);
    c.head_dim = 64;
    c.prefix_cache = false;
    auto m = test::make_manager(c);
    const auto dir = test::temp_dir("diskbatch");
    add_disk_tier(*m, dir.string());
    fill(*m, 1, k.tokens, 41);
    const auto before = all_bytes(*m, 1);
    const auto snap = test::temp_dir("diskbatch-snap") / "seq.kv";
    ASSERT_TRUE(m->save_snapshot(1, snap.string()).is_ok());
    ASSERT_TRUE(m->swap_out(1, "disk").get().is_ok());
    std::vector<std::filesystem::path> files;
    for (auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u) << "no temp file left behind";
    auto slurp = [](const std::filesystem::path& p) {
      std::ifstream f(p, std::ios::binary);
      return std::vector<char>(std::istreambuf_iterator<char>(f), {});
    };
    const std::vector<char> got = slurp(files[0]), want = slurp(snap);
    if (k.format == KvFormat::kF32) {
      ASSERT_GT(want.size(), size_t{2} << 20) << "several 2 MiB batches";
    }
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "disk image differs from the snapshot bytes";
    SwapInResult r = m->swap_in(1).get();
    ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
    EXPECT_EQ(all_bytes(*m, 1), before);
    m->check_invariants();
  }
}

TEST(KvSwapDisk, FullDiskTierKeepsSequence) {
  auto c = test::small_config(KvFormat::kF16, 4);
  auto m = test::make_manager(c);
  add_disk_tier(*m, test::temp_dir("diskfull").string(), /*capacity_bytes=*/512);
  fill(*m, 1, 13, 23);
  const auto before = all_bytes(*m, 1);
  Status st = m->swap_out(1, "disk").get();
  EXPECT_EQ(st.code(), StatusCode::kOutOfMemory) << st.to_string();
  EXPECT_NE(st.message().find("full"), std::string::npos);
  EXPECT_EQ(m->state(1), SeqState::kResident);
  EXPECT_EQ(all_bytes(*m, 1), before);
  m->check_invariants();
}

TEST(KvBudget, ExhaustedMidBatchStoresWholeLayersOnly) {
  // An engine that appends a batch without planning: the third sequence does not fit. The
  // first two are stored, the third stores nothing, and releasing returns to the baseline.
  auto c = test::small_config(KvFormat::kF16, 4);
  c.prefix_cache = false;
  c.budget_bytes = 10 * block_layout(KvFormat::kF16, 4, 8).bytes();
  auto m = test::make_manager(c);
  std::mt19937 rng(3);
  auto k = test::random_kv(4, c, rng);
  std::vector<int32_t> pos = {0, 1, 2, 3};
  ASSERT_TRUE(m->append(1, 0, pos, k.data(), k.data()).is_ok());
  ASSERT_TRUE(m->append(1, 1, pos, k.data(), k.data()).is_ok());
  ASSERT_TRUE(m->append(2, 0, pos, k.data(), k.data()).is_ok());
  ASSERT_TRUE(m->append(2, 1, pos, k.data(), k.data()).is_ok());
  ASSERT_TRUE(m->append(3, 0, pos, k.data(), k.data()).is_ok());
  Status st = m->append(3, 1, pos, k.data(), k.data());  // needs 2 blocks, 0 left
  EXPECT_EQ(st.code(), StatusCode::kOutOfMemory);
  EXPECT_NE(st.message().find("seq 3 layer 1"), std::string::npos) << st.to_string();
  m->check_invariants();
  EXPECT_EQ(m->head_tokens(3, 1, 0), 0);
  EXPECT_EQ(m->head_tokens(3, 1, 1), 0);
  EXPECT_EQ(m->head_tokens(3, 0, 0), 4);
  for (SeqId id : {1, 2, 3}) m->release(id);
  m->check_invariants();
  EXPECT_EQ(m->usage().used_bytes, 0);
}

}  // namespace
}  // namespace lk
