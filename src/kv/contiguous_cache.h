// The simplest KvCache: per (sequence, layer, kv-head) one growing contiguous array of K
// and one of V in a float format (f32, f16 or bf16), so each view is a single run. No
// budget, paging or eviction — those belong to the paged manager (kv/kv_manager).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "kv/kv_view.h"

namespace lk {

class ContiguousKvCache final : public KvCache {
 public:
  // format must be kF32, kF16 or kBF16 (checked by contiguous_cache_create).
  ContiguousKvCache(int n_layers, int n_kv_heads, int head_dim, KvFormat format);

  Status append(SeqId seq, int layer, std::span<const int32_t> positions, const float* k,
                const float* v) override;
  KvHeadView view(SeqId seq, int layer, int kv_head) const override;
  int64_t seq_length(SeqId seq) const override;
  void release(SeqId seq) override;

  KvFormat format() const { return format_; }
  // Bytes of K and V stored for all sequences.
  int64_t bytes_used() const;
  // Reserves room for n tokens per (layer, head) of seq, so appends do not reallocate.
  void reserve(SeqId seq, int64_t n);
  // Every layer of every sequence holds the same number of tokens, positions ascending.
  void check_invariants() const;

 private:
  struct LayerStore {
    std::vector<int32_t> positions;       // [n]
    std::vector<std::vector<uint8_t>> k;  // [kv_head] -> [n][head_dim] elements
    std::vector<std::vector<uint8_t>> v;
  };
  struct SeqStore {
    std::vector<LayerStore> layers;
  };
  SeqStore& seq_store(SeqId seq);

  int n_layers_, n_kv_heads_, head_dim_;
  KvFormat format_;
  int elem_bytes_;
  std::unordered_map<SeqId, SeqStore> seqs_;
};

// Validated construction: an error names the bad format (valid: f32, f16, bf16).
Result<std::unique_ptr<ContiguousKvCache>> contiguous_cache_create(int n_layers, int n_kv_heads,
                                                                   int head_dim, KvFormat format);

}  // namespace lk
