// Prefix index: chain hashes of full blocks over token ids (as vLLM / mistral.rs do) mapping
// a prefix to the blocks that hold its KV, one block per (layer, kv-head). Entry i's hash
// covers its parent's hash and its block of B token ids, so equal hashes mean equal whole
// prefixes; the tokens are stored too and compared, so a hash collision can never serve the
// wrong KV. Entries form a tree (parent -> children); LRU order by an injected clock.
// The index holds ids only; the manager owns the block references (one per entry block).
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kv/block_pool.h"

namespace lk {

struct PrefixEntry {
  uint64_t hash = 0;
  uint64_t parent = 0;          // 0: the root (first block of a prompt)
  std::vector<int32_t> tokens;  // the block's B token ids
  std::vector<BlockId> blocks;  // [n_layers * n_kv_heads]; empty while spilled
  std::string tier;             // tier holding the spilled copy ("" = resident)
  std::vector<uint64_t> children;
  double last_used = 0.0;
  bool resident() const { return tier.empty(); }
};

class PrefixIndex {
 public:
  // salt distinguishes caches whose blocks are not interchangeable (format, block size).
  explicit PrefixIndex(uint64_t salt = 0) : salt_(salt) {}
  void set_salt(uint64_t salt) { salt_ = salt; }

  uint64_t chain_hash(uint64_t parent, std::span<const int32_t> block_tokens) const;

  PrefixEntry* find(uint64_t hash);
  const PrefixEntry* find(uint64_t hash) const;
  // Inserts a new entry (its parent, when non-zero, must exist).
  PrefixEntry& insert(PrefixEntry entry, double now);
  // Erases a leaf entry (no children). Returns its blocks for the caller to unref.
  std::vector<BlockId> erase(uint64_t hash);
  void touch(uint64_t hash, double now);
  // All entries oldest first.
  std::vector<uint64_t> lru_order() const;
  size_t size() const { return entries_.size(); }
  const std::unordered_map<uint64_t, PrefixEntry>& entries() const { return entries_; }
  std::unordered_map<uint64_t, PrefixEntry>& entries_mut() { return entries_; }

  void check_invariants() const;

 private:
  uint64_t salt_;
  std::unordered_map<uint64_t, PrefixEntry> entries_;
  std::set<std::pair<double, uint64_t>> lru_;
};

}  // namespace lk
