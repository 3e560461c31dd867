#include "kv/block_pool.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/check.h"

namespace lk {

namespace {
constexpr KvFormat kAllFormats[kNumKvFormats] = {KvFormat::kF32,  KvFormat::kF16,  KvFormat::kBF16,
                                                 KvFormat::kInt8, KvFormat::kInt4, KvFormat::kInt2};
int64_t round_up(int64_t n, int64_t a) {
  return (n + a - 1) / a * a;
}
}  // namespace

BlockPool::BlockPool(int block_tokens, int head_dim, int64_t budget_bytes, int64_t max_positions)
    : block_tokens_(block_tokens),
      head_dim_(head_dim),
      budget_(budget_bytes),
      max_positions_(max_positions),
      iota_(new int32_t[static_cast<size_t>(max_positions)]) {
  for (KvFormat f : kAllFormats)
    layouts_[static_cast<int>(f)] = block_layout(f, block_tokens, head_dim);
}

BlockPool::~BlockPool() {
  for (auto& p : pools_)
    for (uint8_t* d : p.data) std::free(d);
}

BlockMeta& BlockPool::meta_mut(BlockId id) {
  LK_CHECK_MSG(id >= 0 && id < static_cast<BlockId>(metas_.size()) && metas_[id].ref_count > 0,
               "block {} is not allocated", id);
  return metas_[id];
}

const BlockMeta& BlockPool::meta(BlockId id) const {
  LK_CHECK_MSG(id >= 0 && id < static_cast<BlockId>(metas_.size()) && metas_[id].ref_count > 0,
               "block {} is not allocated", id);
  return metas_[id];
}

void BlockPool::release_one_warm() {
  for (KvFormat f : kAllFormats) {
    FormatPool& p = pools_[static_cast<int>(f)];
    if (p.warm.empty()) continue;
    const int32_t s = p.warm.back();
    p.warm.pop_back();
    std::free(p.data[s]);
    p.data[s] = nullptr;
    p.cold.push_back(s);
    held_ -= layout(f).bytes();
    return;
  }
}

Result<BlockId> BlockPool::alloc(KvFormat f) {
  const BlockLayout& l = layout(f);
  FormatPool& p = pools_[static_cast<int>(f)];
  if (used_ + l.bytes() > budget_) {
    return make_error(StatusCode::kOutOfMemory,
                      "KV block pool budget exhausted: {} of {} bytes used, a {} block needs {}",
                      used_, budget_, kv_format_name(f), l.bytes());
  }
  int32_t slot;
  if (!p.warm.empty()) {
    slot = p.warm.back();
    p.warm.pop_back();
  } else {
    while (held_ + l.bytes() > budget_) release_one_warm();
    uint8_t* d = static_cast<uint8_t*>(std::aligned_alloc(64, round_up(l.data_bytes, 64)));
    if (!d) return make_error(StatusCode::kOutOfMemory, "out of host memory for a KV block");
    if (!p.cold.empty()) {
      slot = p.cold.back();
      p.cold.pop_back();
      p.data[slot] = d;
    } else {
      slot = static_cast<int32_t>(p.data.size());
      p.data.push_back(d);
      if (slot / kParamChunk >= static_cast<int32_t>(p.param_chunks.size()) && l.param_bytes > 0)
        p.param_chunks.emplace_back(new uint8_t[kParamChunk * l.param_bytes]());
    }
    held_ += l.bytes();
  }
  BlockId id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<BlockId>(metas_.size());
    metas_.emplace_back();
  }
  BlockMeta& m = metas_[id];
  m.format = f;
  m.n_used = 0;
  m.ref_count = 1;
  m.storage = slot;
  m.first_pos = 0;
  m.positions.reset();
  ++p.in_use;
  ++in_use_;
  used_ += l.bytes();
  return id;
}

void BlockPool::ref(BlockId id) {
  ++meta_mut(id).ref_count;
}

void BlockPool::unref(BlockId id) {
  BlockMeta& m = meta_mut(id);
  if (--m.ref_count > 0) return;
  FormatPool& p = pools_[static_cast<int>(m.format)];
  p.warm.push_back(m.storage);
  --p.in_use;
  --in_use_;
  used_ -= layout(m.format).bytes();
  if (m.positions) {
    meta_bytes_ -= 4 * block_tokens_;
    m.positions.reset();
  }
  m.storage = -1;
  m.n_used = 0;
  free_ids_.push_back(id);
}

