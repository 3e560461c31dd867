#include "compress/token_methods.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace lk::compress {

namespace {

// The last n positions of held are protected.
std::vector<bool> protect_recent(std::span<const int32_t> held, int64_t n) {
  std::vector<bool> p(held.size(), false);
  const int64_t size = static_cast<int64_t>(held.size());
  for (int64_t i = std::max<int64_t>(0, size - n); i < size; ++i) p[i] = true;
  return p;
}

std::vector<float> board_scores(const ScoreBoard& b, int layer, int h,
                                std::span<const int32_t> held) {
  std::vector<float> s(held.size());
  for (size_t i = 0; i < held.size(); ++i) s[i] = b.get(layer, h, held[i]);
  return s;
}

// Mean over the group of query q's attention to key k.
float group_mean(const AttentionObservation& o, int64_t q, int64_t k) {
  return o.group_sum(q, k) / static_cast<float>(o.group);
}

}  // namespace

// --- StreamingLLM ---

std::vector<std::vector<int32_t>> StreamingLlmPolicy::select(const LayerState& st) {
  std::vector<std::vector<int32_t>> out(st.held.size());
  if (st.keep_per_head < 0) return out;
  for (size_t h = 0; h < st.held.size(); ++h) {
    auto held = st.held[h];
    const int64_t keep = st.keep_per_head;
    if (static_cast<int64_t>(held.size()) <= keep) continue;
    const int64_t sinks = std::min<int64_t>(c_.sinks, keep);
    const int64_t window = keep - sinks;
    const int64_t n = static_cast<int64_t>(held.size());
    for (int64_t i = sinks; i < n - window; ++i) out[h].push_back(held[i]);
  }
  return out;
}

// --- H2O ---

void H2oPolicy::observe(const AttentionObservation& o) {
  auto& m = board_.at(o.layer, o.kv_head);
  for (int64_t q = 0; q < o.n_queries(); ++q)
    for (int64_t k = 0; k < o.n_keys(); ++k) {
      const float s = o.group_sum(q, k);
      if (s != 0.0f) m[o.key_positions[k]] += s;
    }
  if (!c_.mean) return;
  auto& seen = seen_.at(o.layer, o.kv_head);
  for (int64_t q = 0; q < o.n_queries(); ++q)
    for (int64_t k = 0; k < o.n_keys() && o.key_positions[k] <= o.query_positions[q]; ++k)
      seen[o.key_positions[k]] += 1.0f;
}

std::vector<std::vector<int32_t>> H2oPolicy::select(const LayerState& st) {
  std::vector<std::vector<int32_t>> out(st.held.size());
  if (st.keep_per_head < 0) return out;
  for (size_t h = 0; h < st.held.size(); ++h) {
    auto held = st.held[h];
    const int64_t keep = st.keep_per_head;
    if (static_cast<int64_t>(held.size()) <= keep) continue;
    const int64_t recent = static_cast<int64_t>(std::floor(keep * c_.recent_fraction));
    std::vector<float> s = board_scores(board_, st.layer, static_cast<int>(h), held);
    if (c_.mean) {
      const std::vector<float> n = board_scores(seen_, st.layer, static_cast<int>(h), held);
      for (size_t i = 0; i < s.size(); ++i) s[i] = n[i] > 0 ? s[i] / n[i] : 0.0f;
    }
    out[h] = evict_all_but_top(held, s, protect_recent(held, recent), keep - recent);
    board_.forget(st.layer, static_cast<int>(h), out[h]);
    seen_.forget(st.layer, static_cast<int>(h), out[h]);
  }
  return out;
}

// --- TOVA ---

void TovaPolicy::observe(const AttentionObservation& o) {
  if (o.n_queries() == 0) return;
  auto& m = board_.at(o.layer, o.kv_head);
  m.clear();
  const int64_t q = o.n_queries() - 1;  // the current (last) query only
  for (int64_t k = 0; k < o.n_keys(); ++k) m[o.key_positions[k]] = group_mean(o, q, k);
}

std::vector<std::vector<int32_t>> TovaPolicy::select(const LayerState& st) {
  std::vector<std::vector<int32_t>> out(st.held.size());
  if (st.keep_per_head < 0) return out;
  for (size_t h = 0; h < st.held.size(); ++h) {
    auto held = st.held[h];
    if (static_cast<int64_t>(held.size()) <= st.keep_per_head) continue;
    // The newest token has no score from the query that produced it only when it arrived
    // after the observation; it is protected so the current token is never dropped.
    std::vector<bool> prot = protect_recent(held, 1);
    std::vector<float> s = board_scores(board_, st.layer, static_cast<int>(h), held);
    if (c_.layer_wide) {  // mean over the layer's kv heads of their group means
      const int n_kv = static_cast<int>(st.held.size());
      for (size_t i = 0; i < held.size(); ++i) {
        float sum = 0;
        for (int g = 0; g < n_kv; ++g) sum += board_.get(st.layer, g, held[i]);
        s[i] = sum / static_cast<float>(n_kv);
      }
    }
    out[h] = evict_all_but_top(held, s, prot, st.keep_per_head - 1);
  }
  return out;
}

// --- SnapKV / PyramidKV / AdaKV ---

std::vector<float> max_pool_1d(std::span<const float> s, int kernel) {
  const int64_t n = static_cast<int64_t>(s.size()), half = kernel / 2;
  std::vector<float> out(s.size());
  for (int64_t i = 0; i < n; ++i) {
    float m = s[i];
    for (int64_t j = std::max<int64_t>(0, i - half); j <= std::min<int64_t>(n - 1, i + half); ++j)
      m = std::max(m, s[j]);
    out[i] = m;
  }
  return out;
}

