// longkv run: load a model (GGUF, Hugging Face folder, llama2.c .bin), tokenize a prompt
// (optionally through the chat template), generate with the fast batched engine and stream
// the text to stdout; prefill and decode speed go to stderr.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/command.h"
#include "cli/load_flag.h"
#include "compress/dms_model.h"
#include "compress/driver.h"
#include "compress/kv_for_spec.h"
#include "core/parallel.h"
#include "engine/context_switch.h"
#include "engine/forward.h"
#include "engine/generate.h"
#include "engine/kv_setup.h"
#include "engine/model_loader.h"
#include "kernels/gemm_float.h"
#include "kv/kv_manager.h"
#include "model/chat_prompt.h"
#include "model/tokenizer/tokenizer.h"

namespace lk::cli {
namespace {

uint64_t seed_or_clock(int64_t seed) {
  return seed >= 0
             ? static_cast<uint64_t>(seed)
             : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
}

Status write_logits(const std::string& path, const std::vector<float>& logits) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return io_error("cannot write --dump-logits '{}'", path);
  const size_t n = std::fwrite(logits.data(), 4, logits.size(), f);
  const bool ok = std::fclose(f) == 0 && n == logits.size();
  return ok ? Status::ok() : io_error("short write to '{}'", path);
}

// Tokens one generation may reach: prompt + n_predict, at most the context limit.
int64_t run_tokens(size_t n_prompt, int n_predict, int64_t max_context) {
  const int64_t n = static_cast<int64_t>(n_prompt) + n_predict;
  return max_context > 0 ? std::min(n, max_context) : n;
}

// The cache and forward pass of one run: for `full` the cache --kv-cache/--kv-format/
// --kv-budget/--kv-block select (engine/kv_setup.h: the paged KV manager by default), else the
// paged KV manager driven by a compression spec (`--kv`, compress/driver.h). `auto` is the
// model's own DMS when its config.json carries dms_* keys, else full. The --swap-every drill
// runs on whichever manager holds the sequence.
struct RunKv {
  compress::DmsModel dms;
  compress::ModelContext ctx;
  EngineKvCache full;             // `full`
  std::unique_ptr<KvManager> kv;  // compressed specs
  std::unique_ptr<compress::CompressionDriver> driver;
  std::unique_ptr<compress::DmsChannelMask> mask;
  std::unique_ptr<Forward> fwd;
  std::unique_ptr<ContextSwitcher> switcher;
  std::string spec_text;
  KvFormat format = KvFormat::kF16;

