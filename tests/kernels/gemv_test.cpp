// The AVX-512 GEMV kernels and the tiled GEMM agree with the scalar row-by-row product for
// every weight dtype. Tolerance: relative to sum |w||x| per output — 1e-5 (f32 sums in a
// different order; the weights themselves are identical after conversion).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/half.h"

#include "kernels/gemm_float.h"
#include "kernels/gemm_int8.h"
#include "kernels/gemv.h"
#include "kernels/matmul.h"
#include "kernels/row_convert.h"
#include "model/quant.h"

namespace lk {
namespace {

struct Weights {
  std::vector<uint8_t> bytes;
  TensorView view;
};

Weights make_weights(DType t, int64_t n, int64_t m, uint64_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Weights w;
  w.bytes.resize(dtype_row_bytes(t, n) * m);
  std::vector<float> row(n);
  for (int64_t r = 0; r < m; ++r) {
    for (auto& v : row) v = dist(rng);
    quantize_row(t, row.data(), w.bytes.data() + r * dtype_row_bytes(t, n), n);
  }
  w.view.dtype = t;
  w.view.n_dims = 2;
  w.view.ne = {n, m, 1, 1};
  w.view.data = w.bytes.data();
  w.view.nbytes = static_cast<int64_t>(w.bytes.size());
  return w;
}

// Bound for |fast - scalar|: sums of |w x| per row times 1e-5 (f32 summation order), plus,
// when the int8-activation path runs (q8_0/q4_0 with VNNI), the rounding of x to int8 per
// 32-block: sum_j |w_j| * max|x_block| / 254.
// The tiled GEMM quantizes activations the same way for every type gemm_int8 supports.
std::vector<float> abs_bound(const TensorView& w, const std::vector<float>& x, int64_t n_x,
                             bool gemm = false) {
  const int64_t n = w.ne[0], m = w.ne[1];
  const bool int8 =
      gemv_int8_activations() &&
      (gemm ? gemm_int8_supported(w.dtype) : (w.dtype == DType::kQ8_0 || w.dtype == DType::kQ4_0));
  std::vector<float> b(n_x * m), row(n);
  for (int64_t r = 0; r < m; ++r) {
    EXPECT_TRUE(row_to_f32(w, r, row.data()).is_ok());
    for (int64_t t = 0; t < n_x; ++t) {
      double s = 0, q = 0;
      for (int64_t j = 0; j < n; ++j) s += std::abs(row[j] * x[t * n + j]);
      if (int8) {
        for (int64_t b0 = 0; b0 < n; b0 += 32) {
          double amax = 0, wsum = 0;
          for (int64_t j = b0; j < b0 + 32; ++j) {
            amax = std::max<double>(amax, std::abs(x[t * n + j]));
            wsum += std::abs(row[j]);
          }
          q += wsum * amax / 254.0;
        }
      }
      b[t * m + r] = static_cast<float>(s * 1e-5 + q * 1.01 + 1e-6);
    }
  }
  return b;
}

class GemvTest : public ::testing::TestWithParam<DType> {};

TEST_P(GemvTest, MatchesScalarForAllBatchSizes) {
  const DType t = GetParam();
  const bool block = dtype_block_elems(t) > 1;
  for (int64_t n :
       block ? std::vector<int64_t>{dtype_block_elems(t), 3 * dtype_block_elems(t),
                                    8 * dtype_block_elems(t)}
             : std::vector<int64_t>{16, 64, 100, 172, 4100}) {  // 4100: 8-row decode kernel + tail
    const int64_t m = 37;
    Weights w = make_weights(t, n, m, 7 + n);
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (int64_t n_x : {1, 2, 3, 4, 5, 9, 17, 35, 70}) {  // 35, 70: 3 and 3+2 GEMM lane groups
      std::vector<float> x(n_x * n);
      for (auto& v : x) v = dist(rng);
      std::vector<float> want(n_x * m), got(n_x * m);
      ASSERT_TRUE(gemv_rows_scalar(w.view, 0, m, x.data(), n_x, n, want.data(), m).is_ok());
      ASSERT_TRUE(gemv_rows(w.view, 0, m, x.data(), n_x, n, got.data(), m).is_ok());
      const auto bound = abs_bound(w.view, x, n_x);
      for (int64_t i = 0; i < n_x * m; ++i) {
        ASSERT_NEAR(got[i], want[i], bound[i]) << dtype_name(t) << " n=" << n << " n_x=" << n_x;
      }
      // Both matmul paths (GEMV kernels and tiled sgemm) agree too.
      for (bool gemm : {false, true}) {
        std::vector<float> y(n_x * m);
        ASSERT_TRUE(matmul_with(w.view, x.data(), n_x, y.data(), gemm).is_ok());
        const auto b = abs_bound(w.view, x, n_x, gemm);
        for (int64_t i = 0; i < n_x * m; ++i)
          ASSERT_NEAR(y[i], want[i], b[i]) << "gemm=" << gemm << " n_x=" << n_x;
      }
    }
  }
}

// Opt-in bf16 prefill GEMM: weights and activations rounded to bf16 (relative error <= 2^-8
// each, so <= ~2^-7 per product), products summed in f32: within 2^-7 sum |w x| of the
// exact product, and really rounded (some outputs differ from the f32 path). Odd n pads the
// last pair with zero.
TEST(GemmFloat, Bf16ModeWithinBf16RoundingOfScalar) {
  if (!gemm_float_set_bf16(true).is_ok()) GTEST_SKIP() << "no AVX-512 BF16 in this build";
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t n : {33, 64, 100}) {
      const int64_t m = 37;
      Weights w = make_weights(t, n, m, 11 + n);
      std::mt19937 rng(5);
      std::normal_distribution<float> dist(0.0f, 1.0f);
      for (int64_t n_x : {9, 17, 70}) {
        std::vector<float> x(n_x * n);
        for (auto& v : x) v = dist(rng);
        std::vector<float> want(n_x * m), got(n_x * m), exact(n_x * m);
        ASSERT_TRUE(gemv_rows_scalar(w.view, 0, m, x.data(), n_x, n, want.data(), m).is_ok());
        ASSERT_TRUE(gemm_float_set_bf16(true).is_ok());
        ASSERT_TRUE(matmul_with(w.view, x.data(), n_x, got.data(), true).is_ok());
        ASSERT_TRUE(gemm_float_set_bf16(false).is_ok());
        ASSERT_TRUE(matmul_with(w.view, x.data(), n_x, exact.data(), true).is_ok());
        const auto b = abs_bound(w.view, x, n_x, true);  // 1e-5 sum |w x|
        int differ = 0;
        for (int64_t i = 0; i < n_x * m; ++i) {
          ASSERT_NEAR(got[i], want[i], b[i] * 1e5f / 128.0f) << dtype_name(t) << " n=" << n;
          differ += got[i] != exact[i];
        }
        EXPECT_GT(differ, 0) << "bf16 mode gave the f32 results: not engaged";
      }
    }
  }
  ASSERT_TRUE(gemm_float_set_bf16(false).is_ok());
}

