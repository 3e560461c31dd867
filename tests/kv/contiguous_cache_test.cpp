#include <gtest/gtest.h>

#include "core/half.h"
#include "kv/contiguous_cache.h"

namespace lk {
namespace {

TEST(ContiguousCache, AppendsAndViewsPerHead) {
  auto c = contiguous_cache_create(2, 2, 4, KvFormat::kF16);
  ASSERT_TRUE(c.is_ok());
  ContiguousKvCache& cache = **c;
  // k, v: [n=3][kv_heads=2][D=4]
  std::vector<float> k(24), v(24);
  for (int i = 0; i < 24; ++i) {
    k[i] = static_cast<float>(i);
    v[i] = static_cast<float>(-i);
  }
  const std::vector<int32_t> pos = {0, 1, 2};
  for (int l = 0; l < 2; ++l) ASSERT_TRUE(cache.append(7, l, pos, k.data(), v.data()).is_ok());
  cache.check_invariants();
  EXPECT_EQ(cache.seq_length(7), 3);
  EXPECT_EQ(cache.seq_length(8), 0);
  const KvHeadView view = cache.view(7, 1, 1);
  ASSERT_EQ(view.runs.size(), 1u);
  EXPECT_EQ(view.runs[0].n_tokens, 3);
  const auto* kh = static_cast<const uint16_t*>(view.runs[0].k);
  EXPECT_EQ(f16_to_f32(kh[0]), 4.0f);   // token 0, head 1, dim 0
  EXPECT_EQ(f16_to_f32(kh[4]), 12.0f);  // token 1, head 1, dim 0
  EXPECT_EQ(cache.bytes_used(), 2 * 2 * 2 * 3 * 4 * 2);
  // positions must ascend
  EXPECT_FALSE(cache.append(7, 0, pos, k.data(), v.data()).is_ok());
  cache.release(7);
  EXPECT_EQ(cache.seq_length(7), 0);
  cache.check_invariants();
}

TEST(ContiguousCache, RejectsQuantizedFormats) {
  auto c = contiguous_cache_create(2, 2, 4, KvFormat::kInt4);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace lk
