// longkv kv-snapshot: session snapshot files of the paged KV manager.
//   inspect FILE   header (model digest, shape, formats, positions, tokens) and, with
//                  --verify (default), every block checksum
//   restore FILE   loads it into a KV manager of the given model digest and shape: refuses
//                  another model's snapshot (exit 2) and prints what was restored
//   synth OUT      writes a snapshot of a synthetic session (for tests, fuzz seeds, demos)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/command.h"
#include "kv/kv_codec.h"
#include "kv/kv_manager.h"
#include "kv/kv_serialize.h"

namespace lk::cli {
namespace {

struct ShapeOpts {
  int layers = 2, kv_heads = 2, head_dim = 32, block_tokens = 16;
  std::string format = "f16", residual = "f16", digest = "synthetic-model";
};

void add_shape(CLI::App* app, ShapeOpts* s) {
  app->add_option("--layers", s->layers, "layers")->capture_default_str();
  app->add_option("--kv-heads", s->kv_heads, "kv heads")->capture_default_str();
  app->add_option("--head-dim", s->head_dim, "head dim")->capture_default_str();
  app->add_option("--block-tokens", s->block_tokens, "tokens per block")->capture_default_str();
  app->add_option("--format", s->format, "f32 f16 bf16 int8 int4 int2")->capture_default_str();
  app->add_option("--residual-format", s->residual, "KIVI residual: f32 f16 bf16")
      ->capture_default_str();
  app->add_option("--model-digest", s->digest, "digest of the model the KV belongs to")
      ->capture_default_str();
}

Result<KvManagerConfig> config_of(const ShapeOpts& s) {
  KvManagerConfig c;
  c.n_layers = s.layers;
  c.n_kv_heads = s.kv_heads;
  c.head_dim = s.head_dim;
  c.block_tokens = s.block_tokens;
  if (!kv_format_from_name(s.format, &c.format))
    return invalid_argument("unknown --format '{}' (valid: f32, f16, bf16, int8, int4, int2)", s.format);
  if (!kv_format_from_name(s.residual, &c.residual_format))
    return invalid_argument("unknown --residual-format '{}' (valid: f32, f16, bf16)", s.residual);
  c.model_digest = s.digest;
  c.budget_bytes = int64_t{4} << 30;
  LK_RETURN_IF_ERROR(c.validate());
  return c;
}

Result<BytesPtr> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("cannot open snapshot '{}'", path);
  std::vector<char> v((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  BytesPtr b = Bytes::make(v.size());
  if (!v.empty()) std::memcpy(b->data.get(), v.data(), v.size());
  return b;
}

int run_inspect(const std::string& path, bool verify, bool json) {
  Result<BytesPtr> bytes = read_all(path);
  if (!bytes.is_ok()) return report_error("kv-snapshot", bytes.status());
  Result<SeqImage> im = parse_seq((*bytes)->data.get(), (*bytes)->size);
  if (!im.is_ok()) return report_error("kv-snapshot", im.status().with_context(path));
  int64_t n_blocks = 0, n_tokens_held = 0;
  for (size_t h = 0; h < im->heads.size(); ++h) {
    for (const auto& b : im->heads[h]) {
      ++n_blocks;
      n_tokens_held += b.n_used;
      if (verify) {
        const BlockLayout l = block_layout(b.format, im->block_tokens, im->head_dim);
        std::vector<uint8_t> data(l.data_bytes), params(l.param_bytes + 1);
        std::vector<int32_t> pos(im->block_tokens);
        Status st = copy_verify_block(*im, b, data.data(), params.data(), pos.data());
        if (!st.is_ok())
          return report_error("kv-snapshot", st.with_context(fmt::format("{}: head {}", path, h)));
      }
    }
  }
  if (json) {
    nlohmann::json j = {{"model_digest", im->model_digest},
                        {"layers", im->n_layers},
                        {"kv_heads", im->n_kv_heads},
                        {"head_dim", im->head_dim},
                        {"block_tokens", im->block_tokens},
                        {"format", kv_format_name(im->format)},
                        {"residual_format", kv_format_name(im->residual_format)},
                        {"length", im->length},
                        {"tokens", im->tokens.size()},
                        {"evicted", im->evicted},
                        {"blocks", n_blocks},
                        {"tokens_held", n_tokens_held},
                        {"bytes", (*bytes)->size},
                        {"checksums_verified", verify}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s: model '%s', %d layers x %d kv heads x head_dim %d, %s (residual %s), "
                "block %d\n  length %lld, %zu token ids, %lld blocks holding %lld token-heads%s, "
                "%zu bytes%s\n",
                path.c_str(), im->model_digest.c_str(), im->n_layers, im->n_kv_heads, im->head_dim,
                kv_format_name(im->format), kv_format_name(im->residual_format), im->block_tokens,
                static_cast<long long>(im->length), im->tokens.size(),
                static_cast<long long>(n_blocks), static_cast<long long>(n_tokens_held),
                im->evicted ? " (with evictions)" : "", (*bytes)->size,
                verify ? ", all checksums ok" : "");
  }
  return 0;
}

int run_kv_snapshot(int argc, char** argv) {
  CLI::App app{"KV session snapshots: inspect, restore, synth"};
  app.require_subcommand(1);
  std::string path;
  bool no_verify = false, json = false;
  auto* inspect = app.add_subcommand("inspect", "print a snapshot's header; verify checksums");
  inspect->add_option("file", path, "snapshot file")->required();
  inspect->add_flag("--no-verify", no_verify, "skip the block checksums");
  inspect->add_flag("--json", json, "JSON output");
  ShapeOpts rs;
  auto* restore = app.add_subcommand("restore", "load a snapshot into a KV manager of a model");
  restore->add_option("file", path, "snapshot file")->required();
  add_shape(restore, &rs);
  ShapeOpts ss;
  int64_t tokens = 100;
  int evict_every = 0;
  auto* synth = app.add_subcommand("synth", "write a snapshot of a synthetic session");
  synth->add_option("out", path, "output file")->required();
  synth->add_option("--tokens", tokens, "session length")->capture_default_str();
  synth->add_option("--evict-every", evict_every,
                    "evict every k-th position from kv head 0 of layer 0 (0: none)");
  add_shape(synth, &ss);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (inspect->parsed()) return run_inspect(path, !no_verify, json);
  if (restore->parsed()) {
    Result<KvManagerConfig> c = config_of(rs);
    if (!c.is_ok()) return report_error("kv-snapshot", c.status());
    auto m = KvManager::create(*c);
    if (!m.is_ok()) return report_error("kv-snapshot", m.status());
    Status st = (*m)->load_snapshot(path, 1);
    if (!st.is_ok()) return report_error("kv-snapshot", st);
    (*m)->check_invariants();
    std::printf("restored %s: length %lld, %zu token ids, %lld device bytes\n", path.c_str(),
                static_cast<long long>((*m)->seq_length(1)), (*m)->tokens(1).size(),
                static_cast<long long>((*m)->seq_bytes(1)));
    return 0;
  }
  Result<KvManagerConfig> c = config_of(ss);
  if (!c.is_ok()) return report_error("kv-snapshot", c.status());
  if (tokens <= 0 || tokens > (int64_t{1} << 24))
    return report_error("kv-snapshot", invalid_argument("--tokens must be in [1, 2^24] (got {})", tokens));
  auto m = KvManager::create(*c);
  if (!m.is_ok()) return report_error("kv-snapshot", m.status());
  KvManager& mgr = **m;
  std::vector<int32_t> toks(tokens), pos(tokens);
  for (int64_t i = 0; i < tokens; ++i) {
    toks[i] = static_cast<int32_t>((i * 7919) % 32000);
    pos[i] = static_cast<int32_t>(i);
  }
  Status st = mgr.append_tokens(1, toks);
  std::vector<float> k(static_cast<size_t>(tokens) * c->n_kv_heads * c->head_dim), v(k.size());
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<float>((i * 37) % 101) / 25.0f - 2.0f;
    v[i] = static_cast<float>((i * 53) % 97) / 24.0f - 2.0f;
  }
  for (int l = 0; l < c->n_layers && st.is_ok(); ++l) st = mgr.append(1, l, pos, k.data(), v.data());
  if (st.is_ok() && evict_every > 0) {
    std::vector<int32_t> drop;
    for (int64_t i = 0; i < tokens; i += evict_every) drop.push_back(static_cast<int32_t>(i));
    st = mgr.evict(1, 0, 0, drop);
  }
  if (st.is_ok()) st = mgr.save_snapshot(1, path);
  if (!st.is_ok()) return report_error("kv-snapshot", st);
  std::printf("wrote %s: %lld tokens, %s\n", path.c_str(), static_cast<long long>(tokens),
              kv_format_name(c->format));
  return 0;
}

}  // namespace

LK_REGISTER_COMMAND("kv-snapshot", "inspect / restore / synth KV session snapshot files",
                    run_kv_snapshot);

}  // namespace lk::cli
