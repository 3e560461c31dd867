#include "analysis/sweep.h"

#include <algorithm>

#include "analysis/units.h"
#include "model/presets.h"

namespace lk {

namespace {

Result<Metrics> eval(const Scenario& s, int64_t ctx) {
  return analyze_point(s.model, s.deploy, scenario_workload(s, ctx), s.plan);
}

std::string valid_list(const std::vector<std::string>& v) {
  std::string o;
  for (const auto& x : v) o += (o.empty() ? "" : ", ") + x;
  return o;
}

Result<CompressionPlan> plan_from(const std::string& text, const Scenario& base) {
  CompressionPlan p = base.plan;
  if (text == "none") return CompressionPlan{};
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('+', start), text.size());
    LK_RETURN_IF_ERROR(compression_add_method(p, text.substr(start, end - start), base.model));
    start = end + 1;
  }
  return p;
}

}  // namespace

std::vector<std::string> sweep_dimensions() {
  return {"context", "hardware", "tp", "kv-heads", "compression"};
}

std::vector<std::string> sweep_default_values(const std::string& over, const Scenario& base) {
  if (over == "context") return {"4K", "8K", "16K", "32K", "50K", "100K", "200K", "500K", "1M"};
  if (over == "hardware") return hardware_names();
  if (over == "tp") return {"1", "2", "4", "8"};
  if (over == "kv-heads") {
    std::vector<std::string> v;
    for (int h = 1; h < base.model.n_heads; h *= 2)
      if (base.model.n_heads % h == 0) v.push_back(std::to_string(h));
    v.push_back(std::to_string(base.model.n_heads));
    return v;
  }
  if (over == "compression")
    return {"none",         "int8",        "kivi",
            "h2o",          "snapkv",      "dms",
            "duoattention", "snapkv+kivi", "duoattention+dms+int4"};
  return {};
}

Result<SweepResult> sweep_run(const Scenario& base, const std::string& over,
                              const std::vector<std::string>& values) {
  const auto dims = sweep_dimensions();
  if (std::find(dims.begin(), dims.end(), over) == dims.end())
    return invalid_argument("--over: unknown dimension '{}' (valid: {})", over, valid_list(dims));
  if (values.empty()) return invalid_argument("--values: nothing to sweep");
  SweepResult r;
  r.over = over;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& v = values[i];
    Scenario s = base;
    std::vector<int64_t> contexts = base.contexts;
    double x = static_cast<double>(i);
    if (over == "context") {
      LK_ASSIGN_OR_RETURN(int64_t n, parse_tokens(v, "--values"));
      if (n < 1) return invalid_argument("--values: context must be at least 1 token (got {})", v);
      contexts = {n};
      x = static_cast<double>(n);
    } else if (over == "hardware") {
      auto hw = hardware_lookup(v);
      if (!hw) return hw.status().with_context("--values");
      s.deploy.hw = *hw;
      r.categories.push_back(v);
    } else if (over == "tp") {
      LK_ASSIGN_OR_RETURN(int64_t n, parse_tokens(v, "--values"));
      if (n < 1 || n > 4096)
        return invalid_argument("--values: tp must be in [1, 4096] (got {})", v);
      s.deploy.tp = static_cast<int>(n);
      x = static_cast<double>(n);
    } else if (over == "kv-heads") {
      LK_ASSIGN_OR_RETURN(int64_t n, parse_tokens(v, "--values"));
      if (s.model.is_mla()) return unsupported("--over kv-heads: {} uses MLA", s.model.name);
      if (n < 1 || n > s.model.n_heads)
        return invalid_argument("--values: kv heads must be in [1, {}] (got {})", s.model.n_heads,
                                v);
      s.model.n_kv_heads = static_cast<int>(n);
      x = static_cast<double>(n);
    } else {  // compression
      LK_ASSIGN_OR_RETURN(s.plan, plan_from(v, base));
      r.categories.push_back(v);
    }
    for (int64_t c : contexts) {
      auto m = eval(s, c);
      if (!m) return m.status();
      const std::string series = over == "context"
                                     ? base.model.name + " · " + base.deploy.hw.id
                                     : format_tokens(static_cast<double>(c)) + " context";
      r.points.push_back({series, v, x, *m});
    }
  }
  return r;
}

