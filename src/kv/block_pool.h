// The block pool: fixed-size KV blocks (B tokens of one (layer, kv-head), K and V, one
// storage format) under a byte budget. As in TensorRT-LLM's manager, a block id names
// metadata only (format, used slots, ref count, positions); storage lives in one pool per
// format (data area) with quantization parameters in a side array beside it.
//
// Properties: alloc and free are O(1) (free lists); a freed block's storage stays cached
// for its format and is released when another format needs the bytes; the budget bounds
// the storage held (data + params). Positions cost nothing while a block's positions are
// consecutive (views point into a shared iota array); a block made non-consecutive by
// eviction gets its own int32 [B] array, counted in meta_bytes() (it may exceed the budget
// by at most that, since eviction must never fail).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/status.h"
#include "kv/kv_codec.h"
#include "kv/kv_view.h"

namespace lk {

using BlockId = int32_t;
inline constexpr BlockId kNoBlock = -1;
inline constexpr int kNumKvFormats = 6;

struct BlockMeta {
  KvFormat format = KvFormat::kF32;
  int32_t n_used = 0;                    // filled slots [0, n_used)
  int32_t ref_count = 0;                 // 0 = free
  int32_t storage = -1;                  // slot index in the format's storage pool
  int32_t first_pos = 0;                 // positions are first_pos + i while `positions` is null
  std::unique_ptr<int32_t[]> positions;  // [B] explicit positions, or null (consecutive)
};

class BlockPool {
 public:
  // max_positions: size of the shared iota array (positions beyond it get explicit arrays).
  BlockPool(int block_tokens, int head_dim, int64_t budget_bytes, int64_t max_positions = 1 << 21);
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  int block_tokens() const { return block_tokens_; }
  int head_dim() const { return head_dim_; }
  const BlockLayout& layout(KvFormat f) const { return layouts_[static_cast<int>(f)]; }
  // Bytes one block of format f costs against the budget (data + params).
  int64_t block_bytes(KvFormat f) const { return layout(f).bytes(); }

  int64_t budget_bytes() const { return budget_; }
  void set_budget_bytes(int64_t b) { budget_ = b; }
  int64_t used_bytes() const { return used_; }        // storage of blocks in use
  int64_t held_bytes() const { return held_; }        // used + cached free storage
  int64_t meta_bytes() const { return meta_bytes_; }  // explicit position arrays
  int64_t free_bytes() const { return budget_ - used_; }
  int64_t blocks_in_use() const { return in_use_; }
  int64_t blocks_in_use(KvFormat f) const { return pools_[static_cast<int>(f)].in_use; }

  // A new block of format f, ref_count 1, no slots used. kOutOfMemory when the budget cannot
  // hold it (the pool is unchanged then).
  Result<BlockId> alloc(KvFormat f);
  void ref(BlockId id);
  // Drops one reference; the block is freed (storage cached, id reusable) at zero.
  void unref(BlockId id);

  const BlockMeta& meta(BlockId id) const;
  uint8_t* data(BlockId id);
  const uint8_t* data(BlockId id) const;
  uint8_t* params(BlockId id);
  const uint8_t* params(BlockId id) const;
  // Positions of the block's slots [n_used] (stable until the block is mutated).
  const int32_t* positions(BlockId id) const;
  int32_t position(BlockId id, int slot) const;

  // Slot bookkeeping (the caller writes the codes with kv_codec):
  // sets n_used; positions are given for the new slots [old n_used, n).
  void push_position(BlockId id, int32_t pos);  // appends one slot with this position
  void set_slot_position(BlockId id, int slot, int32_t pos);
  void set_n_used(BlockId id, int n);
  // Copies the positions of src's first n slots into dst (dst becomes n slots used).
  void copy_positions(BlockId dst, BlockId src, int n);
  // Sets n used slots with positions first_pos + i, or explicit[i] when explicit is non-null.
  void set_positions(BlockId id, int n, int32_t first_pos, const int32_t* explicit_positions);
  // The block's own positions array [B] (made explicit if it was consecutive), for a caller
  // that fills it in place (swap-in copies positions straight from the tier buffer) and then
  // calls set_n_used. Stable until the block is freed or set_positions/set_n_used(0) runs.
  int32_t* explicit_positions(BlockId id);

  // The run view of a block.
  KvRun run(BlockId id) const;

  // Releases all cached free storage (returns memory to the system).
  void trim();

  // Aborts when the free lists, storage and byte counters disagree.
  void check_invariants() const;

 private:
  struct FormatPool {
    std::vector<uint8_t*> data;                            // [slot] storage or null
    std::vector<std::unique_ptr<uint8_t[]>> param_chunks;  // kParamChunk slots each
    std::vector<int32_t> warm;                             // free slots that still hold storage
    std::vector<int32_t> cold;                             // free slots without storage
    int64_t in_use = 0;
  };
  static constexpr int kParamChunk = 256;

  BlockMeta& meta_mut(BlockId id);
  void release_one_warm();
  void ensure_iota(int64_t end);
  void materialize_positions(BlockMeta& m);

  int block_tokens_;
  int head_dim_;
  int64_t budget_;
  std::array<BlockLayout, kNumKvFormats> layouts_;
  std::array<FormatPool, kNumKvFormats> pools_;
  std::vector<BlockMeta> metas_;
  std::vector<BlockId> free_ids_;
  int64_t used_ = 0, held_ = 0, meta_bytes_ = 0, in_use_ = 0;
  int64_t max_positions_;
  std::unique_ptr<int32_t[]> iota_;  // iota_[i] == i for i < iota_filled_
  int64_t iota_filled_ = 0;
};

}  // namespace lk
