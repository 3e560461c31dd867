// Context switching for the engine: bring a swapped-out sequence back before its next step.
// swap_in restores its KV from the tier (checksums verified); when the tier copy was lost or
// corrupt the manager drops it (SwapInResult::recompute_required) and this re-runs the
// sequence's tokens through the forward pass — first taking whatever full blocks of its
// prefix the prefix index still holds on device (or in its spill tier), then re-prefilling
// only the missing tokens — so the cache ends as it was before the swap and generation goes
// on as if it had never been swapped (the recomputed K/V equal the lost ones up to float
// summation order: a prefill step computes them with GEMM where decode used GEMV).
// A sequence with per-head evictions (compression) comes back uncompressed after a recompute.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "engine/forward.h"
#include "kv/kv_manager.h"

namespace lk {

struct ResumeReport {
  bool recomputed = false;        // the tier copy was lost or corrupt
  std::string reason;             // why (the swap-in error), when recomputed
  int64_t reused_tokens = 0;      // taken from the prefix index instead of recomputed
  int64_t recomputed_tokens = 0;  // re-run through the forward pass
  double seconds = 0;
};

// forward must run on `kv`. Errors: swap-in failures that keep the tier copy (kOutOfMemory:
// retry later, the sequence stays swapped out) and forward errors of the recompute.
Result<ResumeReport> resume_sequence(Forward& forward, KvManager& kv, SeqId seq);

}  // namespace lk
