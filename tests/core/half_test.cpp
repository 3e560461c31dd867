#include "core/half.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <immintrin.h>

namespace lk {
namespace {

// F16C hardware conversion is the reference (round-to-nearest-even, IEEE semantics).
uint16_t hw_f32_to_f16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(HalfTest, F16RoundTripMatchesHardwareOnAllHalfValues) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    EXPECT_EQ(std::isnan(f), std::isnan(_cvtsh_ss(static_cast<uint16_t>(h))));
    if (!std::isnan(f)) {
      ASSERT_EQ(f, _cvtsh_ss(static_cast<uint16_t>(h))) << h;
      ASSERT_EQ(f32_to_f16(f), h) << h;
    }
  }
}

TEST(HalfTest, F32ToF16RoundsLikeHardware) {
  uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1664525u + 1013904223u;
    float f;
    uint32_t bits = state;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), hw_f32_to_f16(f)) << std::hex << bits;
  }
}

TEST(HalfTest, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (down).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // halfway, odd lower neighbour -> up
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

}  // namespace
}  // namespace lk
