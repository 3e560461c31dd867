#include "analysis/cost_model.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lk {

double weight_bytes(const ModelSpec& m, double weight_bits) {
  return m.total_params() * weight_bits / 8.0;
}

double weight_bytes_read(const ModelSpec& m, double weight_bits, double batch) {
  if (!m.is_moe() || m.n_experts <= m.n_experts_active) return weight_bytes(m, weight_bits);
  const double total = m.total_params(), active = m.active_params();
  const double e = m.n_experts, k = m.n_experts_active;
  const double per_expert = (total - active) / (e - k);  // one expert, all layers
  const double shared = active - k * per_expert;
  // Expected distinct experts hit when `batch` tokens each pick k of e uniformly.
  const double distinct = e * (1.0 - std::pow(1.0 - k / e, std::max(1.0, batch)));
  return (shared + distinct * per_expert) * weight_bits / 8.0;
}

double kv_bytes_per_token(const ModelSpec& m, double kv_bits) {
  return static_cast<double>(m.n_layers) *
         static_cast<double>(m.kv_elements_per_token_per_layer()) * kv_bits / 8.0;
}

double attention_width(const ModelSpec& m, const Deployment& d) {
  return d.d_attn > 0 ? d.d_attn : static_cast<double>(m.n_heads) * m.head_dim;
}

double prefill_flop(const ModelSpec& m, double d_attn, double n_new, double n_past,
                    double attn_factor) {
  return n_new * 2.0 * m.active_params() +
         2.0 * m.n_layers * d_attn * n_new * (2.0 * n_past + n_new) * attn_factor;
}

double decode_flop_per_token(const ModelSpec& m, double d_attn, double ctx) {
  return 2.0 * m.active_params() + 4.0 * m.n_layers * d_attn * ctx;
}

double decode_seconds(double tokens, double weight_read_bytes, double kv_read_bytes, double bw) {
  return tokens * (weight_read_bytes + kv_read_bytes) / bw;
}

double switch_seconds(double kv_out_bytes, double kv_in_bytes, double link) {
  return (kv_out_bytes + kv_in_bytes) / link;
}

Status model_validate(const ModelSpec& m) {
  auto pos = [&](const char* field, double v) -> Status {
    if (!(v > 0) || !std::isfinite(v))
      return invalid_argument("model {}: {} must be positive (got {})", m.name, field, v);
    return Status::ok();
  };
  LK_RETURN_IF_ERROR(pos("num_hidden_layers", m.n_layers));
  LK_RETURN_IF_ERROR(pos("hidden_size", m.d_model));
  LK_RETURN_IF_ERROR(pos("num_attention_heads", m.n_heads));
  LK_RETURN_IF_ERROR(pos("head_dim", m.head_dim));
  if (!m.is_mla()) LK_RETURN_IF_ERROR(pos("num_key_value_heads", m.n_kv_heads));
  if (!m.is_mla() && m.n_kv_heads > m.n_heads)
    return invalid_argument("model {}: num_key_value_heads {} exceeds num_attention_heads {}",
                            m.name, m.n_kv_heads, m.n_heads);
  LK_RETURN_IF_ERROR(pos("parameter count", m.total_params()));
  if (m.is_moe() && (m.n_experts_active <= 0 || m.n_experts_active > m.n_experts))
    return invalid_argument("model {}: num_experts_per_tok must be in [1, {}] (got {})", m.name,
                            m.n_experts, m.n_experts_active);
  return Status::ok();
}

namespace {

Status validate(const Deployment& d, const Workload& w) {
  auto pos = [](const char* field, double v, double max) -> Status {
    if (!(v > 0) || !std::isfinite(v) || v > max)
      return invalid_argument("{} must be in (0, {:g}] (got {:g})", field, max, v);
    return Status::ok();
  };
  LK_RETURN_IF_ERROR(pos("--flops", d.hw.flops, 1e20));
  LK_RETURN_IF_ERROR(pos("--mem", d.hw.mem_bytes, 1e16));
  LK_RETURN_IF_ERROR(pos("--bw", d.hw.bw, 1e16));
  LK_RETURN_IF_ERROR(pos("--link", d.hw.link, 1e16));
  LK_RETURN_IF_ERROR(pos("--tp", d.tp, 4096));
  LK_RETURN_IF_ERROR(pos("--weight-dtype bits", d.weight_bits, 64));
  LK_RETURN_IF_ERROR(pos("--kv-dtype bits", d.kv_bits, 64));
  LK_RETURN_IF_ERROR(pos("--mfu", d.compute_eff, 1));
  LK_RETURN_IF_ERROR(pos("--bw-eff", d.bw_eff, 1));
  LK_RETURN_IF_ERROR(pos("--link-eff", d.link_eff, 1));
  if (d.d_attn < 0 || d.d_attn > 1e7)
    return invalid_argument("--d-attn must be ≥ 0 (got {:g})", d.d_attn);
  LK_RETURN_IF_ERROR(pos("--context", static_cast<double>(w.context_tokens), 1e10));
  if (w.question_tokens < 0 || w.question_tokens > 1e9)
    return invalid_argument("--question must be in [0, 1e9] (got {})", w.question_tokens);
  LK_RETURN_IF_ERROR(pos("--gen", static_cast<double>(w.gen_tokens), 1e8));
  LK_RETURN_IF_ERROR(pos("--rounds", w.rounds, 10000));
  if (!(w.think_s >= 0) || w.think_s > 1e7)
    return invalid_argument("--think must be in [0, 1e7] seconds (got {:g})", w.think_s);
  return Status::ok();
}

}  // namespace

