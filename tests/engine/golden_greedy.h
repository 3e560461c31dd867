// Shared by the engine's real-model tests: the golden greedy continuation of run.c, generated
// from BOS with stop at BOS, which every engine configuration must reproduce exactly.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/forward.h"
#include "engine/generate.h"

namespace lk::test {

// Greedy tokens of `fwd` from BOS (id 1) for up to 256 tokens, as run.c's golden was made.
inline std::vector<int32_t> greedy_from_bos(Forward& fwd) {
  GenerateOptions opt;
  opt.max_new_tokens = 256;
  opt.sampler.temperature = 0.0f;
  opt.stop_ids = {1};
  const std::vector<int32_t> bos = {1};
  auto r = generate(fwd, 0, bos, opt, nullptr);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? r->tokens : std::vector<int32_t>{};
}

}  // namespace lk::test