  // Sizes the default --kv-budget for the prompt plus opt->max_new_tokens (capped by
  // opt->max_context) and installs the compression driver's end-of-prefill hook in *opt.
  Status init(const Model& m, const std::string& spec_in, KvCacheOptions kvo, size_t n_prompt,
              int chunk, const ContextSwitchOptions& swo, GenerateOptions* opt) {
    const int64_t max_tokens = run_tokens(n_prompt, opt->max_new_tokens, opt->max_context);
    LK_ASSIGN_OR_RETURN(dms, compress::dms_model_load(m.spec, m.source));
    ctx.model_path = m.source;
    ctx.dms = &dms;
    spec_text = spec_in;
    if (spec_text == "auto")
      spec_text = dms.present() && !dms.cfg.disable_eviction ? "dms" : "full";
    auto spec = compress::parse_compression_spec(spec_text);
    if (!spec) return spec.status();
    LK_ASSIGN_OR_RETURN(format, engine_kv_format(m, kvo.format));
    if (spec->is_full()) {
      kvo.max_tokens = max_tokens;
      LK_ASSIGN_OR_RETURN(full, make_engine_kv_cache(m, kvo));
      fwd = std::make_unique<Forward>(m, full.cache.get(), ForwardOptions{chunk});
      if (dms.neuron()) {
        mask = std::make_unique<compress::DmsChannelMask>(&dms);
        fwd->set_observer(mask.get());
      }
    } else {
      if (kvo.cache != "paged" || !kvo.budget.empty() || kvo.block_tokens != 0)
        return invalid_argument(
            "--kv-cache, --kv-budget and --kv-block apply to --kv full; --kv {} sizes its own "
            "paged cache",
            spec_text);
      LK_ASSIGN_OR_RETURN(
          kv, compress::kv_manager_for_spec(*spec,
                                            {m.spec.n_layers, m.spec.n_kv_heads, m.spec.head_dim,
                                             m.spec.max_context, m.spec.name},
                                            format));
      LK_ASSIGN_OR_RETURN(
          driver, compress::CompressionDriver::create(*spec, kv.get(), m.spec.n_heads, &ctx));
      fwd = std::make_unique<Forward>(m, kv.get(), ForwardOptions{chunk});
      fwd->set_observer(driver.get());
      driver->begin(0);
    }
    LK_ASSIGN_OR_RETURN(switcher, ContextSwitcher::create(swo, manager()));
    if (driver) opt->after_prefill = [this] { return driver->end_prefill(0); };
    return Status::ok();
  }
  KvManager* manager() const { return kv ? kv.get() : full.manager; }
  std::string describe() const {
    return kv ? fmt::format("{} {}", kv_format_name(kv->config().format), spec_text)
              : full.describe();
  }
  // stderr: swaps, the pool's bytes, and what a compressed cache holds at the end.
  void report() const {
    if (const std::string sw = switcher->summary(); !sw.empty()) fmt::print(stderr, "{}\n", sw);
    if (full.manager) {
      const KvUsage u = full.manager->usage();
      fmt::print(stderr, "kv: {} blocks, {:.3f} MiB of {:.3f} MiB budget ({})\n", u.blocks_in_use,
                 u.used_bytes / 1048576.0, u.budget_bytes / 1048576.0, full.describe());
    }
    if (!driver) return;
    const nlohmann::json r = driver->report();
    fmt::print(stderr, "kv: {} | retained {:.3f} of tokens, {} evictions, {} bytes held\n",
               spec_text, r["retained_ratio"].get<double>(), r["evictions"].get<int64_t>(),
               kv->seq_bytes(0));
    if (r.contains("dms")) fmt::print(stderr, "kv: dms {}\n", r["dms"].dump());
    if (r.contains("mixed")) fmt::print(stderr, "kv: mixed {}\n", r["mixed"].dump());
  }
};

// --prompt-ids: ids in, ids out (no tokenizer), e.g. for checks against transformers.
int run_ids_mode(const Model& m, const std::string& ids_s, const std::string& dump_logits,
                 int n_predict, float temp, int top_k, float top_p, int64_t seed, int chunk,
                 int64_t ctx, const KvCacheOptions& kvo, const std::string& kv_spec,
                 const ContextSwitchOptions& swo) {
  std::vector<int32_t> ids;
  std::stringstream ss(ids_s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v >= m.spec.vocab_size) throw std::out_of_range(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      return report_error("run", invalid_argument("--prompt-ids: '{}' is not a token id in [0, {})",
                                                  item, m.spec.vocab_size));
    }
  }
  if (ids.empty()) return report_error("run", invalid_argument("--prompt-ids is empty"));
  GenerateOptions opt;
  opt.max_new_tokens = n_predict;
  opt.sampler = {temp, top_k, top_p, seed_or_clock(seed)};
  opt.max_context = ctx > 0 ? ctx : m.spec.max_context;
  std::vector<float> prompt_logits;
  if (!dump_logits.empty()) opt.prompt_logits = &prompt_logits;
  RunKv rk;
  if (auto st = rk.init(m, kv_spec, kvo, ids.size(), chunk, swo, &opt); !st.is_ok())
    return report_error("run", st);
  Status swap_status;
  int64_t n_out = 0;
  auto res = generate(*rk.fwd, 0, ids, opt, [&](int32_t id) {
    std::printf(n_out == 0 ? "%d" : " %d", id);
    std::fflush(stdout);
    swap_status = rk.switcher->after_token(*rk.fwd, 0, ++n_out);
    return swap_status.is_ok();
  });
  if (!res) return report_error("run", res.status());
  if (!swap_status.is_ok()) return report_error("run", swap_status);
  std::printf("\n");
  rk.report();
  if (!dump_logits.empty()) {
    if (auto st = write_logits(dump_logits, prompt_logits); !st.is_ok())
      return report_error("run", st);
  }
  return 0;
}

