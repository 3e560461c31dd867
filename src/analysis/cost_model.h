// The theoretical peak cost model of long-context serving (FRAMEWORK.md): pure functions of
// a model, a deployment, a workload and a compression plan. Shared by `longkv analyze`, the
// session simulator and the engine's predictions, so every number is computed in one place.
//
// Units: bytes, seconds, FLOP; "GB" in reports is 1e9 bytes (GiB shown beside it).
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "analysis/compression.h"
#include "analysis/hardware.h"
#include "model/model_spec.h"

namespace lk {

// Hardware as deployed: a tensor-parallel group of tp devices, at given efficiencies.
struct Deployment {
  HardwareSpec hw;
  int tp = 1;                // tensor parallelism: memory, FLOP/s, bandwidth × tp; link not
  double weight_bits = 16;   // bits per weight element
  double kv_bits = 16;       // bits per KV element before compression
  double compute_eff = 1.0;  // achieved fraction of peak FLOP/s (1 = theoretical peak)
  double bw_eff = 1.0;       // achieved fraction of peak bandwidth
  double link_eff = 1.0;     // achieved fraction of the catalog's effective link rate
  double d_attn = 0;         // attention width in the prefill formula (0 = heads × head_dim)

  double flops() const { return hw.flops * tp * compute_eff; }
  double bw() const { return hw.bw * tp * bw_eff; }
  double mem() const { return hw.mem_bytes * tp; }
  // FRAMEWORK.md: tensor parallelism does not multiply the host link.
  double link() const { return hw.link * link_eff; }
};

// One user's session: a document (plus first question), then follow-up rounds.
struct Workload {
  int64_t context_tokens = 4000;  // round 1 prompt: document + first question
  int64_t question_tokens = 50;   // each follow-up question
  int64_t gen_tokens = 250;       // tokens generated per round (one "screen")
  int rounds = 3;                 // rounds per session (1 = a single question)
  double think_s = 60;            // user reading and thinking between rounds
};

// --- Pure building blocks -------------------------------------------------------------

double weight_bytes(const ModelSpec& m, double weight_bits);
// Weight bytes read by one forward step over `batch` sequences: dense models read all
// weights; MoE models read the shared part plus the experts the batch routes to, taking
// each token's top-k as uniformly random (expected distinct experts).
double weight_bytes_read(const ModelSpec& m, double weight_bits, double batch);
// Uncompressed KV bytes per token (all layers, K and V).
double kv_bytes_per_token(const ModelSpec& m, double kv_bits);
// Attention width of the prefill formula: heads × head_dim unless overridden.
double attention_width(const ModelSpec& m, const Deployment& d);
// FLOP to prefill n_new tokens after n_past cached ones:
//   n_new × 2 × active_params + 2 × layers × d_attn × n_new × (2 n_past + n_new) × attn_factor
// With n_past = 0 this is FRAMEWORK.md's n × (2 params + 2 layers n d_attn); chunks add up
// exactly to the whole (Σ c_i (2 p_i + c_i) = n²).
double prefill_flop(const ModelSpec& m, double d_attn, double n_new, double n_past,
                    double attn_factor = 1.0);
// FLOP of one decode token at position ctx (matmuls + attention over ctx).
double decode_flop_per_token(const ModelSpec& m, double d_attn, double ctx);
// FRAMEWORK.md's decode latency: tokens × (weight bytes + KV bytes) / bandwidth.
double decode_seconds(double tokens, double weight_read_bytes, double kv_read_bytes, double bw);
// Context switch: (KV out + KV in) / link bandwidth.
double switch_seconds(double kv_out_bytes, double kv_in_bytes, double link);

// --- One analysis point ---------------------------------------------------------------

struct Metrics {
  int64_t context_tokens = 0;
  double weight_bytes = 0;
  double free_bytes = 0;             // device memory left for KV (may be negative)
  double kv_bytes_per_token = 0;     // after compression, at this context
  double kv_bytes_per_session = 0;   // at context_tokens
  double kv_bytes_session_peak = 0;  // after the last round
  double compression_factor = 1;     // memory kept (1 = none)
  double concurrency = 0;            // free / kv_bytes_per_session (fractional)
  int64_t concurrency_sessions = 0;  // whole sessions that fit at their peak size
  double prefill_flop = 0;
  double prefill_s = 0;           // round 1, alone on the device
  double decode_s = 0;            // round 1's gen_tokens at batch 1
  double tpot_s = 0;              // decode_s / gen_tokens
  double switch_s = 0;            // one session out + one in, at context_tokens
  double critical_intensity = 0;  // FLOP/s ÷ bandwidth
  // Session throughput: the bound of each resource and the best of two strategies
  // (swap idle sessions to the host between rounds, or keep them resident).
  double sessions_per_hour = 0;
  std::string bound;         // memory | compute | link
  bool swap_idle = true;     // the better strategy swaps idle sessions out
  double sph_memory = 0;     // slots turned over: C × 3600 / time resident
  double sph_compute = 0;    // FLOP per session vs FLOP/s
  double sph_bandwidth = 0;  // bytes read per session at batch C vs bandwidth
  double sph_link = std::numeric_limits<double>::infinity();  // swap bytes vs link
  double session_active_s = 0;  // a session's on-device time at batch C
};

// Validates the inputs (naming the field on error) and computes every metric.
Result<Metrics> analyze_point(const ModelSpec& m, const Deployment& d, const Workload& w,
                              const CompressionPlan& plan);

// Checks a model spec is usable for pricing (positive shapes), naming the field.
Status model_validate(const ModelSpec& m);

}  // namespace lk
