// The engine's KV cache as chosen on the command line (longkv run, the eval backend): the
// paged, budgeted KvManager (default) or the contiguous cache, its storage format, byte
// budget and block size. Defaults: format f32 for f32 models else f16; 16 tokens per block
// (128 for the KIVI formats, whose block is the quantization group); a budget that holds
// exactly `max_tokens` tokens of each of `n_seqs` sequences. Bad values get kInvalidArgument
// naming the option and the valid choices; a budget too small for even one token per
// (layer, kv-head) is refused with the minimum.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "engine/model_weights.h"
#include "kv/kv_manager.h"
#include "kv/kv_view.h"

namespace lk {

struct KvCacheOptions {
  std::string cache = "paged";  // paged | contiguous
  std::string format = "auto";  // auto | f32 f16 bf16 int8 int4 (kivi4) int2 (kivi2)
  std::string budget;           // bytes (123, 64KiB, 512MiB, 2GiB, 1GB...); empty = default
  int block_tokens = 0;         // 0 = default (16; 128 for int4/int2)
  int64_t max_tokens = 0;       // tokens one sequence may reach (sizes the default budget)
  int n_seqs = 1;               // sequences the default budget holds at max_tokens
};

// The cache built from KvCacheOptions.
struct EngineKvCache {
  std::unique_ptr<KvCache> cache;
  KvManager* manager = nullptr;  // == cache.get() when paged, else null
  KvFormat format = KvFormat::kF16;
  int block_tokens = 0;          // paged only
  int64_t budget_bytes = 0;      // paged only
  std::string describe() const;  // e.g. "paged int8, 16-token blocks, budget 1.50 MiB"
};

// "123", "64KiB" = "64K", "512MiB" = "512M", "2GiB" = "2G", "1GB" (10^9), "4096B" -> bytes
// (> 0). kInvalidArgument naming
// `what` (the option) and the forms otherwise.
Result<int64_t> parse_byte_size(const std::string& text, const std::string& what);

// The storage format the options select for model m ("auto": f32 for f32 models, else f16).
Result<KvFormat> engine_kv_format(const Model& m, const std::string& name);

// Exact pool bytes one sequence of n tokens occupies in a manager of config c (no eviction):
// per (layer, kv-head) ceil(n / B) blocks, or for KIVI floor(n / B) groups + the residual.
int64_t paged_kv_bytes(const KvManagerConfig& c, int64_t n_tokens);

// A stable identity of the model's KV (shape, dtype, a hash of some weight bytes): the
// manager's model_digest, so snapshots and swapped copies of another model are refused.
std::string model_kv_digest(const Model& m);

// Builds the cache for model m.
Result<EngineKvCache> make_engine_kv_cache(const Model& m, const KvCacheOptions& options);

}  // namespace lk
