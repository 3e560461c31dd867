#include "kv/prefix_index.h"

#include <algorithm>

#include "core/check.h"

namespace lk {

namespace {
inline uint64_t mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}
}  // namespace

uint64_t PrefixIndex::chain_hash(uint64_t parent, std::span<const int32_t> block_tokens) const {
  uint64_t h = mix(parent ^ 0x9e3779b97f4a7c15ull) ^ mix(salt_ + 0x632be59bd9b4e019ull);
  for (int32_t t : block_tokens) h = mix(h ^ static_cast<uint32_t>(t)) + 0x9e3779b97f4a7c15ull;
  return h == 0 ? 1 : h;
}

PrefixEntry* PrefixIndex::find(uint64_t hash) {
  auto it = entries_.find(hash);
  return it == entries_.end() ? nullptr : &it->second;
}
const PrefixEntry* PrefixIndex::find(uint64_t hash) const {
  auto it = entries_.find(hash);
  return it == entries_.end() ? nullptr : &it->second;
}

PrefixEntry& PrefixIndex::insert(PrefixEntry entry, double now) {
  LK_CHECK_MSG(!entries_.count(entry.hash), "prefix entry {:#x} exists", entry.hash);
  if (entry.parent) {
    PrefixEntry* p = find(entry.parent);
    LK_CHECK_MSG(p != nullptr, "parent {:#x} missing", entry.parent);
    p->children.push_back(entry.hash);
  }
  entry.last_used = now;
  lru_.insert({now, entry.hash});
  const uint64_t h = entry.hash;
  return entries_.emplace(h, std::move(entry)).first->second;
}

std::vector<BlockId> PrefixIndex::erase(uint64_t hash) {
  auto it = entries_.find(hash);
  LK_CHECK(it != entries_.end());
  LK_CHECK_MSG(it->second.children.empty(), "erasing prefix entry {:#x} with children", hash);
  if (it->second.parent) {
    PrefixEntry* p = find(it->second.parent);
    LK_CHECK(p != nullptr);
    auto& c = p->children;
    c.erase(std::find(c.begin(), c.end(), hash));
  }
  lru_.erase({it->second.last_used, hash});
  std::vector<BlockId> blocks = std::move(it->second.blocks);
  entries_.erase(it);
  return blocks;
}

void PrefixIndex::touch(uint64_t hash, double now) {
  PrefixEntry* e = find(hash);
  LK_CHECK(e != nullptr);
  lru_.erase({e->last_used, hash});
  e->last_used = now;
  lru_.insert({now, hash});
}

std::vector<uint64_t> PrefixIndex::lru_order() const {
  std::vector<uint64_t> out;
  out.reserve(lru_.size());
  for (const auto& [t, h] : lru_) out.push_back(h);
  return out;
}

void PrefixIndex::check_invariants() const {
  LK_CHECK_MSG(lru_.size() == entries_.size(), "LRU has {} of {} entries", lru_.size(),
               entries_.size());
  for (const auto& [h, e] : entries_) {
    LK_CHECK(e.hash == h);
    LK_CHECK_MSG(lru_.count({e.last_used, h}), "entry {:#x} missing from LRU", h);
    LK_CHECK_MSG(e.resident() != e.blocks.empty(), "entry {:#x} resident/blocks mismatch", h);
    if (e.parent) {
      const PrefixEntry* p = find(e.parent);
      LK_CHECK_MSG(p != nullptr, "entry {:#x} has no parent", h);
      LK_CHECK(std::count(p->children.begin(), p->children.end(), h) == 1);
    }
    for (uint64_t c : e.children) {
      const PrefixEntry* ce = find(c);
      LK_CHECK_MSG(ce != nullptr && ce->parent == h, "child {:#x} of {:#x} broken", c, h);
    }
  }
}

}  // namespace lk