std::vector<float> avg_pool_1d(std::span<const float> s, int kernel) {
  const int64_t n = static_cast<int64_t>(s.size()), half = kernel / 2;
  std::vector<float> out(s.size());
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int64_t j = std::max<int64_t>(0, i - half); j <= std::min<int64_t>(n - 1, i + half); ++j)
      sum += s[j];
    out[i] = static_cast<float>(sum / static_cast<double>(2 * half + 1));
  }
  return out;
}

std::string SnapKvPolicy::name() const {
  switch (v_) {
    case SnapKvVariant::kPyramidKv:
      return "pyramidkv";
    case SnapKvVariant::kAdaKv:
      return "adakv";
    default:
      return "snapkv";
  }
}

void SnapKvPolicy::observe(const AttentionObservation& o) {
  if (o.phase != Phase::kPrefill) return;
  // Votes of the window queries for every key before the window, then pooled.
  const int64_t nq = std::min<int64_t>(o.n_queries(), c_.window);
  const int64_t q0 = o.n_queries() - nq;
  const int32_t first_window_pos = nq > 0 ? o.query_positions[q0] : INT32_MAX;
  std::vector<float> votes;
  std::vector<int32_t> pos;
  for (int64_t k = 0; k < o.n_keys(); ++k) {
    if (o.key_positions[k] >= first_window_pos) break;
    float v = 0;
    for (int64_t q = q0; q < o.n_queries(); ++q) v += group_mean(o, q, k);
    votes.push_back(v);
    pos.push_back(o.key_positions[k]);
  }
  std::vector<float> pooled =
      c_.avg_pool ? avg_pool_1d(votes, c_.kernel) : max_pool_1d(votes, c_.kernel);
  auto& m = board_.at(o.layer, o.kv_head);
  m.clear();
  for (size_t i = 0; i < pos.size(); ++i) m[pos[i]] = pooled[i];
}

int64_t SnapKvPolicy::layer_budget(int layer, int n_layers, int64_t avg) const {
  if (v_ != SnapKvVariant::kPyramidKv || n_layers <= 1 || avg <= c_.window) return avg;
  const double rest = static_cast<double>(avg - c_.window);
  const double min_num = rest / c_.pyramid_beta;
  const double max_num = 2.0 * rest - min_num;
  const double step = (max_num - min_num) / (n_layers - 1);
  return c_.window + static_cast<int64_t>(std::llround(max_num - layer * step));
}

std::vector<std::vector<int32_t>> SnapKvPolicy::select(const LayerState& st) {
  const size_t H = st.held.size();
  std::vector<std::vector<int32_t>> out(H);
  // SnapKV compresses the prompt once; tokens generated later are all kept.
  if (st.phase != Phase::kPrefill || st.keep_per_head < 0) return out;
  const int64_t keep = layer_budget(st.layer, st.n_layers, st.keep_per_head);
  const int64_t window = std::min<int64_t>(c_.window, keep);
  if (v_ != SnapKvVariant::kAdaKv) {
    for (size_t h = 0; h < H; ++h) {
      auto held = st.held[h];
      if (static_cast<int64_t>(held.size()) <= keep) continue;
      out[h] = evict_all_but_top(held, board_scores(board_, st.layer, static_cast<int>(h), held),
                                 protect_recent(held, window), keep - window);
    }
    return out;
  }
  // AdaKV: every head keeps its window and a floor; the rest of the layer's budget goes to
  // the highest scores over all heads.
  const int64_t per_head = keep - window;
  const int64_t floor_n = static_cast<int64_t>(std::floor(per_head * c_.ada_floor));
  struct Cand {
    float score;
    int32_t pos;
    size_t head;
  };
  std::vector<Cand> pool;
  std::vector<std::vector<bool>> kept(H);
  int64_t remaining = static_cast<int64_t>(H) * per_head;
  for (size_t h = 0; h < H; ++h) {
    auto held = st.held[h];
    std::vector<float> s = board_scores(board_, st.layer, static_cast<int>(h), held);
    kept[h].assign(held.size(), false);
    const int64_t n = static_cast<int64_t>(held.size());
    for (int64_t i = std::max<int64_t>(0, n - window); i < n; ++i) kept[h][i] = true;
    std::vector<size_t> order;
    for (int64_t i = 0; i < std::max<int64_t>(0, n - window); ++i) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (s[a] != s[b]) return s[a] > s[b];
      return held[a] > held[b];
    });
    for (size_t j = 0; j < order.size(); ++j) {
      if (static_cast<int64_t>(j) < floor_n) {
        kept[h][order[j]] = true;
        --remaining;
      } else {
        pool.push_back({s[order[j]], held[order[j]], h});
      }
    }
  }
  std::stable_sort(pool.begin(), pool.end(), [](const Cand& a, const Cand& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.pos != b.pos) return a.pos > b.pos;
    return a.head < b.head;
  });
  for (size_t j = 0; j < pool.size() && remaining > 0; ++j, --remaining) {
    auto held = st.held[pool[j].head];
    auto it = std::lower_bound(held.begin(), held.end(), pool[j].pos);
    kept[pool[j].head][it - held.begin()] = true;
  }
  for (size_t h = 0; h < H; ++h)
    for (size_t i = 0; i < st.held[h].size(); ++i)
      if (!kept[h][i]) out[h].push_back(st.held[h][i]);
  return out;
}

}  // namespace lk::compress