TEST(Gemv, Float32ActivationPathForQuantizedWeights) {
  gemv_set_int8_activations(false);
  for (DType t : {DType::kQ8_0, DType::kQ4_0}) {
    Weights w = make_weights(t, 96, 21, 5);
    std::vector<float> x(2 * 96);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i);
    std::vector<float> want(2 * 21), got(2 * 21);
    ASSERT_TRUE(gemv_rows_scalar(w.view, 0, 21, x.data(), 2, 96, want.data(), 21).is_ok());
    ASSERT_TRUE(gemv_rows(w.view, 0, 21, x.data(), 2, 96, got.data(), 21).is_ok());
    const auto bound = abs_bound(w.view, x, 2);
    for (int i = 0; i < 42; ++i) ASSERT_NEAR(got[i], want[i], bound[i]) << dtype_name(t);
  }
  gemv_set_int8_activations(true);
}

// The int8 GEMM (prefill) covers every quantized type on a VNNI build, so the bounds above
// are exercised with int8 activations for all of them; float types stay on sgemm.
TEST(GemmInt8, CoversQuantizedTypesOnVnniBuilds) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K})
    EXPECT_TRUE(gemm_int8_supported(t)) << dtype_name(t);
#else
  GTEST_SKIP() << "built without AVX-512 VNNI: prefill uses sgemm for every type";
