// longkv bench-kv: context-switch bandwidth of each KV tier (swap_out / swap_in of a whole
// session through the paged manager) next to the tier's raw bandwidth measured in the same
// run; and --mem-check: the bytes of a long session in a quantized format vs f16, by the
// manager's accounting and by process RSS.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "kv/kv_bench.h"
#include "kv/redis_process.h"

namespace lk::cli {
namespace {

Status parse_host_port(const std::string& s, RedisTierConfig* rc) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return invalid_argument("--redis must be HOST:PORT (got '{}')", s);
  rc->host = s.substr(0, colon);
  try {
    rc->port = std::stoi(s.substr(colon + 1));
  } catch (...) {
    return invalid_argument("--redis port is not a number in '{}'", s);
  }
  if (rc->port <= 0 || rc->port > 65535)
    return invalid_argument("--redis port out of range in '{}'", s);
  return Status::ok();
}

int run_bench_kv(int argc, char** argv) {
  CLI::App app{"Swap bandwidth of the KV tiers vs raw bandwidth (and the KV memory check)"};
  std::string tier = "all", format_name = "f16", cache_dir, redis_addr, redis_password;
  TierBenchOptions o;
  int64_t tokens = -1;
  int block_tokens = -1;
  bool json = false, mem_check = false, no_fsync = false;
  app.add_option("--tier", tier, "host | disk | redis | all")->capture_default_str();
  app.add_option("--tokens", tokens,
                 "session length in tokens (default 2048; 131072 with --mem-check)");
  app.add_option("--format", format_name,
                 "KV storage format: f32 f16 bf16 int8 int4 int2 "
                 "(default f16; int4 with --mem-check)");
  app.add_option("--layers", o.shape.n_layers, "model shape: layers (Llama-3.1-8B: 32)")
      ->capture_default_str();
  app.add_option("--kv-heads", o.shape.n_kv_heads, "model shape: kv heads")->capture_default_str();
  app.add_option("--head-dim", o.shape.head_dim, "model shape: head dim")->capture_default_str();
  app.add_option("--block-tokens", block_tokens,
                 "tokens per block (default 16; 128 with --mem-check, the KIVI group)");
  app.add_option(
         "--repeat", o.repeat,
         "repetitions, each swap-out, swap-in, raw write, raw read (best and median reported)")
      ->capture_default_str();
  app.add_option("--cache-dir", cache_dir, "disk tier directory (default: a temp dir)");
  app.add_flag("--no-fsync", no_fsync, "disk tier: skip fsync (raw write skips it too)");
  app.add_option("--redis", redis_addr,
                 "HOST:PORT of a Redis server (default: start a private redis-server)");
  app.add_option("--redis-password", redis_password, "AUTH password for --redis");
  app.add_flag("--json", json, "print JSON (keys tier, swap_out_gbps, swap_in_gbps, raw_gbps)");
  app.add_flag("--mem-check", mem_check,
               "measure the bytes of a --tokens session at --format vs f16 (accounting and RSS)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  KvFormat format;
  const bool format_given = app.count("--format") > 0;
  if (!kv_format_from_name(format_name, &format))
    return report_error("bench-kv", invalid_argument("unknown --format '{}' (valid: f32, f16, "
                                                     "bf16, int8, int4, int2)",
                                                     format_name));
  if (o.shape.n_layers <= 0 || o.shape.n_kv_heads <= 0 || o.shape.head_dim <= 0 ||
      o.shape.head_dim % 4 != 0)
    return report_error("bench-kv", invalid_argument("--layers, --kv-heads must be positive and "
                                                     "--head-dim a positive multiple of 4"));

  if (mem_check) {
    MemCheckOptions mo;
    mo.shape = o.shape;
    mo.tokens = tokens > 0 ? tokens : mo.tokens;
    mo.format = format_given ? format : KvFormat::kInt4;
    mo.block_tokens = block_tokens > 0 ? block_tokens : mo.block_tokens;
    if (tokens == 0 || tokens < -1)
      return report_error("bench-kv", invalid_argument("--tokens must be positive"));
    Result<MemCheckResult> r = kv_mem_check(mo);
    if (!r.is_ok()) return report_error("bench-kv", r.status());
    if (json) {
      nlohmann::json j = {{"tokens", mo.tokens},
                          {"format", kv_format_name(mo.format)},
                          {"layers", mo.shape.n_layers},
                          {"kv_heads", mo.shape.n_kv_heads},
                          {"head_dim", mo.shape.head_dim},
                          {"block_tokens", mo.block_tokens},
                          {"manager_bytes", r->manager_bytes},
                          {"f16_bytes", r->f16_bytes},
                          {"rss_delta_bytes", r->rss_delta},
                          {"accounting_ratio", r->accounting_ratio},
                          {"rss_ratio", r->rss_ratio}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf(
          "KV memory check: %lld tokens, %d layers x %d kv heads x head_dim %d, %s, "
          "block %d\n",
          static_cast<long long>(mo.tokens), mo.shape.n_layers, mo.shape.n_kv_heads,
          mo.shape.head_dim, kv_format_name(mo.format), mo.block_tokens);
      std::printf("  f16 bytes (same layout)   %14lld\n", static_cast<long long>(r->f16_bytes));
      std::printf("  manager accounting        %14lld  = %5.1f%% of f16\n",
                  static_cast<long long>(r->manager_bytes), 100 * r->accounting_ratio);
      std::printf("  process RSS growth        %14lld  = %5.1f%% of f16\n",
                  static_cast<long long>(r->rss_delta), 100 * r->rss_ratio);
    }
    return 0;
  }

  if (tokens == 0 || tokens < -1)
    return report_error("bench-kv", invalid_argument("--tokens must be positive"));
  o.tokens = tokens > 0 ? tokens : 2048;
  o.format = format;
  o.block_tokens = block_tokens > 0 ? block_tokens : 16;
  o.fsync = !no_fsync;
  std::vector<std::string> tiers;
  if (tier == "all")
    tiers = {"host", "disk", "redis"};
  else if (tier == "host" || tier == "disk" || tier == "redis")
    tiers = {tier};
  else
    return report_error(
        "bench-kv", invalid_argument("unknown --tier '{}' (valid: host, disk, redis, all)", tier));
  std::filesystem::path tmp_dir;
  if (cache_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "longkv-bench-kv-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      return report_error("bench-kv", io_error("cannot create a temp dir"));
    tmp_dir = tmpl;
    cache_dir = tmpl;
  }
  o.cache_dir = cache_dir;
  std::unique_ptr<RedisProcess> redis;
  nlohmann::json out = nlohmann::json::array();
  int rc = 0;
  if (!json)
    std::printf("%-6s %12s | %8s %8s %6s | %8s %8s %6s   (GB/s, medians of %d)\n", "tier", "bytes",
                "swap_out", "raw_out", "%", "swap_in", "raw_in", "%", o.repeat);
  for (const std::string& t : tiers) {
    TierBenchOptions to = o;
    to.tier = t;
    if (t == "redis") {
      if (!redis_addr.empty()) {
        Status st = parse_host_port(redis_addr, &to.redis);
        if (!st.is_ok()) return report_error("bench-kv", st);
        to.redis.password = redis_password;
      } else {
        Result<std::unique_ptr<RedisProcess>> rp = RedisProcess::start();
        if (!rp.is_ok()) {
          if (tier == "all") {
            std::fprintf(stderr, "longkv bench-kv: redis skipped: %s\n",
                         rp.status().to_string().c_str());
            continue;
          }
          return report_error("bench-kv", rp.status());
        }
        redis = std::move(rp).value();
        to.redis.port = redis->port();
      }
    }
    Result<TierBenchResult> r = bench_tier(to);
    if (!r.is_ok()) {
      rc = report_error("bench-kv", r.status().with_context("tier " + t));
      continue;
    }
    // Each direction against the same direction of the raw transfer, medians of the run.
    const double out_pct = 100 * r->median_swap_out_gbps / r->median_raw_out_gbps;
    const double in_pct = 100 * r->median_swap_in_gbps / r->median_raw_in_gbps;
    const double pct = std::min(out_pct, in_pct);
    if (json) {
      out.push_back({{"tier", r->tier},
                     {"swap_out_gbps", r->swap_out_gbps},
                     {"swap_in_gbps", r->swap_in_gbps},
                     {"raw_gbps", r->raw_gbps},
                     {"raw_out_gbps", r->raw_out_gbps},
                     {"raw_in_gbps", r->raw_in_gbps},
                     {"bytes", r->bytes},
                     {"tokens", to.tokens},
                     {"format", kv_format_name(to.format)},
                     {"block_tokens", to.block_tokens},
                     {"repeat", to.repeat},
                     {"median_swap_out_gbps", r->median_swap_out_gbps},
                     {"median_swap_in_gbps", r->median_swap_in_gbps},
                     {"median_raw_out_gbps", r->median_raw_out_gbps},
                     {"median_raw_in_gbps", r->median_raw_in_gbps},
                     {"out_pct_of_raw", out_pct},
                     {"in_pct_of_raw", in_pct},
                     {"pct_of_raw", pct}});
    } else {
      std::printf("%-6s %12lld | %8.2f %8.2f %5.0f%% | %8.2f %8.2f %5.0f%%\n", r->tier.c_str(),
                  static_cast<long long>(r->bytes), r->median_swap_out_gbps, r->median_raw_out_gbps,
                  out_pct, r->median_swap_in_gbps, r->median_raw_in_gbps, in_pct);
    }
  }
  if (json)
    std::printf("%s\n", (tiers.size() == 1 && out.size() == 1 ? out[0] : out).dump(2).c_str());
  if (!tmp_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tmp_dir, ec);
  }
  return rc;
}

}  // namespace

LK_REGISTER_COMMAND("bench-kv", "KV tier swap bandwidth vs raw bandwidth; KV memory check",
                    run_bench_kv);

}  // namespace lk::cli