namespace {

std::vector<std::string> series_names(const SweepResult& r) {
  std::vector<std::string> names;
  for (const auto& p : r.points)
    if (std::find(names.begin(), names.end(), p.series) == names.end()) names.push_back(p.series);
  return names;
}

template <typename F>
std::vector<PlotSeries> series_of(const SweepResult& r, F metric, const std::string& prefix = "") {
  std::vector<PlotSeries> out;
  for (const auto& name : series_names(r)) {
    PlotSeries s;
    s.name = prefix + name;
    for (const auto& p : r.points)
      if (p.series == name) {
        s.x.push_back(p.x);
        s.y.push_back(metric(p.m));
      }
    out.push_back(s);
  }
  return out;
}

std::string x_label(const std::string& over) {
  if (over == "context") return "context (tokens, log scale)";
  if (over == "hardware") return "hardware";
  if (over == "tp") return "tensor parallelism (devices)";
  if (over == "kv-heads") return "KV heads";
  return "compression plan";
}

PlotPanel panel(const SweepResult& r, std::string title, std::string ylab,
                std::vector<PlotSeries> series) {
  PlotPanel p;
  p.title = std::move(title);
  p.y_label = std::move(ylab);
  p.x_label = x_label(r.over);
  p.log_y = true;
  p.log_x = r.over == "context" || r.over == "tp" || r.over == "kv-heads";
  if (r.over == "context") p.x_format = TickFormat::kTokens;
  p.x_categories = r.categories;
  p.connect = r.over != "compression";
  p.series = std::move(series);
  return p;
}

std::vector<PlotPanel> four_metrics(const SweepResult& r) {
  return {
      panel(r, "Concurrency (bound by memory size)", "concurrent sessions",
            series_of(r, [](const Metrics& m) { return m.concurrency; })),
      panel(r, "Prefill (bound by compute)", "prefill (s)",
            series_of(r, [](const Metrics& m) { return m.prefill_s; })),
      panel(r, "Decode one round (bound by bandwidth)", "decode (s)",
            series_of(r, [](const Metrics& m) { return m.decode_s; })),
      panel(r, "Context switch (bound by host link)", "1 out + 1 in (s)",
            series_of(r, [](const Metrics& m) { return m.switch_s; })),
  };
}

}  // namespace

PlotFigure sweep_figure(const SweepResult& r, const Scenario& base) {
  PlotFigure f;
  f.title = fmt::format("{} on {} × {}: the four metrics vs {}", base.model.name, base.deploy.tp,
                        base.deploy.hw.name, r.over);
  f.subtitle = fmt::format(
      "theoretical peak (FRAMEWORK.md cost model); {:g}-bit weights, "
      "{:g}-bit KV, compression: {}; {} tokens generated per round",
      base.deploy.weight_bits, base.deploy.kv_bits, base.plan.describe(), base.workload.gen_tokens);
  f.panels = four_metrics(r);
  f.panels.push_back(panel(r, "Session throughput", "sessions per hour",
                           series_of(r, [](const Metrics& m) { return m.sessions_per_hour; })));
  f.shared_legend = true;
  f.columns = 3;
  f.panel_width = 400;
  if (r.over == "compression" || r.over == "hardware") f.panel_width = 460;
  return f;
}

Result<PlotFigure> figure2(std::vector<SweepResult>* data) {
  ScenarioFlags flags;
  flags.rounds = 1;
  PlotFigure f;
  f.title = "Figure 2 · Long-context serving cost: Yi-34B-200K, bf16, one device";
  f.subtitle =
      "top: vs context length 4K → 1M on three generations; bottom: vs hardware "
      "generation at 4K, 50K and 200K (theoretical peak)";
  f.columns = 4;
  f.panel_width = 345;
  f.panel_height = 290;
  std::vector<PlotPanel> top(4), bottom;
  const std::vector<std::string> hws = {"a100-80gb", "h100-sxm", "b200"};
  for (size_t h = 0; h < hws.size(); ++h) {
    flags.hardware = hws[h];
    LK_ASSIGN_OR_RETURN(Scenario s, scenario_resolve(flags));
    LK_ASSIGN_OR_RETURN(SweepResult r, sweep_run(s, "context", sweep_default_values("context", s)));
    auto panels = four_metrics(r);
    for (size_t k = 0; k < 4; ++k) {
      if (h == 0)
        top[k] = panels[k];
      else
        top[k].series.push_back(panels[k].series[0]);
      top[k].series.back().name = s.deploy.hw.id;
      top[k].series.back().color = static_cast<int>(h);
      top[k].series.back().dashed = h == 1;  // H100 has the A100's 80 GiB: lines coincide
    }
    if (data) data->push_back(r);
  }
  // Hardware generations in launch order.
  flags.hardware = "a100-80gb";
  flags.contexts = {"4K", "50K", "200K"};
  LK_ASSIGN_OR_RETURN(Scenario s, scenario_resolve(flags));
  std::vector<std::string> gens = {"a100-80gb", "h100-sxm", "mi300x", "h200", "b200"};
  LK_ASSIGN_OR_RETURN(SweepResult r, sweep_run(s, "hardware", gens));
  bottom = four_metrics(r);
  for (auto& p : bottom) p.x_categories = {"A100", "H100", "MI300X", "H200", "B200"};
  for (auto& p : bottom)
    for (size_t i = 0; i < p.series.size(); ++i) {
      p.series[i].color = 3 + static_cast<int>(i);
      p.series[i].dashed = true;
    }
  if (data) data->push_back(r);
  for (auto& p : top) f.panels.push_back(p);
  for (auto& p : bottom) {
    p.x_label = "hardware generation (launch order)";
    p.title += "";
    f.panels.push_back(p);
  }
  return f;
}