#endif
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16})
    EXPECT_FALSE(gemm_int8_supported(t)) << dtype_name(t);
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, GemvTest,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0,
                                           DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(RowConvert, Q8_0AndQ4_0DecodeKnownBlocks) {
  // q8_0: d = 0.5 (f16 0x3800), q = -3 -> -1.5
  uint8_t q8[34] = {0x00, 0x38};
  for (int j = 0; j < 32; ++j) q8[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  float out[32];
  ASSERT_TRUE(row_bytes_to_f32(DType::kQ8_0, q8, 32, out).is_ok());
  for (int j = 0; j < 32; ++j) EXPECT_FLOAT_EQ(out[j], 0.5f * (j - 16));
  // q4_0: d = 2, byte 0x1f: low nibble 15 -> (15-8)*2 = 14 at j, high nibble 1 -> -14 at j+16
  uint8_t q4[18] = {0x00, 0x40};
  for (int j = 0; j < 16; ++j) q4[2 + j] = 0x1f;
  ASSERT_TRUE(row_bytes_to_f32(DType::kQ4_0, q4, 32, out).is_ok());
  EXPECT_FLOAT_EQ(out[0], 14.0f);
  EXPECT_FLOAT_EQ(out[16], -14.0f);
}

}  // namespace
}  // namespace lk

#include "kernels/ops.h"

namespace lk {
namespace {

TEST(Ops, VectorExpWithinTwoUlpOfStdExp) {
  std::vector<float> x;
  for (float v = -87.0f; v <= 88.0f; v += 0.01173f) x.push_back(v);
  std::vector<float> y = x;
  exp_inplace(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = std::exp(x[i]);
    ASSERT_LE(std::abs(y[i] - want), 2.5e-7f * want) << "x=" << x[i];
  }
  std::vector<float> s = {1.0f, 2.0f, 3.0f};
  const float sum = exp_shift_sum(s.data(), 3, 3.0f);
  EXPECT_NEAR(sum, std::exp(-2.0f) + std::exp(-1.0f) + 1.0f, 1e-6f);
}

TEST(Ops, SiluMulMatchesFormula) {
  std::vector<float> g, u;
  for (int i = 0; i < 100; ++i) {
    g.push_back(-30.0f + 0.6f * i);
    u.push_back(0.5f + 0.01f * i);
  }
  std::vector<float> out = g;
  silu_mul(out.data(), u.data(), 100);
  for (int i = 0; i < 100; ++i) {
    const float want = g[i] / (1.0f + std::exp(-g[i])) * u[i];
    ASSERT_NEAR(out[i], want, 1e-6f * (1.0f + std::abs(want)));
  }
}

}  // namespace
}  // namespace lk

namespace lk {
namespace {

// The vectorized f16/bf16/q8_0 row conversions are bit-identical to the scalar ones
// (core/half.h, model/quant.h).
TEST(RowConvert, VectorPathsBitIdenticalToScalar) {
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> out(65536);
  ASSERT_TRUE(row_bytes_to_f32(DType::kF16, all.data(), 65536, out.data()).is_ok());
  for (int i = 0; i < 65536; ++i) {
    const float want = f16_to_f32(all[i]);
    ASSERT_TRUE(std::memcmp(&out[i], &want, 4) == 0 || (std::isnan(want) && std::isnan(out[i])))
        << i;
  }
  ASSERT_TRUE(row_bytes_to_f32(DType::kBF16, all.data(), 65536, out.data()).is_ok());
  for (int i = 0; i < 65536; ++i) {
    const float want = bf16_to_f32(all[i]);
    ASSERT_TRUE(std::memcmp(&out[i], &want, 4) == 0) << i;
  }
  Weights w = make_weights(DType::kQ8_0, 256, 3, 9);
  std::vector<float> mine(256), theirs(256);
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(row_to_f32(w.view, r, mine.data()).is_ok());
    dequantize_row(DType::kQ8_0, w.view.row(r), theirs.data(), 256);
    ASSERT_EQ(0, std::memcmp(mine.data(), theirs.data(), 256 * 4));
  }
}

}  // namespace
}  // namespace lk
