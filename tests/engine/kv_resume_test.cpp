// Context switching in the engine (engine/kv_resume): a sequence swapped out and back in
// mid-generation continues exactly as if it had never been swapped. With a healthy tier the
// restored KV is bit-identical (so are the logits); with a lost or corrupted tier copy (fault
// injection) the engine recomputes — reusing the prefix blocks the index still holds and
// re-running only the rest — and the greedy tokens are identical, the logits within 1e-4.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/forward.h"
#include "engine/kv_resume.h"
#include "engine/kv_setup.h"
#include "engine/random_model.h"
#include "kv/tier.h"
#include "tiny_spec.h"

namespace lk {
namespace {

ModelSpec spec() {
  return test::tiny_gqa_spec(16, 96, 256);  // head_dim, vocab, context
}

int32_t argmax(const std::vector<float>& x) {
  return static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin());
}

struct Trace {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;  // per decode step
  int recomputes = 0;
  int64_t reused = 0, recomputed = 0;
};

// Prefill 37 tokens, then 24 greedy steps; every 5th step the sequence is swapped out to
// `tier` and resumed (when tier is non-empty). evict_index: drop the prefix cache while the
// sequence is away (nothing left to reuse).
Trace generate(const Model& m, TierFault fault, bool swap, bool evict_index = false) {
  KvCacheOptions o;
  o.format = "f32";
  o.block_tokens = 8;
  o.max_tokens = 128;
  auto kv = make_engine_kv_cache(m, o);
  EXPECT_TRUE(kv.is_ok());
  KvManager& mgr = *kv->manager;
  EXPECT_TRUE(mgr.add_tier(make_fault_tier(make_host_tier(), fault)).is_ok());
  Forward fwd(m, kv->cache.get(), ForwardOptions{16});
  Trace tr;
  std::vector<int32_t> prompt;
  for (int i = 0; i < 37; ++i) prompt.push_back((i * 29 + 3) % 96);
  std::vector<float> logits;
  SeqBatch b{9, prompt, false};
  EXPECT_TRUE(fwd.forward(std::span<const SeqBatch>(&b, 1), &logits).is_ok());
  for (int step = 0; step < 24; ++step) {
    const int32_t next = argmax(logits);
    tr.tokens.push_back(next);
    if (swap && step % 5 == 4) {
      EXPECT_TRUE(mgr.swap_out(9, "host").get().is_ok());
      EXPECT_EQ(mgr.state(9), SeqState::kSwappedOut);
      if (evict_index) mgr.evict_prefix_cache(int64_t{1} << 40);
      auto r = resume_sequence(fwd, mgr, 9);
      EXPECT_TRUE(r.is_ok()) << r.status().to_string();
      if (r.is_ok() && r->recomputed) {
        ++tr.recomputes;
        tr.reused += r->reused_tokens;
        tr.recomputed += r->recomputed_tokens;
      }
      EXPECT_EQ(mgr.seq_length(9), 37 + step);
      mgr.check_invariants();
    }
    SeqBatch d{9, std::span<const int32_t>(&tr.tokens.back(), 1), false};
    EXPECT_TRUE(fwd.forward(std::span<const SeqBatch>(&d, 1), &logits).is_ok());
    tr.logits.push_back(logits);
  }
  mgr.check_invariants();
  return tr;
}

float max_diff(const Trace& a, const Trace& b) {
  float e = 0;
  for (size_t s = 0; s < a.logits.size(); ++s)
    for (size_t i = 0; i < a.logits[s].size(); ++i)
      e = std::max(e, std::abs(a.logits[s][i] - b.logits[s][i]));
  return e;
}

TEST(KvResume, HealthySwapIsBitIdentical) {
  auto m = random_model(spec(), DType::kF32, 11);
  ASSERT_TRUE(m.is_ok());
  const Trace ref = generate(*m, TierFault::kNone, false);
  const Trace sw = generate(*m, TierFault::kNone, true);
  EXPECT_EQ(sw.recomputes, 0);
  EXPECT_EQ(sw.tokens, ref.tokens);
  EXPECT_EQ(sw.logits, ref.logits);
}

TEST(KvResume, LostOrCorruptCopyIsRecomputedFromTheMissingTokens) {
  auto m = random_model(spec(), DType::kF32, 11);
  ASSERT_TRUE(m.is_ok());
  const Trace ref = generate(*m, TierFault::kNone, false);
  for (TierFault f : {TierFault::kLose, TierFault::kCorrupt}) {
    const Trace sw = generate(*m, f, true);
    EXPECT_EQ(sw.tokens, ref.tokens) << tier_fault_name(f);
    EXPECT_LT(max_diff(sw, ref), 1e-4f) << tier_fault_name(f);
    // Swaps at lengths 41, 46, 51, 56 with 8-token blocks: the index still holds the full
    // blocks (40, 40, 48, 56 tokens), only the rest is re-run. At 56 every block is full and
    // shared on swap-in, so a corrupted copy is never read there (no recompute needed), while
    // a lost one still means recomputing — of nothing but the adoption of the prefix.
    if (f == TierFault::kLose) {
      EXPECT_EQ(sw.recomputes, 4);
      EXPECT_EQ(sw.reused, 40 + 40 + 48 + 56);
    } else {
      EXPECT_EQ(sw.recomputes, 3);
      EXPECT_EQ(sw.reused, 40 + 40 + 48);
    }
    EXPECT_EQ(sw.recomputed, 1 + 6 + 3) << tier_fault_name(f);
  }
  // With the prefix cache gone too, everything is re-run — still the same tokens.
  const Trace all = generate(*m, TierFault::kCorrupt, true, /*evict_index=*/true);
  EXPECT_EQ(all.reused, 0);
  EXPECT_EQ(all.recomputed, 41 + 46 + 51 + 56);
  EXPECT_EQ(all.tokens, ref.tokens);
  EXPECT_LT(max_diff(all, ref), 1e-4f);
}

}  // namespace
}  // namespace lk
