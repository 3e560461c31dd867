#include "kv/kv_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kv/crc32c.h"

namespace lk {
namespace {

TEST(Crc32c, StandardCheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(crc32c(s, 9), 0xE3069283u);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
}

TEST(Crc32c, LanesAndCopyMatchBytewise) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(3 * 1024 * 7 + 13), dst(buf.size());
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  // Reference: incremental one byte at a time (no lanes).
  uint32_t ref = 0;
  for (uint8_t b : buf) ref = crc32c_extend(ref, &b, 1);
  EXPECT_EQ(crc32c(buf.data(), buf.size()), ref);
  EXPECT_EQ(crc32c_copy(0, dst.data(), buf.data(), buf.size()), ref);
  EXPECT_EQ(dst, buf);
  const size_t half = 5000;
  EXPECT_EQ(crc32c_extend(crc32c(buf.data(), half), buf.data() + half, buf.size() - half), ref);
}

TEST(Crc32c, EveryLengthAndOffsetMatchesBytewise) {
  // Covers the PCLMUL folding (>= 256 bytes), the crc32 lanes and the byte tail.
  std::mt19937 rng(9);
  std::vector<uint8_t> buf(1200), dst(1200);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 9; off += 4)
    for (size_t len = 0; len + off <= 1100; len += (len < 300 ? 1 : 37)) {
      uint32_t ref = 0x12345678u;
      for (size_t i = 0; i < len; ++i) ref = crc32c_extend(ref, &buf[off + i], 1);
      ASSERT_EQ(crc32c_extend(0x12345678u, buf.data() + off, len), ref) << off << "+" << len;
      ASSERT_EQ(crc32c_copy(0x12345678u, dst.data(), buf.data() + off, len), ref);
    }
}

