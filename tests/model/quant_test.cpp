// Dequantization bit-exact against the gguf Python package (fixtures written by
// tools/make_quant_fixtures.py), quantization bit-exact for the types gguf quantizes, and
// round-trip error bounds for the K-quants longkv quantizes with its own scale search.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include "core/half.h"
#include "model/quant.h"
#include "test_util.h"

namespace lk {
namespace {

std::vector<uint8_t> read_fixture(const std::string& name) {
  auto p = test::source_dir() / "tests/model/fixtures/quant" / name;
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f.good()) << p;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

class DequantFixture : public ::testing::TestWithParam<DType> {};

TEST_P(DequantFixture, BitExactVsGguf) {
  const DType t = GetParam();
  const auto blocks = read_fixture(std::string(dtype_name(t)) + ".blocks");
  const auto expect = read_fixture(std::string(dtype_name(t)) + ".expect");
  const int64_t n = static_cast<int64_t>(expect.size() / 4);
  ASSERT_EQ(static_cast<int64_t>(blocks.size()), dtype_row_bytes(t, n));
  std::vector<float> y(n);
  dequantize_row(t, blocks.data(), y.data(), n);
  int mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t a, b;
    std::memcpy(&a, &y[i], 4);
    std::memcpy(&b, expect.data() + 4 * i, 4);
    if (a != b && mismatches++ < 5)
      ADD_FAILURE() << dtype_name(t) << " element " << i << ": got " << y[i] << " (0x" << std::hex
                    << a << "), gguf says 0x" << b;
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DequantFixture,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0,
                                           DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

class QuantFixture : public ::testing::TestWithParam<DType> {};

TEST_P(QuantFixture, BitExactVsGguf) {
  const DType t = GetParam();
  const auto in = read_fixture("quantize_input.f32");
  const auto expect = read_fixture(std::string(dtype_name(t)) + ".quantized");
  const int64_t n = static_cast<int64_t>(in.size() / 4);
  std::vector<float> x(n);
  std::memcpy(x.data(), in.data(), in.size());
  std::vector<uint8_t> q(dtype_row_bytes(t, n));
  ASSERT_EQ(q.size(), expect.size());
  quantize_row(t, x.data(), q.data(), n);
  for (size_t i = 0; i < q.size(); ++i)
    ASSERT_EQ(q[i], expect[i]) << dtype_name(t) << " byte " << i << " (block "
                               << i / dtype_block_bytes(t) << ")";
}

INSTANTIATE_TEST_SUITE_P(GgufQuantizable, QuantFixture,
                         ::testing::Values(DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Round trip: every element within half a step of its sub-block (plus the f16 rounding of
// the stored scale for Q8_0/Q4_0, which follow ggml and do not round scales up).
struct Bound {
  DType t;
  double max_rel_rmse;  // relative to the data's rms, for N(0, 1) data
};

class RoundTrip : public ::testing::TestWithParam<Bound> {};

TEST_P(RoundTrip, ErrorBounded) {
  const auto [t, max_rel_rmse] = GetParam();
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int64_t n = 256 * 64;
  std::vector<float> x(n);
  for (auto& v : x) v = nd(rng);
  for (int i = 0; i < 256; ++i) x[i] = 0;                   // an all-zero block
  for (int i = 256; i < 512; ++i) x[i] = 0.25f;             // a constant block
  for (int i = 512; i < 768; ++i) x[i] = -std::fabs(x[i]);  // all negative
  std::vector<uint8_t> q(dtype_row_bytes(t, n));
  quantize_row(t, x.data(), q.data(), n);
  std::vector<float> y(n);
  dequantize_row(t, q.data(), y.data(), n);
  double se = 0, ss = 0, max_block_rel = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    float amax = 0, err = 0;
    for (int i = 0; i < 32; ++i) {
      amax = std::max(amax, std::fabs(x[32 * b + i]));
      err = std::max(err, std::fabs(x[32 * b + i] - y[32 * b + i]));
      se += static_cast<double>(x[32 * b + i] - y[32 * b + i]) * (x[32 * b + i] - y[32 * b + i]);
      ss += static_cast<double>(x[32 * b + i]) * x[32 * b + i];
    }
    if (amax == 0) {
      EXPECT_EQ(err, 0.f) << "zero block " << b;
    } else {
      max_block_rel = std::max(max_block_rel, static_cast<double>(err / amax));
    }
  }
  for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], 0.f);
  const double rel = std::sqrt(se / ss);
  EXPECT_LT(rel, max_rel_rmse) << dtype_name(t);
  // The worst element is at most one (Q4_0: clipped top code) step of the block's range.
  const double levels = t == DType::kQ8_0   ? 127
                        : t == DType::kQ6_K ? 31
                        : t == DType::kQ5_K ? 15.5
                        : t == DType::kQ4_K ? 7.5
                                            : 8;
  EXPECT_LT(max_block_rel, 1.05 / levels) << dtype_name(t);
  std::printf("%s: relative rmse %.4f, worst element %.4f of its block's max\n", dtype_name(t), rel,
              max_block_rel);
}

INSTANTIATE_TEST_SUITE_P(AllQuants, RoundTrip,
                         ::testing::Values(Bound{DType::kQ8_0, 0.008}, Bound{DType::kQ4_0, 0.12},
                                           Bound{DType::kQ4_K, 0.10}, Bound{DType::kQ5_K, 0.05},
                                           Bound{DType::kQ6_K, 0.03}),
                         [](const auto& info) { return std::string(dtype_name(info.param.t)); });

TEST(Quant, KQuantStepBoundPerElement) {
  // For K-quants the scales are rounded up, so no element clips: |x - y| <= step / 2.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> ud(-2.f, 5.f);
  for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    std::vector<float> x(256 * 8);
    for (auto& v : x) v = ud(rng);
    std::vector<uint8_t> q(dtype_row_bytes(t, x.size()));
    quantize_row(t, x.data(), q.data(), x.size());
    std::vector<float> y(x.size());
    dequantize_row(t, q.data(), y.data(), x.size());
    for (size_t b = 0; b < x.size() / 256; ++b) {
      const uint8_t* blk = q.data() + b * dtype_block_bytes(t);
      for (int s = 0; s < 16; ++s) {  // 16-element groups (Q4_K/Q5_K: pairs share a scale)
        float step;
        if (t == DType::kQ6_K) {
          const auto* bb = reinterpret_cast<const BlockQ6_K*>(blk);
          step = f16_to_f32(bb->d) * bb->scales[s];
        } else {
          uint8_t sc, m;
          q4k_scale_min(blk + 4, s / 2, &sc, &m);
          step = f16_to_f32(*reinterpret_cast<const uint16_t*>(blk)) * sc;
        }
        for (int l = 0; l < 16; ++l) {
          const size_t i = b * 256 + s * 16 + l;
          EXPECT_LE(std::fabs(x[i] - y[i]), step * 0.5f * 1.001f + 1e-6f)
              << dtype_name(t) << " element " << i;
        }
      }
    }
  }
}

TEST(Quant, DequantizeTensorNeedsData) {
  TensorView v;
  v.name = "w";
  v.dtype = DType::kQ8_0;
  v.ne = {32, 1, 1, 1};
  EXPECT_EQ(dequantize_tensor(v).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lk
