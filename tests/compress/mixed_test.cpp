// Mixed precision by age through the compression driver: after each layer's attention the
// blocks that left the recent window are re-encoded; recent tokens stay bit-exact (equal to an
// uncompressed cache fed the same K/V), old tokens are within the old format's quantization
// step, and the bytes held equal the block arithmetic (mixed_head_bytes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "compress/driver.h"
#include "compress/mixed.h"
#include "compress/observe.h"
#include "driver_test_util.h"
#include "kv/kv_codec.h"

namespace lk::compress {
namespace {

constexpr int kLayers = 2, kKv = 2, kD = 8, kHeads = 4, kB = 4;

std::unique_ptr<KvManager> manager(std::optional<KvFormat> old) {
  KvManagerConfig c;
  c.n_layers = kLayers;
  c.n_kv_heads = kKv;
  c.head_dim = kD;
  c.block_tokens = kB;
  c.format = KvFormat::kF16;
  c.budget_bytes = 8 << 20;
  c.model_digest = "test";
  c.prefix_cache = false;
  c.old_format = old;
  auto m = KvManager::create(c);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return std::move(m).value();
}

std::unique_ptr<CompressionDriver> driver(const std::string& spec, KvManager* kv) {
  return make_test_driver(spec, kv, kHeads);
}

// Decoded K and V of every held token of (seq, layer, head) by position: [D] each.
std::map<int32_t, std::pair<std::vector<float>, std::vector<float>>> decoded(const KvManager& kv,
                                                                             SeqId seq, int l,
                                                                             int h) {
  std::map<int32_t, std::pair<std::vector<float>, std::vector<float>>> out;
  for (const KvRun& r : kv.view(seq, l, h).runs)
    for (int t = 0; t < r.n_tokens; ++t) {
      auto& e = out[r.positions[t]];
      e.first.resize(kD);
      e.second.resize(kD);
      run_key(r, t, kD, e.first.data());
      run_value(r, t, kD, e.second.data());
    }
  return out;
}

TEST(Mixed, OldBlockArithmetic) {
  EXPECT_EQ(mixed_old_blocks(22, 9, 4), 3);  // positions < 13: blocks 0..2
  EXPECT_EQ(mixed_old_blocks(22, 0, 4), 5);  // all but the last block
  EXPECT_EQ(mixed_old_blocks(16, 0, 4), 3);
  EXPECT_EQ(mixed_old_blocks(10, 10, 4), 0);
  EXPECT_EQ(mixed_old_blocks(0, 4, 4), 0);
  EXPECT_EQ(mixed_old_blocks(1000, 256, 16), 46);  // 744 / 16
  EXPECT_EQ(mixed_head_bytes(22, 9, 4, 100, 30), 3 * 30 + 3 * 100);
}

class MixedDriver : public ::testing::TestWithParam<KvFormat> {};

TEST_P(MixedDriver, RecentExactOldWithinTheFormatStepBytesByArithmetic) {
  const KvFormat old = GetParam();
  const int window = 6;
  auto kv = manager(old);
  auto ref = manager(std::nullopt);  // the uncompressed cache: same K/V, f16 throughout
  auto d = driver(fmt::format("mixed:window={}:old={}", window,
                              old == KvFormat::kInt8   ? "int8"
                              : old == KvFormat::kInt4 ? "kivi4"
                                                       : "kivi2"),
                  kv.get());
  d->begin(1);
  std::mt19937 rng(11);
  std::normal_distribution<float> nd;
  // Prefill of 13 tokens in chunks of 5, then 8 decode steps: 21 tokens.
  std::vector<int> pieces = {5, 5, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  int pos = 0;
  std::vector<float> q(static_cast<size_t>(5) * kHeads * kD, 0.1f);
  for (size_t p = 0; p < pieces.size(); ++p) {
    const int n = pieces[p];
    if (p == 3) {
      ASSERT_TRUE(d->end_prefill(1).is_ok());
    }
    std::vector<float> k(static_cast<size_t>(n) * kKv * kD), v(k.size());
    for (auto& x : k) x = 3.0f * nd(rng);
    for (auto& x : v) x = nd(rng);
    std::vector<int32_t> ps(n);
    for (int i = 0; i < n; ++i) ps[i] = pos + i;
    for (int l = 0; l < kLayers; ++l) {
      ASSERT_TRUE(kv->append(1, l, ps, k.data(), v.data()).is_ok());
      ASSERT_TRUE(ref->append(1, l, ps, k.data(), v.data()).is_ok());
      ASSERT_TRUE(d->after_attention(1, l, q.data(), kHeads * kD, ps).is_ok());
      kv->check_invariants();
    }
    pos += n;
  }
  const int n = pos;
  ASSERT_EQ(n, 21);
  const int64_t main_b = kv->block_bytes(KvFormat::kF16), old_b = kv->block_bytes(old);
  const int64_t per_head = mixed_head_bytes(n, window, kB, main_b, old_b);
  EXPECT_EQ(kv->seq_bytes(1), kLayers * kKv * per_head);
  EXPECT_LT(kv->seq_bytes(1), ref->seq_bytes(1));
  const nlohmann::json r = d->report();
  ASSERT_TRUE(r.contains("mixed")) << r.dump();
  EXPECT_EQ(r["mixed"]["reencoded_blocks"], kLayers * kKv * mixed_old_blocks(n, window, kB));
  EXPECT_EQ(r["mixed"]["old_format"], kv_format_name(old));
  EXPECT_EQ(r["bytes_saved"], kLayers * kKv * mixed_old_blocks(n, window, kB) * (main_b - old_b));

  double max_err = 0;
  const int qmax = old == KvFormat::kInt8 ? 127 : kivi_qmax(old);
  for (int l = 0; l < kLayers; ++l)
    for (int h = 0; h < kKv; ++h) {
      const auto got = decoded(*kv, 1, l, h), want = decoded(*ref, 1, l, h);
      ASSERT_EQ(got.size(), want.size());
      for (const auto& [p, kvw] : want) {
        const auto& kvg = got.at(p);
        if (p >= n - window) {  // the recent window: bit-exact
          EXPECT_EQ(kvg.first, kvw.first) << "recent key " << p;
          EXPECT_EQ(kvg.second, kvw.second) << "recent value " << p;
          continue;
        }
        // The quantization step bounding each element's error: int8 per token (max|x| / 127,
        // symmetric), KIVI K per channel over the block's tokens, V per token ((max - min) /
        // qmax); the error is at most half a step (+ f16 rounding of the parameters).
        const int b0 = p / kB * kB;
        for (int dd = 0; dd < kD; ++dd) {
          double ks = 0, vs = 0;
          if (old == KvFormat::kInt8) {
            for (int e = 0; e < kD; ++e) {
              ks = std::max(ks, std::fabs(double{kvw.first[e]}));
              vs = std::max(vs, std::fabs(double{kvw.second[e]}));
            }
            ks /= qmax, vs /= qmax;
          } else {
            double lo = 1e30, hi = -1e30;
            for (int t = b0; t < std::min(b0 + kB, n); ++t) {
              lo = std::min(lo, double{want.at(t).first[dd]});
              hi = std::max(hi, double{want.at(t).first[dd]});
            }
            ks = (hi - lo) / qmax;
            auto [vlo, vhi] = std::minmax_element(kvw.second.begin(), kvw.second.end());
            vs = (double{*vhi} - *vlo) / qmax;
          }
          const double ke = std::fabs(double{kvg.first[dd]} - kvw.first[dd]);
          const double ve = std::fabs(double{kvg.second[dd]} - kvw.second[dd]);
          EXPECT_LE(ke, 0.51 * ks + 1e-3) << "key " << p << " channel " << dd;
          EXPECT_LE(ve, 0.51 * vs + 1e-3) << "value " << p << " channel " << dd;
          max_err = std::max({max_err, ke, ve});
        }
      }
    }
  EXPECT_GT(max_err, 0.0) << "old tokens were not re-encoded";
}

INSTANTIATE_TEST_SUITE_P(Formats, MixedDriver,
                         ::testing::Values(KvFormat::kInt8, KvFormat::kInt4, KvFormat::kInt2),
                         [](const auto& i) { return std::string(kv_format_name(i.param)); });

TEST(Mixed, ComposesWithTokenEviction) {
  auto kv = manager(KvFormat::kInt8);
  auto d = driver("streaming:0.5+mixed:window=4:old=int8", kv.get());
  d->begin(1);
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> q(static_cast<size_t>(8) * kHeads * kD, 0.1f);
  for (int c = 0; c < 4; ++c) {  // 32 prompt tokens in chunks of 8, then 6 decode steps
    const int n = 8;
    std::vector<float> k(static_cast<size_t>(n) * kKv * kD);
    for (auto& x : k) x = nd(rng);
    std::vector<int32_t> ps(n);
    for (int i = 0; i < n; ++i) ps[i] = c * 8 + i;
    for (int l = 0; l < kLayers; ++l) {
      ASSERT_TRUE(kv->append(1, l, ps, k.data(), k.data()).is_ok());
      ASSERT_TRUE(d->after_attention(1, l, q.data(), kHeads * kD, ps).is_ok());
    }
  }
  ASSERT_TRUE(d->end_prefill(1).is_ok());
  kv->check_invariants();
  for (int s = 0; s < 6; ++s) {
    std::vector<float> k(kKv * kD);
    for (auto& x : k) x = nd(rng);
    const std::vector<int32_t> ps = {32 + s};
    for (int l = 0; l < kLayers; ++l) {
      ASSERT_TRUE(kv->append(1, l, ps, k.data(), k.data()).is_ok());
      ASSERT_TRUE(d->after_attention(1, l, q.data(), kHeads * kD, ps).is_ok());
      kv->check_invariants();
    }
  }
  // Streaming holds 16 tokens per head; the old ones are int8, the newest 4 in f16.
  for (int l = 0; l < kLayers; ++l)
    for (int h = 0; h < kKv; ++h) {
      EXPECT_EQ(kv->head_tokens(1, l, h), 16);
      const KvHeadView v = kv->view(1, l, h);
      EXPECT_EQ(v.runs.front().format, KvFormat::kInt8);
      EXPECT_EQ(v.runs.back().format, KvFormat::kF16);
      int recent = 0;
      for (const KvRun& r : v.runs)
        if (r.format == KvFormat::kF16)
          for (int t = 0; t < r.n_tokens; ++t) recent += r.positions[t] >= 38 - 4;
      EXPECT_EQ(recent, 4);
    }
}

TEST(Mixed, DriverRefusesAManagerWithoutTheOldFormat) {
  auto kv = manager(std::nullopt);
  auto s = parse_compression_spec("mixed:old=int8");
  ASSERT_TRUE(s.is_ok());
  auto d = CompressionDriver::create(*s, kv.get(), kHeads);
  ASSERT_FALSE(d.is_ok());
  EXPECT_NE(d.status().message().find("kv_manager_for_spec"), std::string::npos)
      << d.status().to_string();
}

}  // namespace
}  // namespace lk::compress
