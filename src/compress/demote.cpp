#include "compress/demote.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/check.h"

namespace lk::compress {

DemotionStore::DemotionStore(std::unique_ptr<KvTier> tier, int n_layers, int n_kv_heads,
                             int head_dim, int page_tokens)
    : tier_(std::move(tier)),
      n_kv_(n_kv_heads),
      D_(head_dim),
      page_tokens_(page_tokens),
      heads_(static_cast<size_t>(n_layers) * n_kv_heads) {
  LK_CHECK(tier_ && page_tokens_ > 0);
}

Status DemotionStore::demote(int layer, int kv_head, std::span<const int32_t> positions,
                             const float* k, const float* v) {
  Head& h = heads_[static_cast<size_t>(layer) * n_kv_ + kv_head];
  const int64_t n = static_cast<int64_t>(positions.size());
  const size_t row = static_cast<size_t>(D_) * 4;
  // Decode-time evictions come one token at a time: top up the newest page first (rewritten
  // whole in the tier) so pages stay page_tokens long and recall scores stay meaningful.
  if (n > 0 && !h.pages.empty() &&
      static_cast<int>(h.pages.back().positions.size()) < page_tokens_ &&
      h.pages.back().positions.back() < positions[0]) {
    Page last = h.pages.back();
    LK_ASSIGN_OR_RETURN(BytesPtr old, tier_->get(last.key));
    const int64_t m0 = static_cast<int64_t>(last.positions.size());
    if (old->size != static_cast<size_t>(m0) * (4 + 2 * row))
      return corrupt("demoted page '{}' has {} bytes", last.key, old->size);
    std::vector<int32_t> pos(last.positions);
    std::vector<float> kk(m0 * D_), vv(m0 * D_);
    std::memcpy(kk.data(), old->data.get() + m0 * 4, m0 * row);
    std::memcpy(vv.data(), old->data.get() + m0 * 4 + m0 * row, m0 * row);
    const int64_t take = std::min<int64_t>(page_tokens_ - m0, n);
    pos.insert(pos.end(), positions.begin(), positions.begin() + take);
    kk.insert(kk.end(), k, k + take * D_);
    vv.insert(vv.end(), v, v + take * D_);
    LK_RETURN_IF_ERROR(tier_->remove(last.key));
    h.pages.pop_back();
    LK_RETURN_IF_ERROR(demote(layer, kv_head, pos, kk.data(), vv.data()));
    if (take == n) return Status::ok();
    return demote(layer, kv_head, positions.subspan(take), k + take * D_, v + take * D_);
  }
  for (int64_t s = 0; s < n; s += page_tokens_) {
    const int64_t m = std::min<int64_t>(page_tokens_, n - s);
    BytesPtr b = tier_->allocate(static_cast<size_t>(m) * (4 + 2 * row));
    b->size = static_cast<size_t>(m) * (4 + 2 * row);
    uint8_t* p = b->data.get();
    std::memcpy(p, positions.data() + s, m * 4);
    std::memcpy(p + m * 4, k + s * D_, m * row);
    std::memcpy(p + m * 4 + m * row, v + s * D_, m * row);
    Page pg;
    pg.key = "demote:" + std::to_string(next_id_++);
    pg.positions.assign(positions.begin() + s, positions.begin() + s + m);
    pg.bounds.min.assign(D_, std::numeric_limits<float>::infinity());
    pg.bounds.max.assign(D_, -std::numeric_limits<float>::infinity());
    for (int64_t t = 0; t < m; ++t)
      for (int d = 0; d < D_; ++d) {
        const float x = k[(s + t) * D_ + d];
        pg.bounds.min[d] = std::min(pg.bounds.min[d], x);
        pg.bounds.max[d] = std::max(pg.bounds.max[d], x);
      }
    LK_RETURN_IF_ERROR(tier_->put(pg.key, std::move(b)));
    h.pages.push_back(std::move(pg));
  }
  return Status::ok();
}

Result<KvRun> DemotionStore::recall(int layer, int kv_head, const float* q, int group,
                                    int64_t max_tokens) {
  Head& h = heads_[static_cast<size_t>(layer) * n_kv_ + kv_head];
  KvRun run;
  run.format = KvFormat::kF32;
  if (h.pages.empty() || max_tokens <= 0) return run;
  std::vector<float> score(h.pages.size(), 0.0f);
  for (size_t i = 0; i < h.pages.size(); ++i)
    for (int g = 0; g < group; ++g)
      score[i] += quest_page_score(h.pages[i].bounds, q + int64_t{g} * D_, D_);
  std::vector<size_t> order(h.pages.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return score[a] > score[b]; });
  std::vector<size_t> pick;
  int64_t covered = 0;
  for (size_t i : order) {
    if (covered >= max_tokens) break;
    pick.push_back(i);
    covered += static_cast<int64_t>(h.pages[i].positions.size());
  }
  // Position order: pages hold disjoint ascending ranges of one head's evictions; sort by the
  // first position and merge (pages demoted at different times may interleave).
  struct Row {
    int32_t pos;
    const float *k, *v;
  };
  std::vector<BytesPtr> held;
  std::vector<Row> rows;
  const size_t row = static_cast<size_t>(D_) * 4;
  for (size_t i : pick) {
    LK_ASSIGN_OR_RETURN(BytesPtr b, tier_->get(h.pages[i].key));
    const int64_t m = static_cast<int64_t>(h.pages[i].positions.size());
    if (b->size != static_cast<size_t>(m) * (4 + 2 * row))
      return corrupt("demoted page '{}' has {} bytes, expected {}", h.pages[i].key, b->size,
                     m * (4 + 2 * row));
    const uint8_t* p = b->data.get();
    for (int64_t t = 0; t < m; ++t) {
      int32_t pos;
      std::memcpy(&pos, p + t * 4, 4);
      rows.push_back({pos, reinterpret_cast<const float*>(p + m * 4 + t * row),
                      reinterpret_cast<const float*>(p + m * 4 + m * row + t * row)});
    }
    h.recalled_bytes += static_cast<int64_t>(b->size);
    held.push_back(std::move(b));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.pos < b.pos; });
  h.pos.resize(rows.size());
  h.k.resize(rows.size() * D_);
  h.v.resize(rows.size() * D_);
  for (size_t i = 0; i < rows.size(); ++i) {
    h.pos[i] = rows[i].pos;
    std::memcpy(&h.k[i * D_], rows[i].k, row);
    std::memcpy(&h.v[i * D_], rows[i].v, row);
  }
  h.recalled_pages += static_cast<int64_t>(pick.size());
  h.recalled_tokens += static_cast<int64_t>(rows.size());
  run.n_tokens = static_cast<int32_t>(rows.size());
  run.k = h.k.data();
  run.v = h.v.data();
  run.positions = h.pos.data();
  return run;
}

int64_t DemotionStore::demoted_tokens(int layer, int kv_head) const {
  int64_t n = 0;
  for (const Page& p : heads_[static_cast<size_t>(layer) * n_kv_ + kv_head].pages)
    n += static_cast<int64_t>(p.positions.size());
  return n;
}

int64_t DemotionStore::demoted_tokens() const {
  int64_t n = 0;
  for (const Head& h : heads_)
    for (const Page& p : h.pages) n += static_cast<int64_t>(p.positions.size());
  return n;
}

int64_t DemotionStore::recalled_pages() const {
  int64_t n = 0;
  for (const Head& h : heads_) n += h.recalled_pages;
  return n;
}

int64_t DemotionStore::recalled_tokens() const {
  int64_t n = 0;
  for (const Head& h : heads_) n += h.recalled_tokens;
  return n;
}

int64_t DemotionStore::recalled_bytes() const {
  int64_t n = 0;
  for (const Head& h : heads_) n += h.recalled_bytes;
  return n;
}

void DemotionStore::clear() {
  for (Head& h : heads_) {
    for (const Page& p : h.pages) (void)tier_->remove(p.key);
    h = Head{};
  }
}

}  // namespace lk::compress
