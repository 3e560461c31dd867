#include "compress/quest.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "compress/observe.h"

namespace lk::compress {

std::vector<PageBounds> quest_page_bounds(const KvHeadView& v, int D) {
  std::vector<PageBounds> out;
  std::vector<float> k(D);
  for (const KvRun& r : v.runs) {
    PageBounds b;
    b.min.assign(D, std::numeric_limits<float>::infinity());
    b.max.assign(D, -std::numeric_limits<float>::infinity());
    for (int t = 0; t < r.n_tokens; ++t) {
      run_key(r, t, D, k.data());
      for (int d = 0; d < D; ++d) {
        b.min[d] = std::min(b.min[d], k[d]);
        b.max[d] = std::max(b.max[d], k[d]);
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

float quest_page_score(const PageBounds& b, const float* q, int D) {
  float s = 0;
  for (int d = 0; d < D; ++d) s += std::max(q[d] * b.min[d], q[d] * b.max[d]);
  return s;
}

std::vector<int> quest_select_pages(const KvHeadView& v, const std::vector<PageBounds>& bounds,
                                    const float* q, int group, int D, int64_t max_tokens) {
  const int n = static_cast<int>(v.runs.size());
  std::vector<int> out;
  if (n == 0) return out;
  std::vector<float> score(n, 0.0f);
  for (int p = 0; p < n; ++p)
    for (int g = 0; g < group; ++g) score[p] += quest_page_score(bounds[p], q + g * D, D);
  std::vector<int> order(n - 1);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (score[a] != score[b]) return score[a] > score[b];
    return a > b;  // ties: the newer page
  });
  int64_t tokens = v.runs[n - 1].n_tokens;
  out.push_back(n - 1);
  for (int p : order) {
    if (tokens + v.runs[p].n_tokens > max_tokens) continue;
    tokens += v.runs[p].n_tokens;
    out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

KvHeadView quest_restrict(const KvHeadView& v, const std::vector<int>& pages) {
  KvHeadView out;
  for (int p : pages) out.runs.push_back(v.runs[p]);
  return out;
}

}  // namespace lk::compress
