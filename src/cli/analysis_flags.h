// Command-line flags shared by `longkv analyze`, its sweeps and `longkv simulate`: model,
// hardware, workload and compression plan, bound to a ScenarioFlags (raw values, resolved
// and validated by scenario_resolve so errors name the flag and the valid choices).
#pragma once

#include <CLI/CLI.hpp>

#include "analysis/scenario.h"
#include "core/status.h"

namespace lk::cli {

inline void add_scenario_flags(CLI::App& app, ScenarioFlags& f, bool contexts = true) {
  app.add_option("--model", f.model, "model preset (see --list); default yi-34b-200k");
  app.add_option("--config", f.config, "Hugging Face config.json instead of a preset");
  app.add_option("--gguf", f.gguf, "GGUF file: read the architecture from its header");
  app.add_option("--kv-heads", f.kv_heads, "override the KV heads (e.g. MHA vs GQA)");
  app.add_option("--params", f.params, "override the parameter count");
  app.add_option("--hardware", f.hardware, "hardware id (see --list); default a100-80gb");
  app.add_option("--flops", f.flops, "override peak FLOP/s per device (e.g. 312T)");
  app.add_option("--mem", f.mem, "override device memory in bytes (e.g. 80G, 80Gi)");
  app.add_option("--bw", f.bw, "override memory bandwidth, bytes/s (e.g. 2T)");
  app.add_option("--link", f.link, "override effective host link, bytes/s (e.g. 20G)");
  app.add_option("--tp", f.tp, "tensor parallelism: devices per replica");
  app.add_option("--weight-dtype", f.weight_dtype,
                 "weight dtype: bf16 fp16 fp32 fp8 int8 q8_0 q4_k q4_0 int4");
  app.add_option("--kv-dtype", f.kv_dtype,
                 "KV dtype before compression: bf16 fp16 fp32 fp8 int8 int4 int2");
  app.add_option("--d-attn", f.d_attn,
                 "attention width in the prefill formula (default heads × head_dim)");
  app.add_option("--mfu", f.mfu, "achieved fraction of peak FLOP/s (default 1 = theoretical peak)");
  app.add_option("--bw-eff", f.bw_eff, "achieved fraction of peak bandwidth (default 1)");
  app.add_option("--link-eff", f.link_eff,
                 "achieved fraction of the effective link rate (default 1)");
  if (contexts)
    app.add_option("--context", f.contexts, "context tokens, one or more (4K = 4000, 4Ki = 4096)")
        ->delimiter(',');
  app.add_option("--question", f.question, "tokens of each follow-up question (default 50)");
  app.add_option("--gen", f.gen, "tokens generated per round (default 250)");
  app.add_option("--rounds", f.rounds, "rounds per session (default 3)");
  app.add_option("--think", f.think_s,
                 "seconds a user reads and thinks between rounds (default 60)");
  app.add_option("--compress", f.compress, "named methods, composed (see --list)")->delimiter(',');
  app.add_option("--layer-keep", f.layer_keep, "fraction of layers keeping KV");
  app.add_option("--head-keep", f.head_keep, "fraction of KV heads keeping full context");
  app.add_option("--token-keep", f.token_keep, "fraction of tokens kept");
  app.add_option("--token-budget", f.token_budget, "tokens kept per sequence at most");
  app.add_option("--kv-bits", f.kv_bits, "bits per KV element after quantization");
  app.add_option("--read-budget", f.read_budget, "tokens read per decode step (Quest)");
}

// Parses argv; returns -1 to continue, else the exit code (0 for --help, 2 for bad flags).
inline int parse_flags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
    return 2;
  }
  return -1;
}

}  // namespace lk::cli