Result<Metrics> analyze_point(const ModelSpec& m, const Deployment& d, const Workload& w,
                              const CompressionPlan& plan) {
  LK_RETURN_IF_ERROR(model_validate(m));
  LK_RETURN_IF_ERROR(validate(d, w));
  LK_RETURN_IF_ERROR(compression_validate(plan));

  Metrics r;
  const double ctx = static_cast<double>(w.context_tokens);
  const double kvpt_raw = kv_bytes_per_token(m, d.kv_bits);
  const double d_attn = attention_width(m, d);
  const double attn_f = plan.prefill_attention_factor();
  auto kv_at = [&](double tokens) {
    return kvpt_raw * tokens * plan.memory_factor(static_cast<int64_t>(tokens), d.kv_bits);
  };
  auto kv_read_at = [&](double tokens) {
    return kvpt_raw * tokens * plan.read_factor(static_cast<int64_t>(tokens), d.kv_bits);
  };

  r.context_tokens = w.context_tokens;
  r.weight_bytes = weight_bytes(m, d.weight_bits);
  r.free_bytes = d.mem() - r.weight_bytes;
  r.compression_factor = plan.memory_factor(w.context_tokens, d.kv_bits);
  r.kv_bytes_per_session = kv_at(ctx);
  r.kv_bytes_per_token = r.kv_bytes_per_session / ctx;
  const double peak_tokens = ctx + w.rounds * static_cast<double>(w.gen_tokens) +
                             (w.rounds - 1) * static_cast<double>(w.question_tokens);
  r.kv_bytes_session_peak = kv_at(peak_tokens);
  r.concurrency = r.free_bytes > 0 ? r.free_bytes / r.kv_bytes_per_session : 0.0;
  r.concurrency_sessions =
      r.free_bytes > 0 ? static_cast<int64_t>(std::floor(r.free_bytes / r.kv_bytes_session_peak))
                       : 0;

  const double w1 = weight_bytes_read(m, d.weight_bits, 1);
  // Prefill is compute-bound above the critical intensity; below it the weight read bounds.
  auto prefill_s = [&](double n_new, double n_past) {
    return std::max(prefill_flop(m, d_attn, n_new, n_past, attn_f) / d.flops(),
                    (weight_bytes_read(m, d.weight_bits, n_new) + kv_read_at(n_past)) / d.bw());
  };
  r.prefill_flop = prefill_flop(m, d_attn, ctx, 0, attn_f);
  r.prefill_s = prefill_s(ctx, 0);
  r.decode_s = decode_seconds(static_cast<double>(w.gen_tokens), w1, kv_read_at(ctx), d.bw());
  r.tpot_s = r.decode_s / static_cast<double>(w.gen_tokens);
  r.switch_s = switch_seconds(r.kv_bytes_per_session, r.kv_bytes_per_session, d.link());
  r.critical_intensity = d.flops() / d.bw();

  // Session throughput over a saturated pool of users, per resource.
  const double slots = static_cast<double>(r.concurrency_sessions);
  const double gen = static_cast<double>(w.gen_tokens);
  double flop = 0, active_s = 0, bytes = 0, swap_bytes = 0;
  double past = 0;
  for (int round = 0; round < w.rounds; ++round) {
    const double n_new = round == 0 ? ctx : static_cast<double>(w.question_tokens);
    flop += prefill_flop(m, d_attn, n_new, past, attn_f);
    active_s += n_new > 0 ? prefill_s(n_new, past) : 0.0;
    past += n_new;
    const double mid = past + gen / 2;  // KV grows through the round: its mean length
    flop += gen * decode_flop_per_token(m, d_attn, mid);
    if (slots >= 1) {
      const double b = slots;
      const double step =
          std::max(b * decode_flop_per_token(m, d_attn, mid) / d.flops(),
                   (weight_bytes_read(m, d.weight_bits, b) + b * kv_read_at(mid)) / d.bw());
      active_s += gen * step;
      bytes += gen * (weight_bytes_read(m, d.weight_bits, b) / b + kv_read_at(mid));
    }
    past += gen;
    if (round + 1 < w.rounds) swap_bytes += 2.0 * kv_at(past);  // out after, in before next
  }
  r.session_active_s = active_s;
  r.sph_compute = 3600.0 * d.flops() / flop;
  if (slots < 1) {
    r.sessions_per_hour = 0;
    r.bound = "memory";
    r.sph_memory = 0;
    r.sph_bandwidth = 0;
    return r;
  }
  r.sph_bandwidth = 3600.0 * d.bw() / bytes;
  const double sph_swap_mem = 3600.0 * slots / active_s;
  const double sph_link =
      swap_bytes > 0 ? 3600.0 * d.link() / swap_bytes : std::numeric_limits<double>::infinity();
  const double swap = std::min({sph_swap_mem, r.sph_compute, sph_link});
  const double sph_res_mem = 3600.0 * slots / (active_s + (w.rounds - 1) * w.think_s);
  const double resident = std::min(sph_res_mem, r.sph_compute);
  r.swap_idle = swap > resident;
  if (r.swap_idle) {
    r.sph_memory = sph_swap_mem;
    r.sph_link = sph_link;
    r.sessions_per_hour = swap;
    r.bound = swap == r.sph_compute ? "compute" : swap == sph_link ? "link" : "memory";
  } else {
    r.sph_memory = sph_res_mem;
    r.sph_link = std::numeric_limits<double>::infinity();
    r.sessions_per_hour = resident;
    r.bound = resident == r.sph_compute ? "compute" : "memory";
  }
  return r;
}

}  // namespace lk
