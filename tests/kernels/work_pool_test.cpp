// pool_for covers [0, n) exactly once in disjoint ranges, honours min_chunk, survives many
// back-to-back loops (the decode pattern), thread-count changes, and nested calls (serial).
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/parallel.h"
#include "kernels/work_pool.h"

namespace lk {
namespace {

TEST(WorkPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 4}) {
    set_num_threads(threads);
    for (int64_t n : {1, 2, 7, 100, 4097}) {
      for (int64_t min_chunk : {1, 16, 1000}) {
        std::vector<std::atomic<int>> hits(n);
        std::atomic<int> bad_chunk{0};
        pool_for(
            n,
            [&](int64_t b, int64_t e) {
              if (e - b < min_chunk && n >= min_chunk) bad_chunk++;
              for (int64_t i = b; i < e; ++i) hits[i]++;
            },
            min_chunk);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
        EXPECT_EQ(bad_chunk.load(), 0);
      }
    }
  }
  set_num_threads(0);
}

TEST(WorkPool, ManyShortLoopsAndNesting) {
  set_num_threads(3);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 2000; ++rep) {
    pool_for(64, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sum += i;
    });
  }
  EXPECT_EQ(sum.load(), 2000 * (63 * 64 / 2));
  std::atomic<int> inner{0};
  pool_for(8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      pool_for(10, [&](int64_t b2, int64_t e2) { inner += static_cast<int>(e2 - b2); });
    }
  });
  EXPECT_EQ(inner.load(), 80);
  set_num_threads(0);
}

}  // namespace
}  // namespace lk
