#include "engine/bench.h"

#include <algorithm>
#include <random>

#include "core/parallel.h"
#include "core/timer.h"
#include "engine/forward.h"
#include "kv/contiguous_cache.h"

namespace lk {

namespace {

// Appends `depth` tokens of random K/V (positions 0..depth-1) to seq in every layer.
Status fill_depth(KvCache* cache, const ModelSpec& s, SeqId seq, int64_t depth) {
  const int64_t chunk = 256, kv_dim = int64_t{s.n_kv_heads} * s.head_dim;
  std::vector<float> k(chunk * kv_dim), v(chunk * kv_dim);
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto& x : k) x = dist(rng);
  for (auto& x : v) x = dist(rng);
  std::vector<int32_t> pos(chunk);
  for (int64_t t0 = 0; t0 < depth; t0 += chunk) {
    const int64_t n = std::min(chunk, depth - t0);
    for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(t0 + i);
    for (int l = 0; l < s.n_layers; ++l) {
      LK_RETURN_IF_ERROR(
          cache->append(seq, l, std::span<const int32_t>(pos.data(), n), k.data(), v.data()));
    }
  }
  return Status::ok();
}

// Projection FLOPs (multiply-adds x2, classifier excluded) per prompt token of an
// n_prompt-token prefill as the forward runs it: the last layer's output projection and FFN
// only for the one row whose logits are kept.
double matmul_flop_per_token(const ModelSpec& s, int64_t n_prompt) {
  const double d = s.d_model, q = double(s.n_heads) * s.head_dim,
               kv = double(s.n_kv_heads) * s.head_dim;
  const double qkv = d * q + 2 * d * kv, rest = q * d + 3.0 * d * s.ffn_dim;
  return 2.0 * (s.n_layers * qkv + (s.n_layers - 1) * rest + rest / double(n_prompt));
}

}  // namespace

Result<BenchReport> run_bench(const Model& model, const BenchOptions& o) {
  const ModelSpec& s = model.spec;
  if (o.n_prompt < 1 || o.n_gen < 1) return invalid_argument("-p and -n must be >= 1");
  BenchReport rep;
  rep.threads = num_threads();
  if (o.measure_machine) {
    rep.bandwidth = measure_read_bandwidth();
    rep.gemm = measure_sgemm_peak();
  }
  std::vector<int32_t> prompt(o.n_prompt);
  for (int i = 0; i < o.n_prompt; ++i)
    prompt[i] = static_cast<int32_t>((i * 7919 + 13) % s.vocab_size);
  const double weight_bytes = static_cast<double>(model.weight_bytes_per_token());

  for (int64_t depth : o.depths) {
    if (depth < 0) return invalid_argument("--depth must be >= 0 (got {})", depth);
  }
  // Warm-up, as llama-bench does before its timed runs: one untimed prefill of the prompt, so
  // the first timed run does not pay the first touch of the mmap'd weights (page faults).
  {
    LK_ASSIGN_OR_RETURN(auto cache,
                        contiguous_cache_create(s.n_layers, s.n_kv_heads, s.head_dim, o.kv_format));
    cache->reserve(0, o.n_prompt);
    Forward fwd(model, cache.get(), ForwardOptions{o.chunk});
    std::vector<float> logits;
    SeqBatch b{0, prompt, false};
    LK_RETURN_IF_ERROR(fwd.forward(std::span<const SeqBatch>(&b, 1), &logits));
  }

  for (int64_t depth : o.depths) {
    BenchRow row;
    row.depth = depth;
    row.weight_bytes_per_token = weight_bytes;
    for (int r = 0; r < o.reps; ++r) {
      // pp: n_prompt tokens on top of `depth`.
      {
        LK_ASSIGN_OR_RETURN(
            auto cache, contiguous_cache_create(s.n_layers, s.n_kv_heads, s.head_dim, o.kv_format));
        cache->reserve(0, depth + o.n_prompt);
        LK_RETURN_IF_ERROR(fill_depth(cache.get(), s, 0, depth));
        Forward fwd(model, cache.get(), ForwardOptions{o.chunk});
        std::vector<float> logits;
        SeqBatch b{0, prompt, false};
        Timer t;
        LK_RETURN_IF_ERROR(fwd.forward(std::span<const SeqBatch>(&b, 1), &logits));
        const double sec = t.seconds();
        row.prefill_tok_s = std::max(row.prefill_tok_s, o.n_prompt / sec);
        // attention: QK^T and PV, 2 FLOP each per (query head, visible token, dim)
        const double visible =
            double(depth) * o.n_prompt + double(o.n_prompt) * (o.n_prompt + 1) / 2;
        const double attn = 4.0 * s.n_layers * s.n_heads * s.head_dim * visible;
        row.prefill_flop_per_token = matmul_flop_per_token(s, o.n_prompt) + attn / o.n_prompt +
                                     2.0 * s.d_model * s.vocab_size / o.n_prompt;
      }
      // tg: n_gen decode steps on top of `depth` (+1 token of prompt to start from).
      {
        LK_ASSIGN_OR_RETURN(
            auto cache, contiguous_cache_create(s.n_layers, s.n_kv_heads, s.head_dim, o.kv_format));
        cache->reserve(0, depth + o.n_gen + 1);
        LK_RETURN_IF_ERROR(fill_depth(cache.get(), s, 0, depth));
        Forward fwd(model, cache.get(), ForwardOptions{o.chunk});
        std::vector<float> logits;
        int32_t tok = prompt[0];
        SeqBatch first{0, std::span<const int32_t>(&tok, 1), false};
        LK_RETURN_IF_ERROR(fwd.forward(std::span<const SeqBatch>(&first, 1), &logits));  // warm-up
        // The bandwidth this decode is compared with, measured just before it: on a shared
        // machine the one measured at start-up can be minutes (and a different load) away.
        BandwidthResult bw;
        if (o.measure_machine) bw = measure_read_bandwidth(int64_t{512} << 20, 3);
        int64_t kv_bytes = 0;
        Timer t;
        for (int i = 0; i < o.n_gen; ++i) {
          tok = prompt[(i + 1) % o.n_prompt];
          SeqBatch b{0, std::span<const int32_t>(&tok, 1), false};
          LK_RETURN_IF_ERROR(fwd.forward(std::span<const SeqBatch>(&b, 1), &logits));
          kv_bytes += fwd.stats().kv_bytes_read;
        }
        const double sec = t.seconds();
        row.decode_tok_s = std::max(row.decode_tok_s, o.n_gen / sec);
        row.kv_bytes_per_token = static_cast<double>(kv_bytes) / o.n_gen;
        if (bw.bytes_per_second > 0) {
          const double pct = 100.0 * (row.weight_bytes_per_token + row.kv_bytes_per_token) *
                             (o.n_gen / sec) / bw.bytes_per_second;
          if (pct > row.decode_roofline_pct) {
            row.decode_roofline_pct = pct;
            row.decode_bandwidth = bw.bytes_per_second;
          }
        }
      }
    }
    if (rep.gemm.flops_per_second > 0) {
      row.prefill_peak_pct =
          100.0 * row.prefill_flop_per_token * row.prefill_tok_s / rep.gemm.flops_per_second;
    }
    rep.rows.push_back(row);
  }
  return rep;
}

}  // namespace lk
