// End-to-end speed of the engine on one model, llama-bench style: pp (prefill of n_prompt
// tokens) and tg (decode of n_gen tokens, one per step) at several context depths, with the
// roofline accounting of DESIGN.md: bytes read per decoded token (weights + the KV actually
// read) x tokens/s / the read bandwidth measured just before that decode, and prefill FLOP/s /
// measured sgemm peak. The depth is filled with synthetic K/V (speed does not depend on the
// values), so a 16K depth costs no 16K-token prefill.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "engine/model_weights.h"
#include "kernels/roofline.h"
#include "kv/kv_view.h"

namespace lk {

struct BenchOptions {
  std::vector<int64_t> depths = {0};
  int n_prompt = 512;  // pp
  int n_gen = 128;     // tg
  int reps = 1;        // best of
  int chunk = 512;     // prefill chunk size
  KvFormat kv_format = KvFormat::kF16;
  bool measure_machine = true;  // bandwidth and sgemm peak (seconds)
};

struct BenchRow {
  int64_t depth = 0;
  double prefill_tok_s = 0;
  double prefill_flop_per_token = 0;  // average over the pp tokens at this depth
  double prefill_peak_pct = 0;
  double decode_tok_s = 0;
  double weight_bytes_per_token = 0;
  double kv_bytes_per_token = 0;  // average over the tg tokens
  // % of the read bandwidth measured right before the decode (decode_bandwidth, bytes/s);
  // with reps > 1, the best rep's pair.
  double decode_roofline_pct = 0;
  double decode_bandwidth = 0;
};

struct BenchReport {
  BandwidthResult bandwidth;
  GemmPeakResult gemm;
  std::vector<BenchRow> rows;
  int threads = 0;
};

Result<BenchReport> run_bench(const Model& model, const BenchOptions& options);

}  // namespace lk
