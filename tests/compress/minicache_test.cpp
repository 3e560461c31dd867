// MiniCache: SLERP merge math, splicing merged tokens into a view in position order, and the
// driver merging a layer pair in the paged cache: merged tokens leave both layers' blocks, the
// outliers (largest angular distance) stay, and attention reads a reconstruction that equals
// the original K/V exactly when the two layers agree in direction.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/driver.h"
#include "compress/minicache.h"

namespace lk::compress {
namespace {

TEST(MiniCache, SlerpMidpointAndMagnitudes) {
  const float a[2] = {3, 0}, b[2] = {0, 2};
  float dir[2], ma, mb;
  minicache_merge(a, b, 2, dir, &ma, &mb);
  EXPECT_FLOAT_EQ(ma, 3);
  EXPECT_FLOAT_EQ(mb, 2);
  EXPECT_NEAR(dir[0], std::sqrt(0.5f), 1e-6);
  EXPECT_NEAR(dir[1], std::sqrt(0.5f), 1e-6);
  EXPECT_NEAR(minicache_angle(a, b, 2), M_PI / 2, 1e-6);
  const float c[2] = {1, 1}, d[2] = {2, 2};
  minicache_merge(c, d, 2, dir, &ma, &mb);
  EXPECT_NEAR(dir[0], std::sqrt(0.5f), 1e-6);
  EXPECT_NEAR(minicache_angle(c, d, 2), 0, 1e-3);
}

TEST(MiniCache, SpliceKeepsPositionOrder) {
  const int D = 1;
  std::vector<float> k1 = {0, 1, 2}, k2 = {5, 7}, ke = {3, 4, 6, 8};
  std::vector<int32_t> p1 = {0, 3, 4}, p2 = {7, 9}, pe = {1, 2, 8, 10};
  KvHeadView v;
  v.runs.push_back(
      {KvFormat::kF32, 3, k1.data(), k1.data(), nullptr, nullptr, nullptr, nullptr, p1.data()});
  v.runs.push_back(
      {KvFormat::kF32, 2, k2.data(), k2.data(), nullptr, nullptr, nullptr, nullptr, p2.data()});
  KvRun e{KvFormat::kF32, 4, ke.data(), ke.data(), nullptr, nullptr, nullptr, nullptr, pe.data()};
  const KvHeadView out = splice_run(v, e, D);
  std::vector<int32_t> pos;
  std::vector<float> val;
  for (const KvRun& r : out.runs)
    for (int t = 0; t < r.n_tokens; ++t) {
      pos.push_back(r.positions[t]);
      val.push_back(static_cast<const float*>(r.k)[t]);
    }
  EXPECT_EQ(pos, (std::vector<int32_t>{0, 1, 2, 3, 4, 7, 8, 9, 10}));
  EXPECT_EQ(val, (std::vector<float>{0, 3, 4, 1, 2, 5, 6, 7, 8}));
}

TEST(MiniCache, ViewWithoutSlicesRuns) {
  std::vector<float> k = {0, 1, 2, 3, 4};
  std::vector<int32_t> p = {0, 1, 2, 3, 4};
  KvHeadView v;
  v.runs.push_back({KvFormat::kF32, 5, k.data(), k.data(), nullptr, nullptr, nullptr, nullptr,
                    p.data()});
  const KvHeadView out = view_without(v, [](int32_t x) { return x == 1 || x == 4; }, 1);
  std::vector<float> got;
  for (const KvRun& r : out.runs)
    for (int t = 0; t < r.n_tokens; ++t) got.push_back(static_cast<const float*>(r.k)[t]);
  EXPECT_EQ(got, (std::vector<float>{0, 2, 3}));
  EXPECT_EQ(view_without(v, [](int32_t) { return false; }, 1).runs.size(), 1u);
  EXPECT_EQ(view_without(v, [](int32_t) { return true; }, 1).n_tokens(), 0);
}

constexpr int kLayers = 4, kKv = 1, kD = 4, kHeads = 2;

TEST(MiniCache, DriverMergesTheDeepPairAndKeepsOutliers) {
  KvManagerConfig c;
  c.n_layers = kLayers;
  c.n_kv_heads = kKv;
  c.head_dim = kD;
  c.block_tokens = 4;
  c.format = KvFormat::kF32;
  c.budget_bytes = 8 << 20;
  c.model_digest = "t";
  c.prefix_cache = false;
  auto kv = std::move(KvManager::create(c)).value();
  // 16 tokens; layer 3's K/V = 2 x layer 2's (same direction), except tokens 5 and 11 where
  // layer 3 points elsewhere (the outliers retain=0.125 keeps: 2 of 16).
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  const int n = 16;
  std::vector<int32_t> pos(n);
  for (int i = 0; i < n; ++i) pos[i] = i;
  std::vector<float> k2(n * kD), v2(n * kD);
  for (auto& x : k2) x = nd(rng);
  for (auto& x : v2) x = nd(rng);
  std::vector<float> k3 = k2, v3 = v2;
  for (auto& x : k3) x *= 2;
  for (auto& x : v3) x *= 3;
  for (int t : {5, 11})
    for (int d = 0; d < kD; ++d) k3[t * kD + d] = -k3[t * kD + d], v3[t * kD + d] = -v3[t * kD + d];
  for (int l = 0; l < 2; ++l) ASSERT_TRUE(kv->append(1, l, pos, k2.data(), v2.data()).is_ok());
  ASSERT_TRUE(kv->append(1, 2, pos, k2.data(), v2.data()).is_ok());
  ASSERT_TRUE(kv->append(1, 3, pos, k3.data(), v3.data()).is_ok());
  const int64_t before = kv->usage().used_bytes;
  auto spec = parse_compression_spec("minicache:retain=0.125");
  ASSERT_TRUE(spec.is_ok()) << spec.status().to_string();
  auto d = CompressionDriver::create(*spec, kv.get(), kHeads);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  (*d)->begin(1);
  ASSERT_TRUE((*d)->end_prefill(1).is_ok());
  kv->check_invariants();
  for (int l : {2, 3}) {
    std::vector<int32_t> held;
    for (const KvRun& r : kv->view(1, l, 0).runs)
      held.insert(held.end(), r.positions, r.positions + r.n_tokens);
    EXPECT_EQ(held, (std::vector<int32_t>{5, 11})) << l;
  }
  EXPECT_EQ(kv->view(1, 1, 0).n_tokens(), 16);  // shallow layers untouched
  EXPECT_LT(kv->usage().used_bytes, before * 3 / 4);
  EXPECT_EQ((*d)->side_bytes(), 14 * (2 * kD * 4 + 20));
  EXPECT_EQ((*d)->report()["minicache"]["merged_tokens"].get<int>(), 14);
  // Attention's view of layer 3: every position, reconstructed exactly (same direction).
  for (int l : {2, 3}) {
    const KvHeadView v = (*d)->filter_view(1, l, 0, kv->view(1, l, 0), nullptr, 0, 1);
    ASSERT_EQ(v.n_tokens(), 16);
    int i = 0;
    for (const KvRun& r : v.runs)
      for (int t = 0; t < r.n_tokens; ++t, ++i) {
        ASSERT_EQ(r.positions[t], i);
        const float* k = static_cast<const float*>(r.k) + t * kD;
        const float* want = (l == 2 ? k2.data() : k3.data()) + i * kD;
        for (int dd = 0; dd < kD; ++dd) EXPECT_NEAR(k[dd], want[dd], 1e-5) << l << " " << i;
      }
  }
  // Refusals: composition and layer range.
  EXPECT_FALSE(parse_compression_spec("minicache+snapkv:0.5").is_ok());
  EXPECT_FALSE(parse_compression_spec("minicache:retain=2").is_ok());
  auto far = parse_compression_spec("minicache:start=4");
  auto e = CompressionDriver::create(*far, kv.get(), kHeads);
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("no pair of layers"), std::string::npos);
}

}  // namespace
}  // namespace lk::compress
