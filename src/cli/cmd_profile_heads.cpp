// longkv profile-heads: scores every (layer, kv-head) as retrieval vs streaming on synthetic
// retrieval prompts (eval/head_profile.h) and writes the head map `--kv duo:R` reads
// (compress/duo.h), by default beside the model.
#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "core/parallel.h"
#include "engine/model_loader.h"
#include "eval/head_profile.h"

namespace lk::cli {
namespace {

int run_profile_heads(int argc, char** argv) {
  CLI::App app{"Score kv heads as retrieval vs streaming (DuoAttention) and write a head map"};
  std::string model_path, tokenizer_path, out;
  eval::HeadProfileOptions o;
  int threads = 0;
  app.add_option("-m,--model", model_path, "model: GGUF, Hugging Face folder, llama2.c .bin")
      ->required();
  app.add_option("--tokenizer", tokenizer_path, "tokenizer (default: the model's own)");
  app.add_option("--task", o.task, "synthetic retrieval task (generator spec)")
      ->capture_default_str();
  app.add_option("--length", o.length, "prompt tokens")->capture_default_str();
  app.add_option("-n,--samples", o.samples, "prompts")->capture_default_str();
  app.add_option("--seed", o.seed, "generator seed")->capture_default_str();
  app.add_option("--sinks", o.sinks, "attention sinks of a streaming head")->capture_default_str();
  app.add_option("--window", o.window, "recent window of a streaming head")->capture_default_str();
  app.add_option("--out", out,
                 "head map file (default: <model folder>/longkv_heads.json or <file>.heads.json)");
  app.add_option("-t,--threads", threads, "threads (0: all)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.length <= 0)
    return report_error("profile-heads", invalid_argument("--length must be positive"));
  set_num_threads(threads);
  auto model = load_model(model_path);
  if (!model) return report_error("profile-heads", model.status());
  if (tokenizer_path.empty()) {
    if (model->format == "llama2c")
      return report_error("profile-heads",
                          invalid_argument("{}: llama2.c checkpoints carry no vocabulary; pass "
                                           "--tokenizer tokenizer.bin",
                                           model_path));
    tokenizer_path = model_path;
  }
  auto tok = load_tokenizer(tokenizer_path);
  if (!tok) return report_error("profile-heads", tok.status());
  auto map = eval::profile_heads(*model, **tok, o);
  if (!map) return report_error("profile-heads", map.status());
  if (out.empty()) out = compress::head_map_default_path(model_path);
  if (auto st = compress::head_map_write(*map, out); !st.is_ok())
    return report_error("profile-heads", st);
  fmt::print(
      "head scores (relative output deviation under sinks={} + window={}; high = "
      "retrieval):\n",
      o.sinks, o.window);
  for (int l = 0; l < map->n_layers; ++l) {
    fmt::print("  layer {:>3}:", l);
    for (int h = 0; h < map->n_kv_heads; ++h)
      fmt::print(" {:.4f}", map->scores[static_cast<size_t>(l) * map->n_kv_heads + h]);
    fmt::print("\n");
  }
  fmt::print("wrote {}\n", out);
  return 0;
}

}  // namespace
LK_REGISTER_COMMAND("profile-heads",
                    "score kv heads as retrieval vs streaming (DuoAttention head map)",
                    run_profile_heads);
}  // namespace lk::cli