Result<PlotFigure> figure3(std::vector<SweepResult>* data) {
  PlotFigure f;
  f.title = "Figure 3 · Prefill vs decode time: Yi-34B-200K and Command R+ (104B)";
  f.subtitle =
      "4 × A100 80GB (tensor parallel), bf16, 250 tokens per round, 50-token follow-ups; "
      "left: one round vs input length; right: a whole session at 50K vs rounds";
  f.columns = 2;
  f.panel_width = 520;
  f.panel_height = 360;
  PlotPanel by_len, by_rounds;
  by_len.title = "One round vs input length";
  by_len.x_label = "input length (tokens, log scale)";
  by_len.y_label = "time (s, log scale)";
  by_len.log_x = by_len.log_y = true;
  by_len.x_format = TickFormat::kTokens;
  by_rounds.title = "Whole session vs number of rounds (50K document)";
  by_rounds.x_label = "rounds per session";
  by_rounds.y_label = "total time per session (s)";
  const std::vector<std::string> models = {"yi-34b-200k", "command-r-plus"};
  for (size_t k = 0; k < models.size(); ++k) {
    ScenarioFlags flags;
    flags.model = models[k];
    flags.tp = 4;
    flags.rounds = 1;
    LK_ASSIGN_OR_RETURN(Scenario s, scenario_resolve(flags));
    const std::vector<std::string> lens = {"1K", "2K", "4K", "8K", "16K", "32K", "64K", "128K"};
    LK_ASSIGN_OR_RETURN(SweepResult r, sweep_run(s, "context", lens));
    PlotSeries pre, dec;
    pre.name = s.model.name + " prefill";
    dec.name = s.model.name + " decode 250 tokens";
    pre.color = dec.color = static_cast<int>(k);
    dec.dashed = true;
    for (const auto& p : r.points) {
      pre.x.push_back(p.x);
      pre.y.push_back(p.m.prefill_s);
      dec.x.push_back(p.x);
      dec.y.push_back(p.m.decode_s);
    }
    by_len.series.push_back(pre);
    by_len.series.push_back(dec);
    if (data) data->push_back(r);

    // Over rounds: prefill = the document once + each follow-up question over the grown
    // context; decode = 250 tokens per round at each round's context.
    PlotSeries rpre = pre, rdec = dec;
    rpre.x.clear(), rpre.y.clear(), rdec.x.clear(), rdec.y.clear();
    rpre.name = s.model.name + " prefill (all rounds)";
    rdec.name = s.model.name + " decode (all rounds)";
    SweepResult rr;
    rr.over = "rounds";
    const double d_attn = attention_width(s.model, s.deploy);
    for (int rounds = 1; rounds <= 10; ++rounds) {
      double pre_s = 0, dec_s = 0, past = 0;
      for (int i = 0; i < rounds; ++i) {
        const double n_new = i == 0 ? 50000.0 : 50.0;
        pre_s += prefill_flop(s.model, d_attn, n_new, past) / s.deploy.flops();
        past += n_new;
        dec_s +=
            decode_seconds(250, weight_bytes_read(s.model, s.deploy.weight_bits, 1),
                           kv_bytes_per_token(s.model, s.deploy.kv_bits) * past, s.deploy.bw());
        past += 250;
      }
      rpre.x.push_back(rounds);
      rpre.y.push_back(pre_s);
      rdec.x.push_back(rounds);
      rdec.y.push_back(dec_s);
      Metrics m;
      m.context_tokens = 50000;
      m.prefill_s = pre_s;
      m.decode_s = dec_s;
      rr.points.push_back({s.model.name, std::to_string(rounds), static_cast<double>(rounds), m});
    }
    by_rounds.series.push_back(rpre);
    by_rounds.series.push_back(rdec);
    if (data) data->push_back(rr);
  }
  f.panels = {by_len, by_rounds};
  return f;
}

}  // namespace lk
