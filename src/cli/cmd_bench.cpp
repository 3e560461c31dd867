// longkv bench: prefill (pp) and decode (tg) speed of a model at several context depths,
// as a % of this machine's measured memory bandwidth and sgemm peak (llama-bench style).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "cli/load_flag.h"
#include "core/parallel.h"
#include "engine/bench.h"
#include "engine/model_loader.h"
#include "kernels/gemm_float.h"

namespace lk::cli {
namespace {

Result<std::vector<int64_t>> parse_depths(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size() || v < 0) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      return invalid_argument("--depth: '{}' is not a non-negative integer (e.g. 0,4096,16384)",
                              item);
    }
  }
  if (out.empty()) return invalid_argument("--depth is empty (e.g. 0,4096,16384)");
  return out;
}

int run_bench_cmd(int argc, char** argv) {
  CLI::App app{"Measure prefill and decode speed against this machine's roofline"};
  std::string model_path, depth_s = "0", kv_name = "f16";
  int threads = 0, n_prompt = 512, n_gen = 128, reps = 1;
  bool json = false, no_roofline = false, prefill_bf16 = false;
  app.add_option("-m,--model", model_path, "model: .gguf, Hugging Face folder, or llama2.c .bin")
      ->required();
  app.add_option("-d,--depth", depth_s, "context depths, comma separated (default 0)");
  app.add_option("-p,--n-prompt", n_prompt, "prefill test length (default 512: pp512)");
  app.add_option("-n,--n-gen", n_gen, "decode test length (default 128: tg128)");
  app.add_option("-r,--reps", reps, "repetitions, best kept (default 1)");
  app.add_option("-t,--threads", threads, "threads (default: all cores)");
  bool no_mmap = false;
  add_no_mmap_flag(app, no_mmap);
  app.add_option("--kv-format", kv_name, "KV cache element type: f16, bf16, f32 (default f16)");
  app.add_flag("--json", json, "print JSON instead of a table");
  app.add_flag("--no-roofline", no_roofline,
               "skip measuring bandwidth and sgemm peak (roofline percentages are then 0)");
  app.add_flag("--prefill-bf16", prefill_bf16,
               "prefill GEMMs of f32/f16/bf16 weights in bf16 (weights and activations rounded "
               "to bf16, AVX-512 BF16; default: exact f32 products)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  BenchOptions o;
  auto depths = parse_depths(depth_s);
  if (!depths) return report_error("bench", depths.status());
  o.depths = depths.value();
  if (n_prompt < 1 || n_gen < 1 || reps < 1 || threads < 0) {
    return report_error("bench", invalid_argument("-p, -n and -r must be >= 1 and -t >= 0"));
  }
  o.measure_machine = !no_roofline;
  o.n_prompt = n_prompt;
  o.n_gen = n_gen;
  o.reps = reps;
  if (!kv_format_from_name(kv_name, &o.kv_format)) {
    return report_error(
        "bench", invalid_argument("unknown --kv-format '{}' (valid: f16, bf16, f32)", kv_name));
  }
  if (Status st = gemm_float_set_bf16(prefill_bf16); !st.is_ok()) return report_error("bench", st);
  set_num_threads(threads);
  apply_no_mmap_flag(no_mmap);
  auto model = load_model(model_path);
  if (!model) return report_error("bench", model.status());
  const Model& m = model.value();
  auto rep = run_bench(m, o);
  if (!rep) return report_error("bench", rep.status());
  const BenchReport& r = rep.value();
  const double gb = 1e9;
  if (json) {
    nlohmann::json j;
    j["model"] = model_path;
    j["format"] = m.format;
    j["dtype"] = dtype_name(m.main_dtype());
    j["weight_bytes"] = m.weight_bytes_per_token();
    j["threads"] = r.threads;
    j["kv_format"] = kv_format_name(o.kv_format);
    j["prefill_gemm"] = prefill_bf16 ? "bf16" : "f32";
    j["n_prompt"] = n_prompt;
    j["n_gen"] = n_gen;
    j["bandwidth_gb_s"] = r.bandwidth.bytes_per_second / gb;
    j["bandwidth_method"] = r.bandwidth.method;
    j["sgemm_peak_gflop_s"] = r.gemm.flops_per_second / gb;
    j["results"] = nlohmann::json::array();
    for (const BenchRow& row : r.rows) {
      j["results"].push_back({{"depth", row.depth},
                              {"prefill_tok_s", row.prefill_tok_s},
                              {"prefill_peak_pct", row.prefill_peak_pct},
                              {"prefill_flop_per_token", row.prefill_flop_per_token},
                              {"decode_tok_s", row.decode_tok_s},
                              {"decode_roofline_pct", row.decode_roofline_pct},
                              {"decode_bandwidth_gb_s", row.decode_bandwidth / gb},
                              {"weight_bytes_per_token", row.weight_bytes_per_token},
                              {"kv_bytes_per_token", row.kv_bytes_per_token}});
    }
    // The first depth's figures at top level too, for scripts that want one number.
    const BenchRow& f = r.rows.front();
    j["prefill_tok_s"] = f.prefill_tok_s;
    j["decode_tok_s"] = f.decode_tok_s;
    j["decode_roofline_pct"] = f.decode_roofline_pct;
    j["prefill_peak_pct"] = f.prefill_peak_pct;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  fmt::print("model: {} ({}, {}, {:.1f} MB of weights read per token), {} threads, KV {}{}\n",
             model_path, m.format, dtype_name(m.main_dtype()), m.weight_bytes_per_token() / 1e6,
             r.threads, kv_format_name(o.kv_format),
             prefill_bf16 ? ", prefill GEMM in bf16 (--prefill-bf16)" : "");
  fmt::print(
      "machine: read bandwidth {:.1f} GB/s ({} MiB buffer, best read loop {}), sgemm peak {:.1f} "
      "GFLOP/s (n={})\n\n",
      r.bandwidth.bytes_per_second / gb, r.bandwidth.buffer_bytes >> 20, r.bandwidth.method,
      r.gemm.flops_per_second / gb, r.gemm.n);
  fmt::print("| test | depth | tok/s | bytes or FLOP / token | % of roofline |\n");
  fmt::print("|---|---:|---:|---:|---:|\n");
  // tg rows: % of the bandwidth re-measured just before each decode (shown in brackets).
  for (const BenchRow& row : r.rows) {
    fmt::print("| pp{} | {} | {:.1f} | {:.2f} GFLOP | {:.1f}% of sgemm peak |\n", n_prompt,
               row.depth, row.prefill_tok_s, row.prefill_flop_per_token / 1e9,
               row.prefill_peak_pct);
    fmt::print(
        "| tg{} | {} | {:.2f} | {:.1f} MB (weights {:.1f} + KV {:.1f}) | {:.1f}% of bandwidth "
        "({:.1f} GB/s) |\n",
        n_gen, row.depth, row.decode_tok_s,
        (row.weight_bytes_per_token + row.kv_bytes_per_token) / 1e6,
        row.weight_bytes_per_token / 1e6, row.kv_bytes_per_token / 1e6, row.decode_roofline_pct,
        row.decode_bandwidth / gb);
  }
  return 0;
}

}  // namespace
LK_REGISTER_COMMAND("bench", "prefill/decode speed at several depths vs the memory/GEMM roofline",
                    run_bench_cmd);
}  // namespace lk::cli