uint8_t* BlockPool::data(BlockId id) {
  const BlockMeta& m = meta(id);
  return pools_[static_cast<int>(m.format)].data[m.storage];
}
const uint8_t* BlockPool::data(BlockId id) const {
  const BlockMeta& m = meta(id);
  return pools_[static_cast<int>(m.format)].data[m.storage];
}
uint8_t* BlockPool::params(BlockId id) {
  const BlockMeta& m = meta(id);
  const BlockLayout& l = layout(m.format);
  if (l.param_bytes == 0) return nullptr;
  return pools_[static_cast<int>(m.format)].param_chunks[m.storage / kParamChunk].get() +
         (m.storage % kParamChunk) * l.param_bytes;
}
const uint8_t* BlockPool::params(BlockId id) const {
  return const_cast<BlockPool*>(this)->params(id);
}

void BlockPool::ensure_iota(int64_t end) {
  end = std::min(end, max_positions_);
  for (; iota_filled_ < end; ++iota_filled_)
    iota_[iota_filled_] = static_cast<int32_t>(iota_filled_);
}

void BlockPool::materialize_positions(BlockMeta& m) {
  if (m.positions) return;
  m.positions.reset(new int32_t[static_cast<size_t>(block_tokens_)]);
  for (int i = 0; i < block_tokens_; ++i) m.positions[i] = m.first_pos + i;
  meta_bytes_ += 4 * block_tokens_;
}

const int32_t* BlockPool::positions(BlockId id) const {
  const BlockMeta& m = meta(id);
  if (m.positions) return m.positions.get();
  return iota_.get() + m.first_pos;
}

int32_t BlockPool::position(BlockId id, int slot) const {
  const BlockMeta& m = meta(id);
  return m.positions ? m.positions[slot] : m.first_pos + slot;
}

void BlockPool::push_position(BlockId id, int32_t pos) {
  BlockMeta& m = meta_mut(id);
  LK_CHECK_MSG(m.n_used < block_tokens_, "block {} full", id);
  if (m.n_used == 0 && !m.positions && pos >= 0 && pos < max_positions_) {
    m.first_pos = pos;
  } else if (m.positions || pos != m.first_pos + m.n_used || pos < 0 || pos >= max_positions_) {
    if (m.n_used == 0 && !m.positions) m.first_pos = 0;
    materialize_positions(m);
    m.positions[m.n_used] = pos;
  }
  ++m.n_used;
  if (!m.positions) ensure_iota(static_cast<int64_t>(m.first_pos) + m.n_used);
}

void BlockPool::set_slot_position(BlockId id, int slot, int32_t pos) {
  BlockMeta& m = meta_mut(id);
  LK_CHECK(slot >= 0 && slot < block_tokens_);
  if (!m.positions && pos == m.first_pos + slot) return;
  materialize_positions(m);
  m.positions[slot] = pos;
}

void BlockPool::set_n_used(BlockId id, int n) {
  BlockMeta& m = meta_mut(id);
  LK_CHECK(n >= 0 && n <= block_tokens_);
  m.n_used = n;
  if (n == 0 && m.positions) {  // an emptied block is consecutive again
    m.positions.reset();
    meta_bytes_ -= 4 * block_tokens_;
    m.first_pos = 0;
  }
}

void BlockPool::copy_positions(BlockId dst, BlockId src, int n) {
  const BlockMeta& s = meta(src);
  BlockMeta& d = meta_mut(dst);
  d.n_used = n;
  if (s.positions) {
    materialize_positions(d);
    std::copy(s.positions.get(), s.positions.get() + n, d.positions.get());
  } else {
    if (d.positions) {
      d.positions.reset();
      meta_bytes_ -= 4 * block_tokens_;
    }
    d.first_pos = s.first_pos;
  }
}

void BlockPool::set_positions(BlockId id, int n, int32_t first_pos,
                              const int32_t* explicit_positions) {
  BlockMeta& m = meta_mut(id);
  LK_CHECK(n >= 0 && n <= block_tokens_);
  if (m.positions) {
    m.positions.reset();
    meta_bytes_ -= 4 * block_tokens_;
  }
  m.n_used = n;
  m.first_pos = 0;
  if (!explicit_positions && first_pos >= 0 &&
      static_cast<int64_t>(first_pos) + n <= max_positions_) {
    m.first_pos = first_pos;
    ensure_iota(static_cast<int64_t>(first_pos) + n);
    return;
  }
  materialize_positions(m);
  for (int i = 0; i < n; ++i)
    m.positions[i] = explicit_positions ? explicit_positions[i] : first_pos + i;
}

