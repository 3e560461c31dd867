// longkv synth: writes a reproducible random-weight model of a real architecture (a preset
// or a Hugging Face config.json) as GGUF or as a Hugging Face folder, with a working
// tokenizer — for tests and benchmarks, since no model hub is reachable.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "core/parallel.h"
#include "model/hf_config.h"
#include "model/synth.h"
#include "model/presets.h"

namespace lk::cli {
namespace {

bool ends_with(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

// --like: an existing config.json or folder, else a built-in preset id.
Result<ModelSpec> resolve_like(const std::string& like) {
  std::error_code ec;
  if (std::filesystem::exists(like, ec)) return model_spec_from_hf_config_file(like);
  auto p = model_preset(like);
  if (!p.is_ok())
    return not_found("--like '{}' is neither a config.json / model folder nor a preset ({})", like,
                     p.status().message());
  return p;
}

int run_synth(int argc, char** argv) {
  CLI::App app{"Write a random-weight model of a real architecture (GGUF or HF folder)"};
  std::string like, dtype_s = "f16", out;
  uint64_t seed = 0;
  int layers = 0;
  int64_t ctx = 0;
  int threads = 0;
  app.add_option("--like", like,
                 "preset id (e.g. llama-3.1-8b) or a Hugging Face config.json / model folder")
      ->required();
  app.add_option("--dtype", dtype_s,
                 "weight type: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k (HF folder: f32, "
                 "f16, bf16)")
      ->capture_default_str();
  app.add_option("--out", out, "output: a .gguf file, or a folder for a Hugging Face checkpoint")
      ->required();
  app.add_option("--seed", seed, "random seed (same seed, same weights)")->capture_default_str();
  app.add_option("--layers", layers, "override the number of layers");
  app.add_option("--ctx", ctx, "override the context length (max_position_embeddings)");
  app.add_option("-t,--threads", threads, "threads (0: all)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  DType dtype;
  if (!dtype_from_name(dtype_s, &dtype))
    return report_error("synth", invalid_argument("--dtype '{}' is not a weight type (valid: f32, "
                                                  "f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k)",
                                                  dtype_s));
  if (app.count("--layers") && layers <= 0)
    return report_error("synth", invalid_argument("--layers must be positive (got {})", layers));
  if (app.count("--ctx") && ctx <= 0)
    return report_error("synth", invalid_argument("--ctx must be positive (got {})", ctx));
  auto spec = resolve_like(like);
  if (!spec.is_ok()) return report_error("synth", spec.status());
  ModelSpec s = *spec;
  if (layers > 0) s.n_layers = layers;
  if (ctx > 0) s.max_context = ctx;
  s.n_params = 0;  // derived from the (possibly overridden) shapes
  s.n_active_params = 0;
  if (s.name.empty()) s.name = std::filesystem::path(like).stem().string();
  s.name = "synth-" + s.name;
  set_num_threads(threads);

  const auto t0 = std::chrono::steady_clock::now();
  SynthOptions opt{dtype, seed};
  const bool gguf = ends_with(out, ".gguf");
  Status st = gguf ? synth_write_gguf(s, opt, out) : synth_write_hf(s, opt, out);
  if (!st.is_ok()) return report_error("synth", st);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t bytes = 0;
  std::error_code ec;
  if (gguf) {
    bytes = std::filesystem::file_size(out, ec);
  } else {
    for (auto& e : std::filesystem::directory_iterator(out, ec))
      if (e.is_regular_file()) bytes += e.file_size();
  }
  std::printf(
      "wrote %s (%s): %s, %d layers, d_model %d, heads %d/%d, head_dim %d, ffn %d, "
      "vocab %d, ctx %lld\n",
      out.c_str(), gguf ? "gguf" : "hf folder", s.arch.c_str(), s.n_layers, s.d_model, s.n_heads,
      s.n_kv_heads, s.head_dim, s.ffn_dim, s.vocab_size, static_cast<long long>(s.max_context));
  std::printf("  %.4gB parameters, dtype %s, seed %llu, %.1f MB in %.1f s\n",
              s.total_params() / 1e9, dtype_name(dtype), static_cast<unsigned long long>(seed),
              bytes / 1e6, secs);
  return 0;
}

}  // namespace
}  // namespace lk::cli

LK_REGISTER_COMMAND("synth", "write a random-weight model of a real architecture (GGUF or HF)",
                    lk::cli::run_synth);
