// The paged KV manager: per-sequence page tables per (layer, kv-head) over a budgeted block
// pool, storage formats (float, int8, KIVI int4/int2 with a full-precision residual block),
// per-head eviction with compaction, fork with copy-on-write, a prefix index over token ids,
// and context switching to tiers (host, disk, Redis) on a transfer thread.
//
// It implements lk::KvCache, so the engine can use it in place of the contiguous cache.
// Plan / apply (DESIGN.md): plan_append() computes what a batch needs without side effects,
// can_admit() probes capacity, apply() reserves every block the batch will need (or fails
// with kOutOfMemory and changes nothing), after which append() cannot run out of memory.
// append() on a sequence without a reservation plans and applies its own layer first, so a
// failed append also stores nothing.
//
// Threading: every public method takes the manager's lock; swap_out/swap_in return futures
// completed by the transfer thread, which copies block bytes without the lock (the blocks of
// a sequence in flight are pinned: appends/evictions on it fail with kUnavailable).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "core/timer.h"
#include "kv/block_pool.h"
#include "kv/kv_serialize.h"
#include "kv/kv_view.h"
#include "kv/prefix_index.h"
#include "kv/tier.h"

namespace lk {

struct KvManagerConfig {
  int n_layers = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int block_tokens = 16;             // tokens per block (the KIVI group size for int4/int2)
  KvFormat format = KvFormat::kF16;  // format of full blocks
  KvFormat residual_format = KvFormat::kF16;  // KIVI: recent tokens until a group fills
  int64_t budget_bytes = int64_t{1} << 30;    // device pool budget
  std::string model_digest;                   // snapshots from another model are refused
  bool prefix_cache = true;                   // register full blocks for prefix reuse
  const Clock* clock = nullptr;               // LRU ages (SteadyClock when null)
  // Mixed precision by age (compress `mixed`): reencode_older() moves blocks that left the
  // recent window into this format (int8, int4 or int2; `format` must then be f32/f16/bf16).
  // Unset: every block stays in `format` (and the KIVI residual format).
  std::optional<KvFormat> old_format;

  Status validate() const;
};

// One sequence's demand in a batch: n_tokens new positions.
struct AppendRequest {
  SeqId seq = 0;
  int32_t n_tokens = 0;
};

// What a batch needs, computed without side effects. Valid until the next mutation.
struct AppendPlan {
  struct Item {
    SeqId seq;
    int32_t head;    // layer * n_kv_heads + kv_head
    int32_t n_main;  // new blocks of the storage format
    int32_t n_tail;  // new blocks of the residual format (KIVI) / copy-on-write copies
  };
  std::vector<Item> items;
  int64_t blocks_needed = 0;
  int64_t bytes_needed = 0;
  uint64_t epoch = 0;
};

// Result of a swap-in: ok, or an error with recompute_required set when the tier copy was
// lost or corrupt — the sequence is then empty (length 0, tokens kept: tokens(seq)) and the
// caller must re-run prefill from its tokens. Never is wrong data served.
struct SwapInResult {
  Status status;
  bool recompute_required = false;
};

enum class SeqState { kResident, kSwappingOut, kSwappedOut, kSwappingIn };

// Bytes by tier, sequence and (layer, head), for metrics.
struct KvUsage {
  int64_t budget_bytes = 0;
  int64_t used_bytes = 0;  // device blocks in use (data + params)
  int64_t held_bytes = 0;  // used + cached free storage
  int64_t meta_bytes = 0;  // explicit position arrays
  int64_t blocks_in_use = 0;
  int64_t prefix_only_bytes = 0;              // blocks only the prefix index holds (reclaimable)
  std::map<std::string, int64_t> tier_bytes;  // "device" and each tier
  std::vector<int64_t> head_bytes;            // [layer * n_kv_heads + head], shared once
};

class KvManager final : public KvCache {
 public:
  // Use create(): it validates the config.
  static Result<std::unique_ptr<KvManager>> create(const KvManagerConfig& config);
  ~KvManager() override;

  const KvManagerConfig& config() const { return cfg_; }

  // --- lk::KvCache ---
  // plan_append + apply for the batch (retried when another thread made the plan stale),
  // then append_tokens for each entry. kOutOfMemory names the budget and what is missing.
  Status prepare(std::span<const SeqTokens> batch) override;
  Status append(SeqId seq, int layer, std::span<const int32_t> positions, const float* k,
                const float* v) override;
  KvHeadView view(SeqId seq, int layer, int kv_head) const override;
  int64_t seq_length(SeqId seq) const override;
  void release(SeqId seq) override;