int32_t* BlockPool::explicit_positions(BlockId id) {
  BlockMeta& m = meta_mut(id);
  materialize_positions(m);
  return m.positions.get();
}

KvRun BlockPool::run(BlockId id) const {
  const BlockMeta& m = meta(id);
  return codec_run(layout(m.format), data(id), params(id), m.n_used, positions(id));
}

void BlockPool::trim() {
  for (KvFormat f : kAllFormats)
    while (!pools_[static_cast<int>(f)].warm.empty()) release_one_warm();
}

void BlockPool::check_invariants() const {
  int64_t used = 0, held = 0, meta_bytes = 0, in_use = 0;
  std::array<int64_t, kNumKvFormats> per_format{};
  std::vector<std::vector<char>> slot_owned(kNumKvFormats);
  for (int f = 0; f < kNumKvFormats; ++f) slot_owned[f].assign(pools_[f].data.size(), 0);
  for (BlockId id = 0; id < static_cast<BlockId>(metas_.size()); ++id) {
    const BlockMeta& m = metas_[id];
    if (m.ref_count == 0) continue;
    LK_CHECK_MSG(m.ref_count > 0, "block {} has negative ref count", id);
    const int f = static_cast<int>(m.format);
    LK_CHECK_MSG(m.storage >= 0 && m.storage < static_cast<int32_t>(pools_[f].data.size()),
                 "block {} storage {} out of range", id, m.storage);
    LK_CHECK_MSG(!slot_owned[f][m.storage], "storage {} of {} owned twice", m.storage, f);
    LK_CHECK_MSG(pools_[f].data[m.storage] != nullptr, "block {} has no storage", id);
    slot_owned[f][m.storage] = 1;
    LK_CHECK_MSG(m.n_used >= 0 && m.n_used <= block_tokens_, "block {} n_used {}", id, m.n_used);
    if (!m.positions)
      LK_CHECK_MSG(m.n_used == 0 || m.first_pos + m.n_used <= iota_filled_,
                   "block {} positions beyond iota", id);
    else
      meta_bytes += 4 * block_tokens_;
    used += layout(m.format).bytes();
    ++per_format[f];
    ++in_use;
  }
  int64_t n_free_ids = 0;
  for (BlockId id : free_ids_) {
    LK_CHECK_MSG(metas_[id].ref_count == 0, "free id {} is referenced", id);
    ++n_free_ids;
  }
  LK_CHECK_MSG(n_free_ids + in_use == static_cast<int64_t>(metas_.size()), "block ids leaked");
  held = used;
  for (int f = 0; f < kNumKvFormats; ++f) {
    const FormatPool& p = pools_[f];
    LK_CHECK_MSG(per_format[f] == p.in_use, "format {} in_use {} vs {}", f, p.in_use,
                 per_format[f]);
    for (int32_t s : p.warm) {
      LK_CHECK_MSG(!slot_owned[f][s] && p.data[s] != nullptr, "warm slot {} bad", s);
      slot_owned[f][s] = 2;
      held += layouts_[f].bytes();
    }
    for (int32_t s : p.cold) {
      LK_CHECK_MSG(!slot_owned[f][s] && p.data[s] == nullptr, "cold slot {} bad", s);
      slot_owned[f][s] = 3;
    }
    for (size_t s = 0; s < p.data.size(); ++s)
      LK_CHECK_MSG(slot_owned[f][s] != 0, "storage slot {} of format {} leaked", s, f);
  }
  LK_CHECK_MSG(used == used_, "used bytes {} vs counted {}", used_, used);
  LK_CHECK_MSG(held == held_, "held bytes {} vs counted {}", held_, held);
  LK_CHECK_MSG(meta_bytes == meta_bytes_, "meta bytes {} vs counted {}", meta_bytes_, meta_bytes);
  LK_CHECK_MSG(in_use == in_use_, "blocks in use {} vs {}", in_use_, in_use);
  LK_CHECK_MSG(held_ >= used_, "held {} below used {}", held_, used_);
}

}  // namespace lk
