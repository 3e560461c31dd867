#include "core/byte_size.h"

#include <gtest/gtest.h>

namespace lk {
namespace {

TEST(ByteSize, SplitsLongestUnitFirst) {
  const auto mib = split_byte_unit("64MiB", false);
  ASSERT_TRUE(mib.has_value());
  EXPECT_EQ(mib->number, "64");
  EXPECT_EQ(mib->multiplier, 1024.0 * 1024);
  const auto gb = split_byte_unit("1.5GB", false);
  ASSERT_TRUE(gb.has_value());
  EXPECT_EQ(gb->number, "1.5");
  EXPECT_EQ(gb->multiplier, 1e9);
  const auto b = split_byte_unit("4096B", false);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->multiplier, 1.0);
}

TEST(ByteSize, ShortUnitsOnlyWhenAsked) {
  EXPECT_FALSE(split_byte_unit("64K", false).has_value());
  const auto k = split_byte_unit("64K", true);
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->number, "64");
  EXPECT_EQ(k->multiplier, 1024.0);
}

TEST(ByteSize, NoUnitOrNoNumber) {
  EXPECT_FALSE(split_byte_unit("4096", true).has_value());
  EXPECT_FALSE(split_byte_unit("MiB", true).has_value());
  EXPECT_FALSE(split_byte_unit("", true).has_value());
}

}  // namespace
}  // namespace lk