  // --- plan / apply ---
  Result<AppendPlan> plan_append(std::span<const AppendRequest> batch) const;
  // True when the plan fits the budget (counting reclaimable prefix-cache blocks).
  bool can_admit(const AppendPlan& plan) const;
  // Reserves the plan's blocks. kOutOfMemory (nothing changed) when they do not fit;
  // kInvalidArgument when the plan is stale (the cache changed since it was made).
  Status apply(const AppendPlan& plan);

  // --- sequences ---
  bool contains(SeqId seq) const;
  std::vector<SeqId> seqs() const;
  SeqState state(SeqId seq) const;
  // Token ids of the sequence (for prefix registration and recompute). append_tokens()
  // adds them; the engine calls it before appending their K/V.
  Status append_tokens(SeqId seq, std::span<const int32_t> tokens);
  std::vector<int32_t> tokens(SeqId seq) const;
  // dst shares all of src's blocks (copy-on-write on the next write). dst must not exist.
  Status fork(SeqId src, SeqId dst);
  // Per-head eviction: drops the tokens at these positions from (seq, layer, kv_head).
  // Blocks are compacted (no holes) and adjacent partial blocks merged, so memory is freed.
  Status evict(SeqId seq, int layer, int kv_head, std::span<const int32_t> positions);
  // Tokens held by one head (after evictions).
  int64_t head_tokens(SeqId seq, int layer, int kv_head) const;

  // --- mixed precision by age (config().old_format) ---
  // Re-encodes into the old format every block of (seq, layer, kv_head) still in the main
  // format whose tokens all have positions < `before` — except the head's last block, where
  // appends go. Each such block gets a new block of the old format (tokens decoded and
  // re-quantized: KIVI K per channel over the block's tokens) and is released, so used_bytes
  // drops by block_bytes(format) - block_bytes(old_format) per block (a shared block is
  // copied: its other holders keep the original). Re-encoded blocks always precede the main
  // format ones. Returns the blocks re-encoded; kInvalidArgument when the cache has no old
  // format; kOutOfMemory when no old-format block fits (blocks done so far stay, each whole).
  Result<int64_t> reencode_older(SeqId seq, int layer, int kv_head, int64_t before);
  // Blocks of `format` the sequence references (over all heads).
  int64_t seq_blocks(SeqId seq, KvFormat format) const;

  // --- prefix reuse ---
  // Tokens of `tokens` whose KV is in the prefix index (a multiple of block_tokens), at most
  // max_tokens. No side effects (LRU order is not touched).
  int64_t match_prefix(std::span<const int32_t> tokens, int64_t max_tokens) const;
  // Creates seq (must not exist) sharing the matched prefix blocks of `tokens` (at most
  // max_tokens); returns the number of tokens reused. Sets the sequence's tokens to those.
  Result<int64_t> adopt_prefix(SeqId seq, std::span<const int32_t> tokens, int64_t max_tokens);
  // Drops prefix-index entries nobody else references, oldest first, until `bytes` are free
  // in the pool (or nothing evictable is left). Returns the bytes freed.
  int64_t evict_prefix_cache(int64_t bytes);
  int64_t prefix_entries() const;

  // --- tiers and context switching ---
  // Registers a tier by its name() ("host", "disk", "redis", ...). The prefix index spills
  // evicted chains to spill_tier (when set) so resent conversations find them there.
  Status add_tier(std::unique_ptr<KvTier> tier);
  Status set_prefix_spill_tier(const std::string& name);
  KvTier* tier(const std::string& name) const;
  // Serializes seq to the tier on the transfer thread, then frees its device blocks.
  // On failure the sequence stays resident, unchanged.
  std::future<Status> swap_out(SeqId seq, const std::string& tier);
  // Reads seq back from its tier, verifying every block's checksum. The tier copy is removed
  // on the transfer thread just after the future is ready (wait_transfers() waits for it).
  std::future<SwapInResult> swap_in(SeqId seq);
  // Blocks until every queued transfer has finished.
  void wait_transfers();

  // --- snapshots ---
  // Saves seq (resident) to a file: formats, positions, tokens, model digest, checksums;
  // written to a temp file and renamed.
  Status save_snapshot(SeqId seq, const std::string& path);
  // Restores a snapshot as sequence `seq` (must not exist). Refuses a snapshot written for
  // another model (kInvalidArgument naming both digests) or another cache shape/format.
  Status load_snapshot(const std::string& path, SeqId seq);

