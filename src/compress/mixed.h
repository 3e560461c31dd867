// Mixed precision by age (`--kv mixed[:window=N][:old=int8|kivi4|kivi2]`): the most recent N
// tokens of each (layer, kv-head) stay in the cache's full-precision format; a block whose
// tokens have all fallen out of that window is re-encoded into the old (low-bit) format by
// the KV manager (KvManager::reencode_older: a new block in the old format, the old block
// freed, so the pool's bytes drop). The engine's attention reads the mix of runs in place.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "kv/kv_manager.h"

namespace lk::compress {

// Re-encodes, for every kv head of `layer`, the blocks of seq whose tokens are all older than
// the last `window` of the sequence's `length` positions (positions < length - window).
// reencoded: [n_kv_heads] blocks re-encoded per head are added to it (may be null).
Status mixed_reencode_layer(KvManager& kv, SeqId seq, int layer, int64_t length, int window,
                            std::vector<int64_t>* reencoded);

// Blocks of one (layer, kv-head) holding n consecutive tokens (positions 0 .. n-1, no
// eviction) that are in the old format once re-encoding has run at length n: every block but
// the last whose last position is < n - window.
int64_t mixed_old_blocks(int64_t n, int window, int block_tokens);

// Bytes of one such head: old blocks x old_block_bytes + the rest x main_block_bytes.
int64_t mixed_head_bytes(int64_t n, int window, int block_tokens, int64_t main_block_bytes,
                         int64_t old_block_bytes);

}  // namespace lk::compress
