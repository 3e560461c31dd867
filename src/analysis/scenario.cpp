#include "analysis/scenario.h"

#include "analysis/dtype.h"
#include "analysis/model_source.h"
#include "analysis/units.h"
#include "model/presets.h"

namespace lk {

namespace {

Result<ModelSpec> resolve_model(const ScenarioFlags& f, std::string* source) {
  const bool preset_given = !f.model.empty();
  const int n = (preset_given ? 1 : 0) + (f.config.empty() ? 0 : 1) + (f.gguf.empty() ? 0 : 1);
  if (n > 1) return invalid_argument("give one of --model, --config, --gguf (got {})", n);
  if (!f.config.empty()) {
    *source = "config " + f.config;
    return model_load_config(f.config);
  }
  if (!f.gguf.empty()) {
    *source = "gguf " + f.gguf;
    return model_load_gguf(f.gguf);
  }
  const std::string id = f.model.empty() ? "yi-34b-200k" : f.model;
  *source = "preset " + id;
  auto m = model_preset(id);
  if (!m) return m.status().with_context("--model");
  return m;
}

Status override_quantity(const std::string& text, const char* field, double* out) {
  if (text.empty()) return Status::ok();
  LK_ASSIGN_OR_RETURN(*out, parse_quantity(text, field));
  return Status::ok();
}

}  // namespace

Result<Scenario> scenario_resolve(const ScenarioFlags& f) {
  Scenario s;
  LK_ASSIGN_OR_RETURN(s.model, resolve_model(f, &s.model_source));
  if (f.kv_heads != 0) {
    if (f.kv_heads < 1 || f.kv_heads > s.model.n_heads)
      return invalid_argument("--kv-heads must be in [1, {}] for {} (got {})", s.model.n_heads,
                              s.model.name, f.kv_heads);
    if (s.model.is_mla())
      return unsupported("--kv-heads: {} caches an MLA latent, not per-head KV", s.model.name);
    s.model.n_kv_heads = f.kv_heads;
  }
  if (f.params != 0) {
    if (!(f.params > 0) || f.params > 1e15)
      return invalid_argument("--params must be in (0, 1e15] (got {:g})", f.params);
    const double active_ratio = s.model.active_params() / s.model.total_params();
    s.model.n_params = f.params;
    if (s.model.is_moe()) s.model.n_active_params = f.params * active_ratio;
  }
  LK_RETURN_IF_ERROR(model_validate(s.model));

  auto hw = hardware_lookup(f.hardware);
  if (!hw) return hw.status().with_context("--hardware");
  s.deploy.hw = *hw;
  LK_RETURN_IF_ERROR(override_quantity(f.flops, "--flops", &s.deploy.hw.flops));
  LK_RETURN_IF_ERROR(override_quantity(f.mem, "--mem", &s.deploy.hw.mem_bytes));
  LK_RETURN_IF_ERROR(override_quantity(f.bw, "--bw", &s.deploy.hw.bw));
  if (!f.link.empty()) {
    LK_RETURN_IF_ERROR(override_quantity(f.link, "--link", &s.deploy.hw.link));
    s.deploy.hw.link_name = "host link (--link)";
  }
  s.hw_overridden = !f.flops.empty() || !f.mem.empty() || !f.bw.empty() || !f.link.empty();
  if (f.tp < 1 || f.tp > 4096) return invalid_argument("--tp must be in [1, 4096] (got {})", f.tp);
  s.deploy.tp = f.tp;
  LK_ASSIGN_OR_RETURN(s.deploy.weight_bits, dtype_bits(f.weight_dtype, "--weight-dtype"));
  LK_ASSIGN_OR_RETURN(s.deploy.kv_bits, dtype_bits(f.kv_dtype, "--kv-dtype"));
  s.deploy.compute_eff = f.mfu;
  s.deploy.bw_eff = f.bw_eff;
  s.deploy.link_eff = f.link_eff;
  s.deploy.d_attn = f.d_attn;

  if (f.contexts.empty()) return invalid_argument("--context: give at least one token count");
  for (const auto& c : f.contexts) {
    LK_ASSIGN_OR_RETURN(int64_t n, parse_tokens(c, "--context"));
    if (n < 1) return invalid_argument("--context must be at least 1 token (got {})", c);
    s.contexts.push_back(n);
  }
  s.workload.context_tokens = s.contexts[0];
  LK_ASSIGN_OR_RETURN(s.workload.question_tokens, parse_tokens(f.question, "--question"));
  LK_ASSIGN_OR_RETURN(s.workload.gen_tokens, parse_tokens(f.gen, "--gen"));
  if (s.workload.gen_tokens < 1) return invalid_argument("--gen must be at least 1 token");
  if (f.rounds < 1 || f.rounds > 10000)
    return invalid_argument("--rounds must be in [1, 10000] (got {})", f.rounds);
  s.workload.rounds = f.rounds;
  s.workload.think_s = f.think_s;

  s.plan.layer = f.layer_keep;
  s.plan.head = f.head_keep;
  s.plan.token = f.token_keep;
  s.plan.hidden_bits = f.kv_bits;
  LK_ASSIGN_OR_RETURN(s.plan.token_budget, parse_tokens(f.token_budget, "--token-budget"));
  LK_ASSIGN_OR_RETURN(s.plan.read_budget, parse_tokens(f.read_budget, "--read-budget"));
  LK_RETURN_IF_ERROR(compression_validate(s.plan));
  for (const auto& m : f.compress) LK_RETURN_IF_ERROR(compression_add_method(s.plan, m, s.model));

  // Validate every point now so a bad value fails before any output.
  for (int64_t c : s.contexts) {
    auto r = analyze_point(s.model, s.deploy, scenario_workload(s, c), s.plan);
    if (!r) return r.status();
  }
  return s;
}

Workload scenario_workload(const Scenario& s, int64_t context_tokens) {
  Workload w = s.workload;
  w.context_tokens = context_tokens;
  return w;
}

}  // namespace lk