  // --- accounting ---
  KvUsage usage() const;
  int64_t seq_bytes(SeqId seq) const;  // device bytes of the blocks seq references
  int64_t block_bytes(KvFormat f) const { return pool_.block_bytes(f); }
  // Aborts when page tables, reference counts, pool and prefix index disagree.
  void check_invariants() const;

 private:
  struct HeadTable {
    std::vector<BlockId> blocks;    // in position order; KIVI: residual block last
    std::vector<BlockId> reserved;  // allocated by apply(), any format
    int64_t n_tokens = 0;
  };
  struct Seq {
    std::vector<HeadTable> heads;    // [n_layers * n_kv_heads]
    std::vector<int64_t> layer_len;  // positions appended per layer
    std::vector<int32_t> tokens;
    SeqState state = SeqState::kResident;
    bool evicted = false;        // a token was evicted: blocks no longer prefix-shareable
    int64_t registered = 0;      // full blocks registered in the prefix index
    uint64_t chain_hash = 0;     // chain hash after `registered` blocks
    std::string tier, tier_key;  // where it lives while swapped out
    int64_t swapped_length = 0;  // length while swapped out
    bool release_pending = false;
  };

  explicit KvManager(const KvManagerConfig& config);

  Seq& seq_mut(SeqId id);
  const Seq* find(SeqId id) const;
  Seq& get_or_create(SeqId id);
  Status check_resident(SeqId id, const Seq& s, const char* op) const;
  HeadTable& head(Seq& s, int layer, int kv_head) {
    return s.heads[layer * cfg_.n_kv_heads + kv_head];
  }
  bool kivi() const { return kv_format_is_kivi(cfg_.format); }
  KvFormat tail_format() const { return kivi() ? cfg_.residual_format : cfg_.format; }

  const Clock& clock() const { return cfg_.clock ? *cfg_.clock : steady_; }
  // New blocks (main, tail) a head needs for n more tokens.
  std::pair<int32_t, int32_t> head_need(const HeadTable& h, int64_t n) const;
  // Takes a block of format f from the head's reservation or the pool.
  Result<BlockId> take_block(HeadTable& h, KvFormat f);
  // Adds to h.reserved the blocks for n more tokens (recorded in *added for rollback).
  Status reserve_locked(HeadTable& h, int64_t n,
                        std::vector<std::pair<HeadTable*, BlockId>>* added);
  void rollback(std::vector<std::pair<HeadTable*, BlockId>>& added);
  Result<BlockId> pool_alloc(KvFormat f);  // evicts prefix-cache LRU blocks when needed
  void append_head(HeadTable& h, std::span<const int32_t> positions, const float* k, const float* v,
                   int64_t stride);
  void flush_residual(HeadTable& h);
  BlockId make_exclusive(HeadTable& h, size_t index);  // copy-on-write; pre-reserved
  void merge_partial_blocks(HeadTable& h, const std::unordered_set<BlockId>& touched);
  void free_head(HeadTable& h);
  void free_seq_blocks(Seq& s);
  void register_prefix(Seq& s);
  bool prefix_evictable(const PrefixEntry& e) const;
  int64_t reclaimable_bytes() const;
  int64_t evict_prefix_locked(int64_t bytes);
  static std::string spill_key(uint64_t hash);
  bool spill_entry(PrefixEntry& e);     // writes the entry's blocks to the spill tier
  Status load_spilled(PrefixEntry& e);  // reads them back (checksums verified)

  SeqImage image_of(const Seq& s) const;
  // Installs a parsed image as seq's blocks: allocates, copies + verifies every block.
  // The lock is held throughout (lock == nullptr) or released for the copy (swap-in).
  Status install_image(SeqId id, const SeqImage& im, std::unique_lock<std::mutex>* lock);
  // Leading full blocks of an image whose prefix the index holds on device (shared on install).
  int64_t shareable_prefix_blocks(const SeqImage& im) const;
  Status check_image_shape(const SeqImage& im, const std::string& what, StatusCode code) const;
  void mark_lost(SeqId id);

  void transfer_loop();
  void enqueue(std::function<void()> job);

  KvManagerConfig cfg_;
  SteadyClock steady_;
  mutable std::mutex mu_;
  BlockPool pool_;
  PrefixIndex prefix_;
  std::unordered_map<SeqId, Seq> seqs_;
  uint64_t epoch_ = 0;
  std::map<std::string, std::unique_ptr<KvTier>> tiers_;
  std::string spill_tier_;
  std::unordered_multiset<BlockId> inflight_blocks_;  // allocated by a swap-in, not installed

  std::mutex q_mu_;
  std::condition_variable q_cv_, idle_cv_;
  std::deque<std::function<void()>> queue_;
  int busy_ = 0;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace lk
