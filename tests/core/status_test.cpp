#include "core/status.h"

#include <gtest/gtest.h>

namespace lk {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument("x must be positive (got {})", x);
  return x;
}

Status chain(int x) {
  LK_ASSIGN_OR_RETURN(int v, parse_positive(x));
  if (v > 10) return make_error(StatusCode::kOutOfMemory, "too big: {}", v);
  return Status::ok();
}

TEST(StatusTest, OkAndErrorCarryCodeAndMessage) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status s = not_found("preset '{}' (valid: a, b)", "zz");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.to_string(), "not found: preset 'zz' (valid: a, b)");
  EXPECT_EQ(s.with_context("analyze").message(), "analyze: preset 'zz' (valid: a, b)");
}

TEST(StatusTest, ResultHoldsValueOrError) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(StatusTest, MacrosPropagate) {
  EXPECT_TRUE(chain(5).is_ok());
  EXPECT_EQ(chain(-5).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(chain(50).code(), StatusCode::kOutOfMemory);
}

}  // namespace
}  // namespace lk
