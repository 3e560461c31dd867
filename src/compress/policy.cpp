#include "compress/policy.h"

#include <algorithm>
#include <numeric>

#include "core/check.h"

namespace lk::compress {

std::vector<int32_t> evict_all_but_top(std::span<const int32_t> held, std::span<const float> scores,
                                       const std::vector<bool>& is_protected, int64_t k) {
  LK_CHECK(scores.size() == held.size() && is_protected.size() == held.size());
  std::vector<size_t> cand;
  for (size_t i = 0; i < held.size(); ++i)
    if (!is_protected[i]) cand.push_back(i);
  // Highest score first; among equal scores the later position first (kept first).
  std::stable_sort(cand.begin(), cand.end(), [&](size_t a, size_t b) {
    if (scores[a] != scores[b]) return scores[a] > scores[b];
    return held[a] > held[b];
  });
  const size_t keep =
      static_cast<size_t>(std::clamp<int64_t>(k, 0, static_cast<int64_t>(cand.size())));
  std::vector<int32_t> out;
  for (size_t j = keep; j < cand.size(); ++j) out.push_back(held[cand[j]]);
  std::sort(out.begin(), out.end());
  return out;
}

std::map<int32_t, float>& ScoreBoard::at(int layer, int kv_head) {
  return heads_[{layer, kv_head}];
}

float ScoreBoard::get(int layer, int kv_head, int32_t pos) const {
  auto h = heads_.find({layer, kv_head});
  if (h == heads_.end()) return 0.0f;
  auto it = h->second.find(pos);
  return it == h->second.end() ? 0.0f : it->second;
}

void ScoreBoard::forget(int layer, int kv_head, std::span<const int32_t> positions) {
  auto& m = at(layer, kv_head);
  for (int32_t p : positions) m.erase(p);
}

void ScoreBoard::clear() {
  heads_.clear();
}

}  // namespace lk::compress
