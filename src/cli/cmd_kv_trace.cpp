// longkv kv-trace: which tokens a KV method keeps, per layer and kv-head, for one prompt, and
// the logits / greedy tokens that follow (eval/kv_trace.h). The comparison with kvpress
// (tools/kvpress_compare.py --trace) reads its --json output.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "core/parallel.h"
#include "engine/model_loader.h"
#include "eval/kv_methods.h"
#include "eval/kv_trace.h"
#include "model/tokenizer/tokenizer.h"

namespace lk::cli {
namespace {

Result<std::vector<int32_t>> parse_ids(const std::string& flag, const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::out_of_range(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      return invalid_argument("{}: '{}' is not a token id", flag, item);
    }
  }
  return ids;
}

std::string preview(const std::vector<int32_t>& pos) {
  std::string s;
  for (size_t i = 0; i < pos.size() && i < 12; ++i) s += (i ? " " : "") + std::to_string(pos[i]);
  if (pos.size() > 12) s += " …";
  return s;
}

int run_kv_trace_cmd(int argc, char** argv) {
  CLI::App app{"Show which tokens a KV method keeps per layer and kv-head for one prompt"};
  std::string model_path, method = "full", prompt, prompt_ids, forced_ids, tokenizer_path;
  std::string decode_eviction = "on";
  int greedy = 0, chunk = 512, threads = 0;
  bool json = false, logits = false;
  app.add_option("-m,--model", model_path, "GGUF file, Hugging Face folder or llama2.c .bin")
      ->required();
  app.add_option("--kv", method, "KV method: full or a compression spec, e.g. snapkv:0.25")
      ->capture_default_str();
  app.add_option("-p,--prompt", prompt,
                 "prompt text (tokenized with BOS by the model's tokenizer)");
  app.add_option("--tokenizer", tokenizer_path, "tokenizer file (llama2.c checkpoints)");
  app.add_option("--prompt-ids", prompt_ids, "prompt token ids, comma-separated (BOS included)");
  app.add_option("--forced-ids", forced_ids,
                 "token ids fed one at a time after the prompt's compression (teacher forcing)");
  app.add_option("-n,--greedy", greedy, "greedy tokens to generate after the forced ones")
      ->capture_default_str();
  app.add_option("--decode-eviction", decode_eviction,
                 "on: the method also evicts while decoding (as longkv eval runs it); off: the "
                 "prompt is compressed once (kvpress's convention)")
      ->capture_default_str();
  app.add_option("--chunk", chunk, "prefill chunk size in tokens")->capture_default_str();
  app.add_option("-t,--threads", threads, "threads (default: all cores)");
  app.add_flag("--json", json, "print the whole trace as JSON");
  app.add_flag("--logits", logits, "with --json: include every logits row");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (decode_eviction != "on" && decode_eviction != "off")
    return report_error(
        "kv-trace", invalid_argument("--decode-eviction '{}' (valid: on, off)", decode_eviction));
  if (prompt.empty() == prompt_ids.empty())
    return report_error("kv-trace",
                        invalid_argument("give exactly one of --prompt TEXT and --prompt-ids IDS"));
  if (Status st = eval::check_kv_method(method); !st.is_ok())
    return report_error("kv-trace", st.with_context("--kv"));
  set_num_threads(threads);
  auto model = load_model(model_path);
  if (!model) return report_error("kv-trace", model.status());

  eval::KvTraceOptions opt;
  opt.method = method;
  opt.greedy = greedy;
  opt.chunk = chunk;
  opt.decode_eviction = decode_eviction == "on";
  opt.keep_logits = logits;
  if (!prompt.empty()) {
    auto tok = load_tokenizer(tokenizer_path.empty() ? model_path : tokenizer_path);
    if (!tok)
      return report_error("kv-trace",
                          tok.status().with_context("--prompt needs the model's tokenizer (or "
                                                    "--tokenizer FILE; else use --prompt-ids)"));
    opt.prompt = (*tok)->encode(prompt, EncodeOptions{true, false});
  } else {
    auto ids = parse_ids("--prompt-ids", prompt_ids);
    if (!ids) return report_error("kv-trace", ids.status());
    opt.prompt = *ids;
  }
  if (!forced_ids.empty()) {
    auto ids = parse_ids("--forced-ids", forced_ids);
    if (!ids) return report_error("kv-trace", ids.status());
    opt.forced = *ids;
  }
  auto trace = eval::run_kv_trace(*model, opt);
  if (!trace) return report_error("kv-trace", trace.status());
  const eval::KvTrace& t = *trace;

  if (json) {
    nlohmann::json j;
    j["model"] = model_path;
    j["method"] = method;
    j["decode_eviction"] = opt.decode_eviction;
    j["prompt_tokens"] = opt.prompt.size();
    j["n_layers"] = t.n_layers;
    j["n_kv_heads"] = t.n_kv_heads;
    j["keep_per_head"] = t.keep_per_head;
    j["kept"] = t.kept;
    j["argmax"] = t.argmax;
    if (logits) j["logits"] = t.logits;
    j["greedy"] = t.greedy;
    j["held_end"] = t.held_end;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("kv-trace: %s, %s, %zu prompt tokens, keep per head %lld\n", model_path.c_str(),
              method.c_str(), opt.prompt.size(), static_cast<long long>(t.keep_per_head));
  for (int l = 0; l < t.n_layers; ++l)
    for (int h = 0; h < t.n_kv_heads; ++h)
      std::printf("  layer %d head %d: %zu kept: %s\n", l, h, t.kept[l][h].size(),
                  preview(t.kept[l][h]).c_str());
  std::printf("  argmax after prompt and forced tokens:");
  for (int32_t id : t.argmax) std::printf(" %d", id);
  std::printf("\n");
  if (!t.greedy.empty()) {
    std::printf("  greedy:");
    for (int32_t id : t.greedy) std::printf(" %d", id);
    std::printf("\n");
  }
  return 0;
}

}  // namespace
}  // namespace lk::cli

LK_REGISTER_COMMAND("kv-trace", "show which tokens a KV method keeps per layer and kv-head",
                    lk::cli::run_kv_trace_cmd);
