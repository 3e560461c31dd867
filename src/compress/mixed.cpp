#include "compress/mixed.h"

#include <algorithm>

namespace lk::compress {

Status mixed_reencode_layer(KvManager& kv, SeqId seq, int layer, int64_t length, int window,
                            std::vector<int64_t>* reencoded) {
  const int64_t before = length - window;
  if (before <= 0) return Status::ok();
  for (int h = 0; h < kv.config().n_kv_heads; ++h) {
    LK_ASSIGN_OR_RETURN(int64_t n, kv.reencode_older(seq, layer, h, before));
    if (reencoded) (*reencoded)[static_cast<size_t>(h)] += n;
  }
  return Status::ok();
}

int64_t mixed_old_blocks(int64_t n, int window, int block_tokens) {
  if (n <= 0) return 0;
  const int64_t blocks = (n + block_tokens - 1) / block_tokens;
  // Block i (positions iB .. iB+B-1) is old when (i + 1) B - 1 < n - window.
  const int64_t cutoff = n - window;
  const int64_t old = cutoff > 0 ? cutoff / block_tokens : 0;
  return std::min(old, blocks - 1);
}

int64_t mixed_head_bytes(int64_t n, int window, int block_tokens, int64_t main_block_bytes,
                         int64_t old_block_bytes) {
  const int64_t blocks = (n + block_tokens - 1) / block_tokens;
  const int64_t old = mixed_old_blocks(n, window, block_tokens);
  return old * old_block_bytes + (blocks - old) * main_block_bytes;
}

}  // namespace lk::compress