int run_run(int argc, char** argv) {
  CLI::App app{"Generate text with a model on the CPU"};
  std::string model_path, tokenizer_path, prompt, prompt_file, system, template_name;
  std::string prompt_ids_s, dump_logits;
  std::string kv_spec = "auto";
  KvCacheOptions kvo;
  ContextSwitchOptions swo;
  int n_predict = 256, threads = 0, chunk = 512, top_k = 0;
  int64_t ctx = 0;
  float temp = 0.8f, top_p = 0.9f;
  int64_t seed = -1;
  bool chat = false, raw = false, no_echo = false, prefill_bf16 = false;
  app.add_option("-m,--model", model_path,
                 "model: a .gguf file, a Hugging Face folder, or a llama2.c .bin checkpoint")
      ->required();
  app.add_option("-p,--prompt", prompt, "prompt text (default: empty, i.e. start from BOS)");
  app.add_option("-f,--file", prompt_file, "read the prompt from a file");
  app.add_option("--prompt-ids", prompt_ids_s,
                 "prompt as token ids (comma separated) instead of text: no tokenizer is used and "
                 "the generated ids are printed");
  app.add_option("--dump-logits", dump_logits,
                 "write the float32 logits of every prompt position [n_prompt][vocab] to a file");
  app.add_option("-n,--n-predict", n_predict, "tokens to generate (default 256)");
  app.add_option("--temp", temp, "temperature; 0 = greedy (default 0.8)");
  app.add_option("--top-k", top_k, "keep the k most likely tokens; 0 = off (default 0)");
  app.add_option("--top-p", top_p, "nucleus sampling mass; 1 = off (default 0.9)");
  app.add_option("--seed", seed, "sampling seed (default: from the clock, printed)");
  app.add_flag("--chat", chat, "wrap the prompt as one user turn with the model's chat template");
  app.add_option("--system", system, "system message for --chat");
  app.add_option("--chat-template", template_name,
                 "template family instead of the model's (llama3, chatml, qwen3, mistral, llama2)");
  app.add_flag("--raw", raw, "tokenize the prompt as is: no chat template, no BOS");
  app.add_flag("--no-echo", no_echo, "do not print the prompt before the generated text");
  app.add_flag("--prefill-bf16", prefill_bf16,
               "prefill GEMMs of f32/f16/bf16 weights in bf16 (weights and activations rounded "
               "to bf16, AVX-512 BF16; default: exact f32 products)");
  app.add_option("-t,--threads", threads, "threads (default: all cores)");
  bool no_mmap = false;
  add_no_mmap_flag(app, no_mmap);
  app.add_option("--tokenizer", tokenizer_path,
                 "tokenizer file or folder (needed for llama2.c .bin models; default: the model)");
  app.add_option("--kv-cache", kvo.cache,
                 "KV cache for --kv full: paged (block pool with a byte budget; default) or "
                 "contiguous");
  app.add_option("--kv-format", kvo.format,
                 "KV storage: auto, f32, f16, bf16, int8, int4 (kivi4), int2 (kivi2) "
                 "(auto: f32 for f32 models, else f16; int formats need the paged cache)");
  app.add_option("--kv-budget", kvo.budget,
                 "paged cache byte budget, e.g. 64MiB, 2GiB, 1GB, 123456 (default: exactly what "
                 "prompt + -n tokens need)");
  app.add_option("--kv-block", kvo.block_tokens,
                 "paged cache tokens per block (default 16; 128 for int4/int2, the KIVI group)");
  app.add_option("--swap-every", swo.every,
                 "context-switch drill: swap the sequence out and back in after every N "
                 "generated tokens (paged cache; 0 = never)");
  app.add_option("--swap-tier", swo.tier, "tier for --swap-every: host or disk (default host)");
  app.add_option("--swap-dir", swo.dir, "disk tier directory (default: a temp dir, removed)");
  app.add_option("--swap-fault", swo.fault,
                 "fault drill for --swap-every: none, lose or corrupt every tier copy (swap-in "
                 "then recomputes from the tokens; the output must not change)");
  app.add_option("--kv", kv_spec,
                 "KV compression spec (docs/compress.md), e.g. dms, snapkv:0.25, streaming:4x; "
                 "auto (default): the model's own DMS when its config.json has dms_* keys, else "
                 "full");
  app.add_option("-c,--ctx", ctx, "context limit in tokens (default: the model's trained context)");
  app.add_option("--chunk", chunk, "prefill chunk size in tokens (default 512)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (threads < 0)
    return report_error("run", invalid_argument("-t must be >= 0 (got {})", threads));
  if (chunk <= 0)
    return report_error("run", invalid_argument("--chunk must be > 0 (got {})", chunk));
  if (n_predict < 0)
    return report_error("run", invalid_argument("-n must be >= 0 (got {})", n_predict));
  if (!prompt_file.empty()) {
    std::ifstream f(prompt_file, std::ios::binary);
    if (!f) return report_error("run", not_found("cannot open --file '{}'", prompt_file));
    std::stringstream ss;
    ss << f.rdbuf();
    prompt = ss.str();
  }
  if (Status st = gemm_float_set_bf16(prefill_bf16); !st.is_ok()) return report_error("run", st);
  set_num_threads(threads);
  apply_no_mmap_flag(no_mmap);

  auto model = load_model(model_path);
  if (!model) return report_error("run", model.status());
  const Model& m = model.value();
  if (auto f = engine_kv_format(m, kvo.format); !f) return report_error("run", f.status());
  if (!prompt_ids_s.empty())
    return run_ids_mode(m, prompt_ids_s, dump_logits, n_predict, temp, top_k, top_p, seed, chunk,
                        ctx, kvo, kv_spec, swo);
  if (tokenizer_path.empty()) {
    if (m.format == "llama2c") {
      return report_error("run", invalid_argument("{}: llama2.c checkpoints carry no vocabulary; "
                                                  "pass --tokenizer tokenizer.bin",
                                                  model_path));
    }
    tokenizer_path = model_path;
  }
  auto tok = load_tokenizer(tokenizer_path);
  if (!tok) return report_error("run", tok.status());
  const Tokenizer& t = *tok.value();
  if (t.vocab_size() > m.spec.vocab_size) {
    return report_error("run", invalid_argument("tokenizer {} has {} tokens but the model's "
                                                "vocabulary is {}",
                                                tokenizer_path, t.vocab_size(), m.spec.vocab_size));
  }

  std::string text = prompt;
  bool add_bos = !raw;
  if (chat && !raw) {
    auto rendered = render_chat_prompt(t, template_name, system, prompt);
    if (!rendered) return report_error("run", rendered.status());
    text = rendered.value();
    add_bos = false;  // the template writes BOS itself where the model wants one
  }
  std::vector<int32_t> ids = t.encode(text, EncodeOptions{add_bos, /*parse_special=*/chat && !raw});
  if (ids.empty()) {
    if (t.bos_id() < 0) {
      return report_error("run", invalid_argument("empty prompt and the tokenizer has no BOS token "
                                                  "to start from"));
    }
    ids.push_back(t.bos_id());
  }

  GenerateOptions opt;
  opt.max_new_tokens = n_predict;
  opt.sampler.temperature = temp;
  opt.sampler.top_k = top_k;
  opt.sampler.top_p = top_p;
  opt.sampler.seed = seed_or_clock(seed);
  opt.stop_ids = t.eog_ids();
  // llama2.c's stories models separate stories with BOS; run.c stops there.
  if (m.format == "llama2c" && t.bos_id() >= 0) opt.stop_ids.push_back(t.bos_id());
  opt.max_context = ctx > 0 ? ctx : m.spec.max_context;
  std::vector<float> prompt_logits;
  if (!dump_logits.empty()) opt.prompt_logits = &prompt_logits;
  if (auto st = sampler_config_validate(opt.sampler); !st.is_ok()) return report_error("run", st);

  RunKv rk;
  if (auto st = rk.init(m, kv_spec, kvo, ids.size(), chunk, swo, &opt); !st.is_ok())
    return report_error("run", st);
  Status swap_status;
  int64_t n_out = 0;

  fmt::print(stderr,
             "longkv run: {} ({}, {}, {} layers, d={}, kv {}), {} prompt tokens, {} threads, "
             "seed {}\n",
             model_path, m.format, dtype_name(m.main_dtype()), m.spec.n_layers, m.spec.d_model,
             rk.describe(), ids.size(), num_threads(), opt.sampler.seed);
  if (!no_echo && !chat) {
    std::string shown = t.decode(ids);
    std::fwrite(shown.data(), 1, shown.size(), stdout);
    std::fflush(stdout);
  }
  TokenStreamDecoder stream(t);
  if (!no_echo && !chat && ids.size() > 1) {
    for (int32_t id : ids) stream.push(id);  // continue the text where the prompt ended
  } else if (ids.size() == 1 && ids[0] == t.bos_id()) {
    stream.push(ids[0]);
  }
  auto res = generate(*rk.fwd, 0, ids, opt, [&](int32_t id) {
    const std::string piece = stream.push(id);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    swap_status = rk.switcher->after_token(*rk.fwd, 0, ++n_out);
    return swap_status.is_ok();
  });
  if (!res) return report_error("run", res.status());
  if (!swap_status.is_ok()) return report_error("run", swap_status);
  const std::string tail = stream.flush();
  std::fwrite(tail.data(), 1, tail.size(), stdout);
  std::printf("\n");
  std::fflush(stdout);
  if (!dump_logits.empty()) {
    if (auto st = write_logits(dump_logits, prompt_logits); !st.is_ok())
      return report_error("run", st);
  }
  rk.report();
  const GenerateResult& r = res.value();
  const double pf = r.prefill_seconds > 0 ? r.prompt_tokens / r.prefill_seconds : 0;
  const double dc = r.decode_seconds > 0 ? r.decode_forwards / r.decode_seconds : 0;
  std::fprintf(stderr,
               "prefill: %lld tokens in %.3f s (%.1f tok/s) | decode: %zu tokens, %lld forwards in "
               "%.3f s (%.1f tok/s)%s\n",
               static_cast<long long>(r.prompt_tokens), r.prefill_seconds, pf, r.tokens.size(),
               static_cast<long long>(r.decode_forwards), r.decode_seconds, dc,
               r.stopped_by_token       ? " [end of text]"
               : r.stopped_by_context   ? " [context full]"
               : r.stopped_by_kv_budget ? " [kv budget full]"
                                        : "");
  return 0;
}

}  // namespace
LK_REGISTER_COMMAND("run", "generate text with a model (GGUF, HF folder, llama2.c .bin)", run_run);
}  // namespace lk::cli
