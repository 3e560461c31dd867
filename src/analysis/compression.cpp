#include "analysis/compression.h"

#include <algorithm>

namespace lk {

namespace {
double token_keep(const CompressionPlan& p, int64_t ctx) {
  double t = p.token;
  if (p.token_budget > 0 && ctx > 0)
    t *= std::min(1.0, static_cast<double>(p.token_budget) / static_cast<double>(ctx));
  return t;
}
}  // namespace

double CompressionPlan::memory_factor(int64_t ctx, double kv_bits) const {
  const double hidden = hidden_bits > 0 ? std::min(1.0, hidden_bits / kv_bits) : 1.0;
  return layer * head * token_keep(*this, ctx) * hidden;
}

double CompressionPlan::read_factor(int64_t ctx, double kv_bits) const {
  double f = memory_factor(ctx, kv_bits);
  if (read_budget > 0 && ctx > 0) {
    // Quest reads only the pages its query selects: a budget of the tokens kept.
    const double kept = token_keep(*this, ctx) * static_cast<double>(ctx);
    f *= std::min(1.0, static_cast<double>(read_budget) / std::max(1.0, kept));
  }
  return f;
}

bool CompressionPlan::empty() const {
  return layer == 1.0 && head == 1.0 && token == 1.0 && token_budget == 0 && hidden_bits == 0 &&
         read_budget == 0;
}

std::string CompressionPlan::describe() const {
  if (empty()) return "none";
  std::string parts;
  auto add = [&](const std::string& s) { parts += (parts.empty() ? "" : ", ") + s; };
  if (layer != 1.0) add(fmt::format("layers ×{:.3g}", layer));
  if (head != 1.0) add(fmt::format("heads ×{:.3g}", head));
  if (token != 1.0) add(fmt::format("tokens ×{:.3g}", token));
  if (token_budget > 0) add(fmt::format("tokens ≤{}", token_budget));
  if (hidden_bits > 0) add(fmt::format("{:g}-bit", hidden_bits));
  if (read_budget > 0) add(fmt::format("reads ≤{} tokens", read_budget));
  std::string names;
  for (const auto& m : methods) names += (names.empty() ? "" : " + ") + m;
  return names.empty() ? parts : names + " (" + parts + ")";
}

const std::vector<CompressionMethod>& compression_methods() {
  static const std::vector<CompressionMethod> m = {
      {"yoco", "layer", "1/layers (one global KV)", "YOCO, Sun et al. 2024: KV cached once"},
      {"cla", "layer", "1/2", "Cross-Layer Attention, Brandon et al. 2024: CLA2 shares KV"},
      {"calm", "layer", "1/2 (illustrative)", "CALM, Schuster et al. 2022: early exit"},
      {"layerskip", "layer", "1/2 (illustrative)", "LayerSkip, Elhoushi et al. 2024"},
      {"gqa", "head", "kv heads → 8", "GQA, Ainslie et al. 2023: 8 groups"},
      {"duoattention", "head", "1/2", "DuoAttention, Xiao et al. 2024: retrieval vs streaming"},
      {"retrieval-heads", "head", "1/4", "Retrieval Head, Wu et al. 2024: few heads retrieve"},
      {"head-pruning", "head", "1/2", "head pruning"},
      {"streamingllm", "token", "≤4096 tokens", "StreamingLLM, Xiao et al. 2023: sinks+window"},
      {"h2o", "token", "1/5", "H2O, Zhang et al. 2023: 20% heavy hitters"},
      {"tova", "token", "1/8", "TOVA, Oren et al. 2024: up to 88% smaller"},
      {"snapkv", "token", "≤2048 tokens", "SnapKV, Li et al. 2024: budgets 1024–4096"},
      {"pyramidkv", "token", "≤2048 tokens", "PyramidKV, Cai et al. 2024: per-layer budgets"},
      {"adakv", "token", "≤2048 tokens", "AdaKV, Feng et al. 2024: per-head budgets"},
      {"dmc", "token", "1/4", "DMC, Nawrot et al. 2024: 4× merging"},
      {"dms", "token", "1/8", "DMS, Łańcucki et al. 2025: 4×–8×"},
      {"quest", "token", "reads ≤4096 tokens", "Quest, Tang et al. 2024: saves reads, not memory"},
      {"kivi", "hidden", "2-bit", "KIVI, Liu et al. 2024 (scales, fp16 window ignored)"},
      {"int8", "hidden", "8-bit", "int8 KV"},
      {"fp8", "hidden", "8-bit", "fp8 KV"},
      {"int4", "hidden", "4-bit", "int4 KV"},
  };
  return m;
}

Status compression_add_method(CompressionPlan& plan, const std::string& name,
                              const ModelSpec& model) {
  auto min_bits = [&](double b) {
    plan.hidden_bits = plan.hidden_bits > 0 ? std::min(plan.hidden_bits, b) : b;
  };
  auto min_budget = [](int64_t& slot, int64_t b) { slot = slot > 0 ? std::min(slot, b) : b; };
  if (name == "yoco") {
    plan.layer *= 1.0 / std::max(1, model.n_layers);
  } else if (name == "cla" || name == "calm" || name == "layerskip") {
    plan.layer *= 0.5;
  } else if (name == "gqa") {
    if (model.is_mla())
      return unsupported("--compress gqa: {} uses MLA, not per-head KV", model.name);
    plan.head *= std::min(1.0, 8.0 / std::max(1, model.n_kv_heads));
  } else if (name == "duoattention" || name == "head-pruning") {
    plan.head *= 0.5;
  } else if (name == "retrieval-heads") {
    plan.head *= 0.25;
  } else if (name == "streamingllm") {
    min_budget(plan.token_budget, 4096);
  } else if (name == "h2o") {
    plan.token *= 0.2;
  } else if (name == "tova" || name == "dms") {
    plan.token *= 0.125;
  } else if (name == "snapkv" || name == "pyramidkv" || name == "adakv") {
    min_budget(plan.token_budget, 2048);
  } else if (name == "dmc") {
    plan.token *= 0.25;
  } else if (name == "quest") {
    min_budget(plan.read_budget, 4096);
  } else if (name == "kivi") {
    min_bits(2);
  } else if (name == "int8" || name == "fp8") {
    min_bits(8);
  } else if (name == "int4") {
    min_bits(4);
  } else {
    std::string valid;
    for (const auto& m : compression_methods()) valid += (valid.empty() ? "" : ", ") + m.id;
    return not_found("--compress: unknown method '{}' (valid: {})", name, valid);
  }
  plan.methods.push_back(name);
  return Status::ok();
}

Status compression_validate(const CompressionPlan& p) {
  auto frac = [](const char* field, double v) -> Status {
    if (!(v > 0.0 && v <= 1.0))
      return invalid_argument("{} must be a fraction in (0, 1] (got {})", field, v);
    return Status::ok();
  };
  LK_RETURN_IF_ERROR(frac("--layer-keep", p.layer));
  LK_RETURN_IF_ERROR(frac("--head-keep", p.head));
  LK_RETURN_IF_ERROR(frac("--token-keep", p.token));
  if (p.token_budget < 0)
    return invalid_argument("--token-budget must be ≥ 0 (got {})", p.token_budget);
  if (p.read_budget < 0)
    return invalid_argument("--read-budget must be ≥ 0 (got {})", p.read_budget);
  if (p.hidden_bits < 0 || p.hidden_bits > 32)
    return invalid_argument("--kv-bits must be in (0, 32] (got {})", p.hidden_bits);
  return Status::ok();
}

}  // namespace lk
