#include "analysis/errata.h"

#include <cmath>
#include <limits>

#include "core/check.h"
#include "model/presets.h"

namespace lk {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

Metrics point(const ModelSpec& m, const Deployment& d, int64_t ctx) {
  Workload w;
  w.context_tokens = ctx;
  w.rounds = 1;
  auto r = analyze_point(m, d, w, CompressionPlan{});
  LK_CHECK_MSG(r.is_ok(), "{}", r.status().to_string());
  return *r;
}

}  // namespace

ModelSpec framework_model() {
  ModelSpec m;
  m.name = "Yi-34B-200K (FRAMEWORK.md)";
  m.n_layers = 60;
  m.d_model = 7168;
  m.n_heads = 56;
  m.n_kv_heads = 8;
  m.head_dim = 128;
  m.ffn_dim = 20480;
  m.vocab_size = 64000;
  m.max_context = 200000;
  m.n_params = 34e9;
  return m;
}

Deployment framework_deployment() {
  Deployment d;
  d.hw.id = "a100-80gb-framework";
  d.hw.name = "A100 80GB as FRAMEWORK.md states it";
  d.hw.flops = 312e12;
  d.hw.mem_bytes = 80e9;
  d.hw.bw = 2e12;
  d.hw.link = d.hw.link_peak = 20e9;
  d.hw.link_name = "PCIe (effective)";
  d.d_attn = 4096;
  return d;
}

