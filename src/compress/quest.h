// Quest — Tang et al. 2024, "Quest: Query-Aware Sparsity for Efficient Long-Context LLM
// Inference" (arXiv 2406.10774). Each page (here: each run of the view, i.e. one KV block)
// keeps per-channel min and max of its keys; a query scores a page by the upper bound of
// q·k over the page, sum_d max(q_d * min_d, q_d * max_d), and attention reads only the top
// pages. Quest saves reads, not memory: every token stays in the cache (its report says so).
// With GQA the page score is the sum of the group's query heads' bounds.
#pragma once

#include <cstdint>
#include <vector>

#include "kv/kv_view.h"

namespace lk::compress {

struct PageBounds {
  std::vector<float> min, max;  // [head_dim] each
};

// Per-run (page) key bounds of a view.
std::vector<PageBounds> quest_page_bounds(const KvHeadView& v, int head_dim);

// Upper bound of q·k over a page for one query head q [head_dim].
float quest_page_score(const PageBounds& b, const float* q, int head_dim);

// Indices of the pages to read (ascending): the highest-scoring pages until max_tokens are
// covered; the last page (the newest tokens) is always read. q: [group][head_dim].
std::vector<int> quest_select_pages(const KvHeadView& v, const std::vector<PageBounds>& bounds,
                                    const float* q, int group, int head_dim, int64_t max_tokens);

// The view restricted to the selected pages (runs), in position order.
KvHeadView quest_restrict(const KvHeadView& v, const std::vector<int>& pages);

}  // namespace lk::compress
