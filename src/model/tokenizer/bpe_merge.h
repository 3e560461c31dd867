// The merge loop shared by both tokenizer families: start from one symbol per character
// (SPM) or per byte (byte-level), repeatedly merge the adjacent pair with the best rank,
// leftmost first on ties, until no pair can merge. A heap of candidate pairs with lazy
// invalidation keeps it O(n log n) in the number of symbols, so a 128K-token SPM prompt
// (one long "word") stays fast. Same order as llama2.c run.c (highest score, leftmost),
// llama.cpp and HF tokenizers (lowest merge rank, leftmost).
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace lk::tok {

struct PairMerge {
  double rank = 0;      // lower merges first (SPM by score: -score)
  int32_t merged = -1;  // id of the merged token; -1 = this pair does not merge
};

// Merges `ids` in place. pair(a, b) says whether and how ids a, b merge.
template <typename PairFn>
void bpe_merge(std::vector<int32_t>& ids, const PairFn& pair) {
  const int n = static_cast<int>(ids.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);  // linked list over symbol positions; -1 = none
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = (i + 1 < n) ? i + 1 : -1;
  }
  struct Cand {
    double rank;
    int left;
    int32_t a, b, merged;
  };
  const auto worse = [](const Cand& x, const Cand& y) {
    return x.rank != y.rank ? x.rank > y.rank : x.left > y.left;
  };
  std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
  const auto consider = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    const int32_t a = ids[left], b = ids[next[left]];
    const PairMerge m = pair(a, b);
    if (m.merged >= 0) heap.push({m.rank, left, a, b, m.merged});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  std::vector<char> alive(n, 1);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const int r = next[c.left];
    // Stale when either side changed since the candidate was pushed.
    if (!alive[c.left] || r < 0 || ids[c.left] != c.a || ids[r] != c.b) continue;
    ids[c.left] = c.merged;
    alive[r] = 0;
    next[c.left] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.left;
    consider(prev[c.left]);
    consider(c.left);
  }
  int w = 0;
  for (int i = 0; i >= 0 && i < n; i = next[i]) ids[w++] = ids[i];
  ids.resize(w);
}

}  // namespace lk::tok