std::vector<Erratum> framework_errata() {
  const ModelSpec fm = framework_model();
  const Deployment fd = framework_deployment();
  const ModelSpec yi = *model_preset("yi-34b-200k");
  Deployment ad;
  ad.hw = *hardware_lookup("a100-80gb");
  ModelSpec fm_mha = fm, yi_mha = yi;
  fm_mha.n_kv_heads = yi_mha.n_kv_heads = 32;
  Deployment fd2 = fd, ad2 = ad;
  fd2.tp = ad2.tp = 2;

  const Metrics f4 = point(fm, fd, 4000), f50 = point(fm, fd, 50000), f100 = point(fm, fd, 100000),
                f200 = point(fm, fd, 200000), fmha = point(fm_mha, fd, 50000);
  const Metrics a4 = point(yi, ad, 4000), a50 = point(yi, ad, 50000), a100 = point(yi, ad, 100000),
                a200 = point(yi, ad, 200000), amha = point(yi_mha, ad, 50000);
  const double gb = 1e9;

  std::vector<Erratum> e;
  // cause: a few words on the likely cause; empty when the printed figure is the formula's.
  auto add = [&](std::string q, std::string unit, std::string printed, double pv, double formula,
                 double actual, double reading, std::string cause, std::string why) {
    const bool agrees = cause.empty();
    e.push_back({std::move(q), std::move(unit), std::move(printed), pv, formula, actual, reading,
                 agrees, std::move(cause), std::move(why)});
  };

  add("weights, bf16", "GB", "68", 68, f4.weight_bytes / gb, a4.weight_bytes / gb, 68, "",
      "34B × 2 bytes. The released config's shapes give 34.39B parameters, 68.8 GB.");
  add("KV cache, 4K context", "GB", "0.91", 0.91, f4.kv_bytes_per_session / gb,
      a4.kv_bytes_per_session / gb, f4.kv_bytes_per_session / kGiB, "GiB printed as GB: 0.916",
      "The source's GB are GiB: 4000 × 245,760 B = 0.983e9 B = 0.916 GiB. 4K means 4000 "
      "tokens (4096 would give 0.94 GiB).");
  add("KV cache, 50K context", "GB", "11", 11, f50.kv_bytes_per_session / gb,
      a50.kv_bytes_per_session / gb, f50.kv_bytes_per_session / kGiB, "GiB printed as GB: 11.4",
      "GiB again (11.44 GiB), printed without decimals.");
  add("KV cache, 100K context", "GB", "22.8", 22.8, f100.kv_bytes_per_session / gb,
      a100.kv_bytes_per_session / gb, 2 * 11.4, "2 × 11.4 (rounded GiB)",
      "Twice the 50K figure after rounding it to 11.4 GiB; exact: 22.9 GiB = 24.6 GB.");
  add("KV cache, 200K context", "GB", "44", 44, f200.kv_bytes_per_session / gb,
      a200.kv_bytes_per_session / gb, 4 * 11.0, "4 × 11 (rounded GiB)",
      "Four times the rounded 11; exact: 45.8 GiB = 49.2 GB.");
  add("critical arithmetic intensity", "FLOP/B", "156", 156, f4.critical_intensity,
      a4.critical_intensity, 156, "", "312e12 / 2e12. The spec sheet's 2,039 GB/s gives 153.");
  add("prefill, 4K", "s", "0.89", 0.89, f4.prefill_s, a4.prefill_s,
      std::floor(f4.prefill_s * 100) / 100, "0.897 truncated",
      "Truncated, not rounded: 0.897 s. Yi's real attention width (56 × 128 = 7168, not the "
      "source's 4096) and 34.39B parameters give the last column.");
  add("prefill FLOP, 50K", "FLOP", "4.33e15", 4.33e15, f50.prefill_flop, a50.prefill_flop, kNaN,
      "not reproducible",
      "Not reproducible: n × (2 × 34e9 + 2 × 60 × n × 4096) at n = 50,000 is 4.63e15, and no "
      "reading of n (50K, 51,200) or d_attn found gives 4.33e15.");
  add("prefill, 50K", "s", "14.1", 14.1, f50.prefill_s, a50.prefill_s, kNaN, "not reproducible",
      "Matches neither 4.63e15 / 312e12 = 14.8 s nor its own 4.33e15 / 312e12 = 13.9 s. With "
      "Yi's attention width 7168 the quadratic term grows: 17.9 s.");
  add("prefill, 50K at ~70% of peak", "s", "20", 20, f50.prefill_s / 0.7, a50.prefill_s / 0.7,
      14.1 / 0.7, "14.1 / 0.7 = 20.1",
      "14.1 s / 0.7 = 20.1 s, rounded; the formula's 14.8 s / 0.7 = 21.2 s (--mfu 0.7).");
  add("decode 250 tokens, 4K", "s", "8.5", 8.5, f4.decode_s, a4.decode_s, 250 * 68e9 / 2e12,
      "KV read left out: 8.5",
      "The KV read is left out: 250 × 68 GB / 2 TB/s = 8.5 s. With the 0.98 GB KV: 8.62 s.");
  add("decode 250 tokens, 50K", "s", "9.8", 9.8, f50.decode_s, a50.decode_s,
      250 * (68e9 + 11e9) / 2e12, "KV taken as 11: 9.88",
      "Uses the rounded 11 (GiB) KV: 250 × (68 + 11) GB / 2 TB/s = 9.875 s, truncated.");
  add("decode 250 tokens, 200K", "s", "14", 14, f200.decode_s, a200.decode_s,
      250 * (68e9 + 44e9) / 2e12, "KV taken as 44: 14.0",
      "Uses the 44 GB KV figure: 250 × (68 + 44) / 2000 = 14.0 s.");
  add("decode, working figure", "s", "12", 12, f100.decode_s, a100.decode_s, kNaN,
      "a rounded working figure",
      "The source rounds to 12 s without naming a context; the formula gives 10.0 s at 50K, "
      "11.6 s at 100K (shown), 14.6 s at 200K.");
  add("concurrency, 4K", "users", "~20", 20, f4.concurrency, a4.concurrency,
      (80 * kGiB - 68e9) / f4.kv_bytes_per_session, "no consistent reading",
      "(80 − 68) GB / 0.98 GB = 12.2 (13.1 with the GiB KV figure): ~20 follows from no "
      "consistent reading. Nearest: the A100's physical 80 GiB = 85.9 GB, 17.9 GB free → 18.");
  add("concurrency, 50K", "users", "1", 1, f50.concurrency, a50.concurrency, (80e9 - 68e9) / 11e9,
      "12 GB / 11 GB = 1.09",
      "12.29 GB of KV does not fit in 12 GB free: 0.98, no whole session by the formula. One "
      "fits with the rounded 11 GB, or with the physical 80 GiB (1.39).");
  add("context switch, 2 users, 50K", "s", "1.1", 1.1, f50.switch_s, a50.switch_s,
      (11e9 + 11e9) / 20e9, "(11 + 11) / 20 = 1.1",
      "(11 + 11) GB / 20 GB/s with the rounded KV; exact: 24.6 GB / 20 GB/s.");
  add("context switch, 20 users, 50K", "s", "22", 22, 20 * f50.switch_s, 20 * a50.switch_s,
      20 * 1.1, "20 × 1.1",
      "20 × 1.1 s: 20 switches of one session out and one in. The formula: 20 × "
      "2 × 12.29 GB / 20 GB/s = 24.6 s.");
  add("MHA (32 KV heads) KV, 50K", "GB", "45.6", 45.6, fmha.kv_bytes_per_session / gb,
      amha.kv_bytes_per_session / gb, 4 * 11.4, "4 × 11.4 (rounded GiB)",
      "4 × 11.4 (GiB, rounded); exact 45.8 GiB = 49.2 GB. The source gives Yi 32 query heads; "
      "the released config has 56, so a true MHA Yi would cache 56 KV heads (86 GB).");
  add("MHA (32 KV heads) decode, 50K", "s", "14.3", 14.3, fmha.decode_s, amha.decode_s,
      250 * (68e9 + 46e9) / 2e12, "KV taken as 46: 14.25",
      "≈ 250 × (68 + 46) GB / 2 TB/s = 14.25 s with the KV rounded "
      "to 46; exact 14.6 s.");
  add("spare memory, 2 × A100", "GB", "122", 122, (2 * 80e9 - 68e9) / gb,
      (2 * ad.hw.mem_bytes - a4.weight_bytes) / gb, kNaN, "arithmetic slip",
      "160 − 68 = 92 GB; 122 is an arithmetic slip (at 50K: 7 users, not 9).");
  return e;
}

}  // namespace lk