TEST(Crc32c, CopyAtEveryDestinationAlignment) {
  // The fused copy streams to 64-byte aligned destinations after a scalar head: every
  // destination offset, lengths around the 256/512/1024-byte thresholds, bytes outside
  // [dst, dst + len) untouched.
  std::mt19937 rng(11);
  std::vector<uint8_t> buf(6000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  alignas(64) static uint8_t dst[6200];
  for (size_t dst_off = 0; dst_off < 64; dst_off += 3) {
    for (size_t src_off : {size_t{0}, size_t{5}}) {
      for (size_t len : {255, 256, 511, 512, 575, 576, 1023, 1024, 1025, 1343, 4113, 5900}) {
        uint32_t ref = 0xCAFEF00Du;
        for (size_t i = 0; i < len; ++i) ref = crc32c_extend(ref, &buf[src_off + i], 1);
        std::memset(dst, 0xA5, sizeof dst);
        ASSERT_EQ(crc32c_copy(0xCAFEF00Du, dst + dst_off, buf.data() + src_off, len), ref)
            << dst_off << "/" << src_off << "+" << len;
        ASSERT_EQ(std::memcmp(dst + dst_off, buf.data() + src_off, len), 0)
            << dst_off << "+" << len;
        for (size_t i = 0; i < dst_off; ++i) ASSERT_EQ(dst[i], 0xA5);
        for (size_t i = dst_off + len; i < sizeof dst; ++i) ASSERT_EQ(dst[i], 0xA5);
        ASSERT_EQ(crc32c_extend(0xCAFEF00Du, buf.data() + src_off, len), ref);
      }
    }
  }
}

TEST(BlockLayout, BytesPerFormat) {
  // B = 16 tokens, D = 128.
  EXPECT_EQ(block_layout(KvFormat::kF32, 16, 128).bytes(), 2 * 16 * 128 * 4);
  EXPECT_EQ(block_layout(KvFormat::kF16, 16, 128).bytes(), 2 * 16 * 128 * 2);
  EXPECT_EQ(block_layout(KvFormat::kBF16, 16, 128).bytes(), 2 * 16 * 128 * 2);
  EXPECT_EQ(block_layout(KvFormat::kInt8, 16, 128).bytes(), 2 * 16 * 128 + 2 * 16 * 4);
  EXPECT_EQ(block_layout(KvFormat::kInt4, 16, 128).bytes(), 2 * 16 * 64 + (2 * 128 + 2 * 16) * 2);
  EXPECT_EQ(block_layout(KvFormat::kInt2, 16, 128).bytes(), 2 * 16 * 32 + (2 * 128 + 2 * 16) * 2);
}

// Round trip of one block per format; the bound is the format's quantization step.
class CodecRoundTrip : public ::testing::TestWithParam<KvFormat> {};

TEST_P(CodecRoundTrip, ErrorWithinStep) {
  const KvFormat f = GetParam();
  const int B = 16, D = 32;
  const BlockLayout l = block_layout(f, B, D);
  std::vector<uint8_t> data(l.data_bytes), params(l.param_bytes + 1);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> k(B * D), v(B * D);
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  k[5] = 40.0f;  // an outlier channel value: KIVI's per-channel K keeps it local
  if (kv_format_is_kivi(f)) {
    codec_quantize_group(l, data.data(), params.data(), B, k.data(), v.data());
  } else {
    for (int t = 0; t < B; ++t)
      codec_write_token(l, data.data(), params.data(), t, &k[t * D], &v[t * D]);
  }
  std::vector<float> kr(D), vr(D);
  for (int t = 0; t < B; ++t) {
    codec_read_token(l, data.data(), params.data(), t, kr.data(), vr.data());
    for (int d = 0; d < D; ++d) {
      float kstep = 0, vstep = 0;  // allowed error per element
      switch (f) {
        case KvFormat::kF32:
          break;
        case KvFormat::kF16:
          kstep = std::fabs(k[t * D + d]) * 1e-3f;
          vstep = std::fabs(v[t * D + d]) * 1e-3f;
          break;
        case KvFormat::kBF16:
          kstep = std::fabs(k[t * D + d]) * 8e-3f;
          vstep = std::fabs(v[t * D + d]) * 8e-3f;
          break;
        case KvFormat::kInt8: {
          float ka = 0, va = 0;
          for (int e = 0; e < D; ++e) {
            ka = std::max(ka, std::fabs(k[t * D + e]));
            va = std::max(va, std::fabs(v[t * D + e]));
          }
          kstep = ka / 127 * 0.51f;
          vstep = va / 127 * 0.51f;
          break;
        }
        default: {  // KIVI: half a step of the channel (K) / token (V) range, plus f16 rounding
          float klo = 1e30f, khi = -1e30f, vlo = 1e30f, vhi = -1e30f;
          for (int s = 0; s < B; ++s) {
            klo = std::min(klo, k[s * D + d]);
            khi = std::max(khi, k[s * D + d]);
          }
          for (int e = 0; e < D; ++e) {
            vlo = std::min(vlo, v[t * D + e]);
            vhi = std::max(vhi, v[t * D + e]);
          }
          const int q = kivi_qmax(f);
          kstep = (khi - klo) / q * 0.51f + std::fabs(klo) * 2e-3f + 1e-4f;
          vstep = (vhi - vlo) / q * 0.51f + std::fabs(vlo) * 2e-3f + 1e-4f;
        }
      }
      ASSERT_LE(std::fabs(kr[d] - k[t * D + d]), kstep)
          << kv_format_name(f) << " t=" << t << " d=" << d;
      ASSERT_LE(std::fabs(vr[d] - v[t * D + d]), vstep)
          << kv_format_name(f) << " t=" << t << " d=" << d;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, CodecRoundTrip,
                         ::testing::Values(KvFormat::kF32, KvFormat::kF16, KvFormat::kBF16,
                                           KvFormat::kInt8, KvFormat::kInt4, KvFormat::kInt2),
                         [](const auto& info) { return std::string(kv_format_name(info.param)); });

}  // namespace
}  // namespace lk
