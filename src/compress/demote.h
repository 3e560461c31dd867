// Tier demotion with recall (issue 6, DESIGN.md "Multi-round sessions keep a lossless copy
// off-device"): tokens a policy evicts from a (layer, kv-head) are not dropped but demoted to a
// lower tier (host memory, kv/tier.h) in pages of up to `page_tokens` tokens, each page keeping
// its Quest key bounds (compress/quest.h) on the device side. A decode query then recalls the
// demoted pages with the highest Quest bound, up to a token budget, and attention reads them
// spliced into the view in position order. Device memory drops exactly as with eviction; the
// tier's bytes are reported apart, and recalled bytes are what crosses the host link.
// Pages are stored as f32 rows: positions [n] int32, K [n][D], V [n][D].
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "compress/quest.h"
#include "core/status.h"
#include "kv/kv_view.h"
#include "kv/tier.h"

namespace lk::compress {

class DemotionStore {
 public:
  DemotionStore(std::unique_ptr<KvTier> tier, int n_layers, int n_kv_heads, int head_dim,
                int page_tokens);

  // Stores the rows of tokens about to be evicted: positions [n] ascending, k, v [n][D] f32.
  Status demote(int layer, int kv_head, std::span<const int32_t> positions, const float* k,
                const float* v);
  // The demoted pages of (layer, kv_head) with the highest Quest bound for the query group
  // q [group][D], until max_tokens are covered, as one f32 run in position order (empty when
  // nothing is demoted). The run points into a buffer of this (layer, kv_head), valid until
  // its next recall; calls for different heads may run concurrently.
  Result<KvRun> recall(int layer, int kv_head, const float* q, int group, int64_t max_tokens);

  int64_t demoted_tokens(int layer, int kv_head) const;
  int64_t demoted_tokens() const;
  int64_t tier_bytes() const { return tier_->bytes_used(); }
  int64_t recalled_pages() const;
  int64_t recalled_tokens() const;
  int64_t recalled_bytes() const;
  std::string tier_name() const { return tier_->name(); }
  // Removes every page from the tier (a new sequence starts).
  void clear();

 private:
  struct Page {
    std::string key;
    std::vector<int32_t> positions;
    PageBounds bounds;
  };
  struct Head {
    std::vector<Page> pages;
    std::vector<float> k, v;  // recall buffers [n][D]
    std::vector<int32_t> pos;
    int64_t recalled_pages = 0, recalled_tokens = 0, recalled_bytes = 0;
  };
  std::unique_ptr<KvTier> tier_;
  int n_kv_, D_, page_tokens_;
  int64_t next_id_ = 0;
  std::vector<Head> heads_;  // [layer * n_kv + head]
};

}  // namespace lk::compress
