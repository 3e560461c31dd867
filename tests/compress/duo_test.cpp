// DuoAttention: head maps round-trip, the top share of heads by score stays full, streaming
// heads keep exactly sinks + window through the driver (memory freed in the paged cache), and
// bad specs / maps are clear errors.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "compress/driver.h"
#include "compress/duo.h"
#include "test_util.h"

namespace lk::compress {
namespace {

constexpr int kLayers = 2, kKv = 2, kD = 8, kHeads = 4;

HeadMap sample_map() {
  HeadMap m;
  m.model = "t";
  m.criterion = "test";
  m.n_layers = kLayers;
  m.n_kv_heads = kKv;
  m.scores = {0.9, 0.1, 0.2, 0.5};  // layer 0: h0 retrieval; layer 1: h1 next
  return m;
}

TEST(Duo, HeadMapRoundTripAndSelection) {
  const auto dir = test::temp_dir("duo_map");
  const std::string path = (dir / "m.json").string();
  ASSERT_TRUE(head_map_write(sample_map(), path).is_ok());
  auto m = head_map_read(path);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->scores, sample_map().scores);
  EXPECT_EQ(duo_retrieval_heads(*m, 0.5), (std::vector<bool>{true, false, false, true}));
  EXPECT_EQ(duo_retrieval_heads(*m, 0.25), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(duo_retrieval_heads(*m, 0.0), (std::vector<bool>(4, false)));
  EXPECT_EQ(duo_retrieval_heads(*m, 1.0), (std::vector<bool>(4, true)));
  EXPECT_EQ(head_map_default_path(dir.string()), (dir / "longkv_heads.json").string());
  EXPECT_EQ(head_map_default_path("/x/m.gguf"), "/x/m.gguf.heads.json");
  std::ofstream(dir / "bad.json")
      << R"({"format":"longkv-head-map-v1","n_layers":2,"n_kv_heads":2,"scores":[[1,2]]})";
  auto bad = head_map_read((dir / "bad.json").string());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("scores must be 2 rows"), std::string::npos);
}

TEST(Duo, StreamingEvictionsKeepSinksAndWindow) {
  std::vector<int32_t> held(20);
  for (int i = 0; i < 20; ++i) held[i] = i;
  EXPECT_EQ(duo_streaming_evictions(held, 20, 2, 5),
            (std::vector<int32_t>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  EXPECT_TRUE(duo_streaming_evictions(held, 20, 4, 64).empty());
}

TEST(Duo, SpecParsing) {
  auto s = parse_compression_spec("snapkv:0.25+duo:0.3:sinks=2:window=8:map=/a/b.json");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_TRUE(s->duo);
  EXPECT_DOUBLE_EQ(s->duo_ratio, 0.3);
  EXPECT_EQ(s->duo_sinks, 2);
  EXPECT_EQ(s->duo_window, 8);
  EXPECT_EQ(s->duo_map, "/a/b.json");
  EXPECT_EQ(s->token_method, "snapkv");
  auto d = parse_compression_spec("duo");
  ASSERT_TRUE(d.is_ok());
  EXPECT_DOUBLE_EQ(d->duo_ratio, 0.5);
  EXPECT_FALSE(d->is_full());
  for (const char* bad : {"duo:1.5", "duo:0.5:win=3", "duo:0.5:window=-1", "duo+duo"}) {
    auto b = parse_compression_spec(bad);
    EXPECT_FALSE(b.is_ok()) << bad;
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(parse_compression_spec("duo:0.5:win=3").status().message().find("valid: sinks=N"),
            std::string::npos);
}

std::unique_ptr<KvManager> manager() {
  KvManagerConfig c;
  c.n_layers = kLayers;
  c.n_kv_heads = kKv;
  c.head_dim = kD;
  c.block_tokens = 4;
  c.format = KvFormat::kF32;
  c.budget_bytes = 8 << 20;
  c.model_digest = "t";
  c.prefix_cache = false;
  return std::move(KvManager::create(c)).value();
}

std::vector<int32_t> held(const KvManager& kv, int l, int h) {
  std::vector<int32_t> out;
  for (const KvRun& r : kv.view(1, l, h).runs)
    out.insert(out.end(), r.positions, r.positions + r.n_tokens);
  return out;
}

TEST(Duo, DriverKeepsRetrievalHeadsFullAndStreamingHeadsBounded) {
  const auto dir = test::temp_dir("duo_driver");
  const std::string path = (dir / "m.json").string();
  ASSERT_TRUE(head_map_write(sample_map(), path).is_ok());
  auto kv = manager();
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  auto append = [&](int first, int n) {
    std::vector<float> k(static_cast<size_t>(n) * kKv * kD), v(k.size());
    for (auto& x : k) x = nd(rng);
    for (auto& x : v) x = nd(rng);
    std::vector<int32_t> pos(n);
    for (int i = 0; i < n; ++i) pos[i] = first + i;
    for (int l = 0; l < kLayers; ++l)
      ASSERT_TRUE(kv->append(1, l, pos, k.data(), v.data()).is_ok());
  };
  append(0, 32);
  const int64_t before = kv->usage().used_bytes;
  auto spec = parse_compression_spec("duo:0.5:sinks=4:window=4:map=" + path);
  ASSERT_TRUE(spec.is_ok());
  auto d = CompressionDriver::create(*spec, kv.get(), kHeads);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  (*d)->begin(1);
  ASSERT_TRUE((*d)->end_prefill(1).is_ok());
  kv->check_invariants();
  std::vector<int32_t> all(32), stream = {0, 1, 2, 3, 28, 29, 30, 31};
  for (int i = 0; i < 32; ++i) all[i] = i;
  EXPECT_EQ(held(*kv, 0, 0), all);
  EXPECT_EQ(held(*kv, 0, 1), stream);
  EXPECT_EQ(held(*kv, 1, 0), stream);
  EXPECT_EQ(held(*kv, 1, 1), all);
  EXPECT_LT(kv->usage().used_bytes, before * 5 / 8 + 1);  // two of four heads at 8/32 tokens
  // Decode: the streaming window slides, retrieval heads grow.
  (*d)->set_phase(Phase::kDecode);
  for (int t = 32; t < 36; ++t) {
    append(t, 1);
    std::vector<float> q(kHeads * kD, 0.1f);
    const int32_t p = t;
    for (int l = 0; l < kLayers; ++l)
      ASSERT_TRUE((*d)->after_attention(1, l, q.data(), kHeads * kD, {&p, 1}).is_ok());
  }
  EXPECT_EQ(held(*kv, 0, 1), (std::vector<int32_t>{0, 1, 2, 3, 32, 33, 34, 35}));
  EXPECT_EQ(held(*kv, 1, 1).size(), 36u);
  const auto rep = (*d)->report();
  EXPECT_EQ(rep["duo"]["retrieval_heads"].get<int>(), 2);
  EXPECT_EQ(rep["head_method"].get<std::string>(), "duo");
  // Missing map: the message says how to make one; wrong shape is refused.
  auto missing = parse_compression_spec("duo:0.5:map=" + (dir / "none.json").string());
  auto e = CompressionDriver::create(*missing, kv.get(), kHeads);
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("longkv profile-heads"), std::string::npos);
  HeadMap wrong = sample_map();
  wrong.n_layers = 1;
  wrong.scores.resize(2);
  ASSERT_TRUE(head_map_write(wrong, path).is_ok());
  auto w = CompressionDriver::create(*spec, kv.get(), kHeads);
  ASSERT_FALSE(w.is_ok());
  EXPECT_NE(w.status().message().find("1 layers x 2 kv heads"), std::string::npos);
}

}  // namespace
}  // namespace lk::compress
