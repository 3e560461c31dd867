// A scenario to price: model × deployment × workload × compression plan, resolved from the
// raw command-line values (presets, catalog ids, overrides) with every bad value reported
// by the flag that carried it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/compression.h"
#include "analysis/cost_model.h"

namespace lk {

// Raw flag values as typed (empty / 0 = not given).
struct ScenarioFlags {
  std::string model;   // --model preset id (empty: yi-34b-200k)
  std::string config;  // --config Hugging Face config.json
  std::string gguf;    // --gguf file (header only)
  std::string hardware = "a100-80gb";
  std::string flops, mem, bw, link;  // overrides: "2e12", "2T", "80Gi"
  int tp = 1;
  std::string weight_dtype = "bf16";
  std::string kv_dtype = "bf16";
  int kv_heads = 0;   // override the model's KV heads (GQA vs MHA studies)
  double params = 0;  // override the parameter count
  double d_attn = 0;  // prefill formula's attention width (0 = heads × head_dim)
  double mfu = 1.0, bw_eff = 1.0, link_eff = 1.0;
  std::vector<std::string> contexts = {"4K", "50K"};
  std::string question = "50";
  std::string gen = "250";
  int rounds = 3;
  double think_s = 60;
  std::vector<std::string> compress;  // named methods
  double layer_keep = 1, head_keep = 1, token_keep = 1;
  std::string token_budget = "0", read_budget = "0";
  double kv_bits = 0;  // hidden-dimension bits (0 = the KV dtype's)
};

struct Scenario {
  ModelSpec model;
  std::string model_source;  // "preset yi-34b-200k", "config.json path", "gguf path"
  Deployment deploy;
  Workload workload;              // context_tokens = contexts[0]
  std::vector<int64_t> contexts;  // one analysis point each
  CompressionPlan plan;
  bool hw_overridden = false;
};

Result<Scenario> scenario_resolve(const ScenarioFlags& flags);

// The workload at one of the scenario's contexts.
Workload scenario_workload(const Scenario& s, int64_t context_tokens);

}  // namespace lk
