#include "analysis/report.h"

#include <cmath>

#include "analysis/text_table.h"
#include "analysis/units.h"

namespace lk {

namespace {

std::string rate(double bytes_per_s) {
  return format_bytes(bytes_per_s) + "/s";
}

nlohmann::json num(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

std::string ratio(double a, double b) {
  if (!(b > 0) || !(a > 0)) return "—";
  const double r = a / b;
  return r >= 1 ? fmt::format("×{:.3g}", r) : fmt::format("÷{:.3g}", 1 / r);
}

}  // namespace

std::string report_header(const Scenario& s) {
  const ModelSpec& m = s.model;
  const Deployment& d = s.deploy;
  const double kvpt = kv_bytes_per_token(m, d.kv_bits);
  std::string attn =
      m.is_mla() ? fmt::format("MLA latent {} + rope {}", m.kv_lora_rank, m.qk_rope_head_dim)
                 : fmt::format("{} query / {} KV heads × {}", m.n_heads, m.n_kv_heads, m.head_dim);
  std::string params = fmt::format("{:.3g}B params", m.total_params() / 1e9);
  if (m.is_moe())
    params += fmt::format(" ({:.3g}B active, {} experts, {} per token)", m.active_params() / 1e9,
                          m.n_experts, m.n_experts_active);
  std::string out;
  out += fmt::format("  model     {} ({}): {} layers, {}, {}\n", m.name, s.model_source, m.n_layers,
                     attn, params);
  out +=
      fmt::format("            weights {:g}-bit {} · KV {:g}-bit {} per token · compression: {}\n",
                  d.weight_bits, format_bytes(weight_bytes(m, d.weight_bits)), d.kv_bits,
                  format_bytes(kvpt), s.plan.describe());
  out += fmt::format("  hardware  {} × {}{}: {:.4g} TFLOP/s, {} ({}), {}, {} {} effective\n", d.tp,
                     d.hw.name, s.hw_overridden ? " (overridden)" : "", d.hw.flops / 1e12,
                     format_bytes(d.hw.mem_bytes), format_gib(d.hw.mem_bytes), rate(d.hw.bw),
                     d.hw.link_name, rate(d.hw.link));
  if (d.compute_eff != 1 || d.bw_eff != 1 || d.link_eff != 1)
    out += fmt::format(
        "            achieved fraction of peak: compute {:g}, bandwidth {:g}, link {:g}\n",
        d.compute_eff, d.bw_eff, d.link_eff);
  out += fmt::format(
      "            critical arithmetic intensity {:.0f} FLOP/byte: decode batches "
      "below it are memory-bound\n",
      d.flops() / d.bw());
  const Workload& w = s.workload;
  out += fmt::format(
      "  workload  {} round{}: the context (document + first question), {} tokens "
      "generated per round",
      w.rounds, w.rounds == 1 ? "" : "s", w.gen_tokens);
  if (w.rounds > 1)
    out += fmt::format(",\n            then {}-token follow-up questions after {:g} s of thinking",
                       w.question_tokens, w.think_s);
  out += "\n";
  return out;
}

std::string report_table(const Scenario& s, const std::vector<Metrics>& pts) {
  std::vector<std::string> header = {"metric"};
  std::string align = "l";
  for (const auto& p : pts) {
    header.push_back(format_tokens(static_cast<double>(p.context_tokens)));
    align += 'r';
  }
  header.push_back("bound by");
  align += 'l';
  TextTable t(header, align);
  auto row = [&](const std::string& name, auto cell, const std::string& bound) {
    std::vector<std::string> r = {name};
    for (const auto& p : pts) r.push_back(cell(p));
    r.push_back(bound);
    t.add_row(r);
  };
  row(
      "KV cache per token", [](const Metrics& p) { return format_bytes(p.kv_bytes_per_token); },
      "");
  row(
      "KV cache per session", [](const Metrics& p) { return format_bytes(p.kv_bytes_per_session); },
      "");
  row(
      "  (binary)", [](const Metrics& p) { return format_gib(p.kv_bytes_per_session); }, "");
  row(
      "memory free for KV", [](const Metrics& p) { return format_bytes(p.free_bytes); }, "");
  row(
      "concurrency", [](const Metrics& p) { return fmt::format("{:.3g} users", p.concurrency); },
      "memory size");
  row(
      "  whole sessions (peak KV)",
      [](const Metrics& p) { return fmt::format("{}", p.concurrency_sessions); }, "");
  row(
      "prefill", [](const Metrics& p) { return format_seconds(p.prefill_s); }, "compute");
  row(
      fmt::format("decode {} tokens", s.workload.gen_tokens),
      [](const Metrics& p) { return format_seconds(p.decode_s); }, "memory bandwidth");
  row(
      "  per output token", [](const Metrics& p) { return format_seconds(p.tpot_s); }, "");
  row(
      "context switch (1 out + 1 in)", [](const Metrics& p) { return format_seconds(p.switch_s); },
      "host link");
  t.add_rule();
  row(
      "sessions per hour", [](const Metrics& p) { return format_count(p.sessions_per_hour); },
      "(see below)");
  row(
      "  bounded by", [](const Metrics& p) { return p.bound; }, "");
  row(
      "  idle sessions",
      [](const Metrics& p) { return std::string(p.swap_idle ? "swapped" : "resident"); }, "");
  row(
      "  memory bound", [](const Metrics& p) { return format_count(p.sph_memory); }, "");
  row(
      "  compute bound", [](const Metrics& p) { return format_count(p.sph_compute); }, "");
  row(
      "  bandwidth bound", [](const Metrics& p) { return format_count(p.sph_bandwidth); }, "");
  row(
      "  host link bound", [](const Metrics& p) { return format_count(p.sph_link); }, "");
  std::string out = t.render();
  if (pts.size() >= 2) {
    const Metrics& a = pts.front();
    const Metrics& b = pts.back();
    out += fmt::format(
        "\n  {} vs {}: concurrency {}, prefill {}, decode {}, switch {}, sessions/hour {}\n",
        format_tokens(static_cast<double>(b.context_tokens)),
        format_tokens(static_cast<double>(a.context_tokens)), ratio(b.concurrency, a.concurrency),
        ratio(b.prefill_s, a.prefill_s), ratio(b.decode_s, a.decode_s),
        ratio(b.switch_s, a.switch_s), ratio(b.sessions_per_hour, a.sessions_per_hour));
  }
  return out;
}

namespace {
std::string show(double v, const std::string& unit) {
  if (!std::isfinite(v)) return "—";
  if (unit == "FLOP") return format_si(v);
  if (unit == "GB") return fmt::format("{:.3g} GB", v);
  if (unit == "s") return fmt::format("{:.3g} s", v);
  if (unit == "users") return fmt::format("{:.3g}", v);
  return fmt::format("{:.3g}", v);
}
}  // namespace

std::string report_errata(bool full) {
  const auto errata = framework_errata();
  std::string out;
  out +=
      "  Each figure of FRAMEWORK.md's running example (Yi-34B-200K, one A100 80GB): what the\n"
      "  source prints; its own formula on its own inputs (34e9 params, d_attn 4096, 312 TFLOP/s,\n"
      "  80e9 B, 2 TB/s, 20 GB/s); and longkv's value from the released config and the spec sheet\n"
      "  (34.39B params, d_attn 7168, 80 GiB, 2,039 GB/s). ✓ = printed figure equals the "
      "formula.\n\n";
  TextTable t({"#", "quantity", "source", "formula", "released+spec", "", "likely cause"},
              "rlrrrll");
  int i = 0;
  for (const auto& e : errata) {
    ++i;
    std::string unit = e.unit == "GB" || e.unit == "s" ? " " + e.unit : "";
    t.add_row({std::to_string(i), e.quantity, e.printed + unit, show(e.formula, e.unit),
               show(e.actual, e.unit), e.agrees ? "✓" : "≠", e.cause});
  }
  out += t.render();
  if (full) {
    out += "\n";
    i = 0;
    for (const auto& e : errata) {
      ++i;
      auto lines = wrap_text(e.why, 92);
      for (size_t k = 0; k < lines.size(); ++k)
        out += fmt::format("  {:>3} {}\n", k == 0 ? std::to_string(i) + "." : "", lines[k]);
    }
  } else {
    out += "\n  (longkv analyze --explain gives the reasoning for every row)\n";
  }
  return out;
}

nlohmann::json metrics_json(const Metrics& m) {
  return {
      {"context_tokens", m.context_tokens},
      {"kv_bytes_per_token", num(m.kv_bytes_per_token)},
      {"kv_bytes_per_session", num(m.kv_bytes_per_session)},
      {"kv_bytes_session_peak", num(m.kv_bytes_session_peak)},
      {"weight_bytes", num(m.weight_bytes)},
      {"free_bytes", num(m.free_bytes)},
      {"compression_factor", num(m.compression_factor)},
      {"concurrency", num(m.concurrency)},
      {"concurrency_sessions", m.concurrency_sessions},
      {"prefill_flop", num(m.prefill_flop)},
      {"prefill_s", num(m.prefill_s)},
      {"decode_s", num(m.decode_s)},
      {"tpot_s", num(m.tpot_s)},
      {"switch_s", num(m.switch_s)},
      {"critical_intensity", num(m.critical_intensity)},
      {"sessions_per_hour", num(m.sessions_per_hour)},
      {"bound", m.bound},
      {"swap_idle", m.swap_idle},
      {"sessions_per_hour_by_resource",
       {{"memory", num(m.sph_memory)},
        {"compute", num(m.sph_compute)},
        {"bandwidth", num(m.sph_bandwidth)},
        {"link", num(m.sph_link)}}},
      {"session_active_s", num(m.session_active_s)},
  };
}

nlohmann::json scenario_json(const Scenario& s) {
  const ModelSpec& m = s.model;
  const Deployment& d = s.deploy;
  nlohmann::json methods = s.plan.methods;
  return {
      {"model",
       {{"name", m.name},
        {"source", s.model_source},
        {"layers", m.n_layers},
        {"heads", m.n_heads},
        {"kv_heads", m.n_kv_heads},
        {"head_dim", m.head_dim},
        {"kv_lora_rank", m.kv_lora_rank},
        {"params", m.total_params()},
        {"active_params", m.active_params()},
        {"experts", m.n_experts}}},
      {"hardware",
       {{"id", d.hw.id},
        {"name", d.hw.name},
        {"tp", d.tp},
        {"flops", d.hw.flops},
        {"mem_bytes", d.hw.mem_bytes},
        {"bw", d.hw.bw},
        {"link", d.hw.link},
        {"compute_eff", d.compute_eff},
        {"bw_eff", d.bw_eff},
        {"link_eff", d.link_eff},
        {"weight_bits", d.weight_bits},
        {"kv_bits", d.kv_bits},
        {"d_attn", attention_width(m, d)}}},
      {"workload",
       {{"contexts", s.contexts},
        {"question_tokens", s.workload.question_tokens},
        {"gen_tokens", s.workload.gen_tokens},
        {"rounds", s.workload.rounds},
        {"think_s", s.workload.think_s}}},
      {"compression",
       {{"methods", methods},
        {"layer", s.plan.layer},
        {"head", s.plan.head},
        {"token", s.plan.token},
        {"token_budget", s.plan.token_budget},
        {"hidden_bits", s.plan.hidden_bits},
        {"read_budget", s.plan.read_budget}}},
  };
}

nlohmann::json errata_json() {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& e : framework_errata())
    a.push_back({{"quantity", e.quantity},
                 {"unit", e.unit},
                 {"source", e.printed},
                 {"source_value", e.printed_value},
                 {"formula", num(e.formula)},
                 {"released_config_and_spec", num(e.actual)},
                 {"reading", num(e.reading)},
                 {"agrees", e.agrees},
                 {"why", e.why}});
  return a;
}

nlohmann::json report_json(const Scenario& s, const std::vector<Metrics>& points, bool errata) {
  nlohmann::json j = metrics_json(points.front());
  j["scenario"] = scenario_json(s);
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& p : points) pts.push_back(metrics_json(p));
  j["points"] = pts;
  if (errata) j["errata"] = errata_json();
  return j;
}

std::string csv_header() {
  return "label,context_tokens,kv_bytes_per_token,kv_bytes_per_session,concurrency,"
         "concurrency_sessions,prefill_s,decode_s,switch_s,sessions_per_hour,bound\n";
}

std::string csv_row(const std::string& label, const Metrics& m) {
  return fmt::format("{},{},{:.6g},{:.6g},{:.6g},{},{:.6g},{:.6g},{:.6g},{:.6g},{}\n", label,
                     m.context_tokens, m.kv_bytes_per_token, m.kv_bytes_per_session, m.concurrency,
                     m.concurrency_sessions, m.prefill_s, m.decode_s, m.switch_s,
                     m.sessions_per_hour, m.bound);
}

}  // namespace lk
