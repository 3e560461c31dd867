// Discrete-event simulation of many users' multi-round sessions on D replicas (each a
// tensor-parallel group of the deployment's devices) with a KV memory budget: continuous
// batching with batch-aware step cost (weights read once per step for the whole batch, KV
// per sequence), chunked prefill, FIFO admission control under the budget, and context
// switching over the host link (idle sessions offloaded — lazily when memory is needed, or
// eagerly at round end — and fetched back when their user returns).
//
// Step and transfer costs come from cost_model.h, so one user on an idle device reproduces
// the analyzer's closed forms. Deterministic for a given seed (own RNG transforms, no
// std::*_distribution, whose output differs between standard libraries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/cost_model.h"

namespace lk {

enum class ArrivalProcess { kAllAtOnce, kPoisson, kUniform };
enum class LengthDistribution { kFixed, kUniform, kLogNormal };
enum class SwapPolicy { kLazy, kEager };

struct SimConfig {
  ModelSpec model;
  Deployment deploy;
  CompressionPlan plan;
  int users = 20;
  int devices = 1;  // replicas; a session stays on the replica it starts on
  ArrivalProcess arrival = ArrivalProcess::kAllAtOnce;
  double arrival_rate_per_h = 60;  // kPoisson
  double arrival_window_s = 600;   // kUniform: arrivals spread over [0, window)
  LengthDistribution length = LengthDistribution::kFixed;
  int64_t context_tokens = 4000;                     // fixed, or the log-normal median
  int64_t context_min = 1000, context_max = 100000;  // kUniform bounds, and clamps
  double length_sigma = 0.5;                         // kLogNormal: sigma of ln(tokens)
  int64_t question_tokens = 50;
  int64_t gen_tokens = 250;
  int rounds = 3;
  double think_s = 60;
  bool think_exponential = false;  // exponential think times with mean think_s
  int64_t chunk_tokens = 8192;     // prefill tokens per step, shared by prefilling sequences
  int max_batch = 256;             // sequences per step at most
  SwapPolicy swap = SwapPolicy::kLazy;
  uint64_t seed = 1;
  size_t timeline_points = 2000;  // samples kept for the timeline plot (0 = none)
};

struct Percentiles {
  double p50 = 0, p99 = 0, mean = 0, max = 0;
  size_t n = 0;
};

struct TimelineSample {
  double t = 0;
  double kv_bytes = 0;       // KV resident on all replicas (incl. reservations)
  int running = 0;           // sequences in prefill or decode
  int waiting = 0;           // questions waiting for admission
  int resident_idle = 0;     // thinking sessions whose KV stays on the device
  double swapped_bytes = 0;  // cumulative bytes moved over the links
};

struct SimResult {
  int sessions_completed = 0;
  int sessions_rejected = 0;  // could never fit the KV budget alone
  double makespan_s = 0;      // last completion
  double sessions_per_hour = 0;
  Percentiles ttft_s;         // question ready → first token (queue + switch + prefill)
  Percentiles tpot_s;         // decode time per output token, per round
  Percentiles switch_s;       // rounds that waited on transfers: transfer stall
  Percentiles queue_s;        // question ready → admitted (excluding transfers)
  double util_compute = 0;    // FLOP done ÷ (peak FLOP/s × makespan × replicas)
  double util_bandwidth = 0;  // bytes read ÷ (bandwidth × makespan × replicas)
  double util_memory = 0;     // time-mean (weights + KV) ÷ capacity
  double util_link = 0;       // link busy time ÷ (makespan × replicas)
  int64_t swaps_out = 0, swaps_in = 0;
  double bytes_swapped = 0;
  int max_running = 0;
  int max_resident = 0;  // sessions with KV on one replica at once, at most
  int64_t steps = 0;
  double kv_budget_bytes = 0;  // per replica
  std::vector<TimelineSample> timeline;
};

// Validates the configuration (naming the flag on error) and runs the simulation.
Result<SimResult> simulate(const SimConfig& config);

}  // namespace lk
