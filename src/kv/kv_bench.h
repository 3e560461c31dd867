// Measurements behind `longkv bench-kv`: context-switch bandwidth of each tier next to that
// tier's raw bandwidth measured in the same run (memcpy; sequential file write+fsync / read
// in the cache directory; loopback Redis SET/GET of the same chunk sizes), and the memory
// check of a long session in a quantized format (manager accounting and process RSS).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "kv/kv_view.h"
#include "kv/tier.h"

namespace lk {

struct KvShape {
  int n_layers = 32;  // Llama-3.1-8B
  int n_kv_heads = 8;
  int head_dim = 128;
};

struct TierBenchOptions {
  std::string tier = "host";  // host | disk | redis
  KvShape shape;
  int64_t tokens = 2048;
  KvFormat format = KvFormat::kF16;
  int block_tokens = 16;
  int repeat = 3;         // repetitions (best and median reported)
  std::string cache_dir;  // disk tier directory (required for disk)
  bool fsync = true;      // disk: fsync before rename (raw write fsyncs too)
  RedisTierConfig redis;  // redis tier endpoint
};

struct TierBenchResult {
  std::string tier;
  int64_t bytes = 0;         // serialized bytes moved per swap
  double swap_out_gbps = 0;  // bytes / (swap_out call -> future ready)
  double swap_in_gbps = 0;
  double raw_out_gbps = 0;  // raw write of the same bytes to the medium
  double raw_in_gbps = 0;   // raw read back
  double raw_gbps = 0;      // min(raw_out, raw_in): the tier's raw bandwidth
  // Medians over the repetitions (the figures to compare per direction on a loaded host:
  // swap_out vs raw_out, swap_in vs raw_in).
  double median_swap_out_gbps = 0, median_swap_in_gbps = 0;
  double median_raw_out_gbps = 0, median_raw_in_gbps = 0;
};

Result<TierBenchResult> bench_tier(const TierBenchOptions& options);

struct MemCheckOptions {
  KvShape shape;
  int64_t tokens = 131072;
  KvFormat format = KvFormat::kInt4;
  int block_tokens = 128;
};

struct MemCheckResult {
  int64_t manager_bytes = 0;  // used + meta bytes by the manager's accounting
  int64_t f16_bytes = 0;      // the same session stored in f16 by the same manager's layout
  int64_t rss_delta = 0;      // process RSS growth while building the session
  double accounting_ratio = 0;
  double rss_ratio = 0;
};

Result<MemCheckResult> kv_mem_check(const MemCheckOptions& options);

// Resident set size of this process in bytes (/proc/self/statm).
int64_t process_rss_bytes();

}  // namespace lk
