// longkv inspect: what is in a model file — format, metadata, the ModelSpec longkv derives
// from it, and the tensor table; --dump writes one tensor dequantized to f32 (used by the
// cross-check against the gguf Python package).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/command.h"
#include "model/checkpoint.h"
#include "model/gguf_reader.h"
#include "model/gguf_spec.h"
#include "model/quant.h"

namespace lk::cli {
namespace {

const char* rope_scaling_name(RopeScaling r) {
  switch (r) {
    case RopeScaling::kNone:
      return "none";
    case RopeScaling::kLinear:
      return "linear";
    case RopeScaling::kLlama3:
      return "llama3";
    case RopeScaling::kYarn:
      return "yarn";
  }
  return "?";
}

void print_spec(const ModelSpec& s) {
  std::printf("model spec:\n");
  std::printf("  name %s, arch %s\n", s.name.c_str(), s.arch.c_str());
  std::printf("  layers %d, d_model %d, heads %d, kv_heads %d (%s), head_dim %d, ffn %d\n",
              s.n_layers, s.d_model, s.n_heads, s.n_kv_heads,
              s.n_kv_heads == s.n_heads ? "MHA"
              : s.n_kv_heads == 1       ? "MQA"
                                        : "GQA",
              s.head_dim, s.ffn_dim);
  std::printf("  vocab %d, context %lld, tied embeddings %s, qkv bias %s, qk norm %s\n",
              s.vocab_size, static_cast<long long>(s.max_context), s.tied_embeddings ? "yes" : "no",
              s.qkv_bias ? "yes" : "no", s.qk_norm ? "yes" : "no");
  std::printf("  rms_eps %g, rope theta %g, scaling %s", s.rms_eps, s.rope_theta,
              rope_scaling_name(s.rope_scaling));
  if (s.rope_scaling == RopeScaling::kLlama3)
    std::printf(" (factor %g, low %g, high %g, original context %lld)", s.rope_factor,
                s.rope_low_freq_factor, s.rope_high_freq_factor,
                static_cast<long long>(s.rope_original_context));
  else if (s.rope_scaling != RopeScaling::kNone)
    std::printf(" (factor %g)", s.rope_factor);
  std::printf("\n");
  if (s.is_moe())
    std::printf("  experts %d (%d active, %d shared)\n", s.n_experts, s.n_experts_active,
                s.n_shared_experts);
  if (s.is_mla())
    std::printf("  MLA: kv_lora_rank %d, qk_rope_head_dim %d\n", s.kv_lora_rank,
                s.qk_rope_head_dim);
  std::printf("  parameters %.4gB (from shapes), KV elements per token %lld\n",
              s.total_params() / 1e9,
              static_cast<long long>(s.kv_elements_per_token_per_layer()) * s.n_layers);
}

std::string shape_str(const TensorView& t) {
  std::string s = "[";
  for (int d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

void print_tensors(const std::vector<TensorView>& ts, bool all) {
  std::map<std::string, std::pair<int, int64_t>> by_type;
  int64_t elems = 0, bytes = 0;
  for (const auto& t : ts) {
    auto& b = by_type[dtype_name(t.dtype)];
    ++b.first;
    b.second += t.nbytes;
    elems += t.n_elements();
    bytes += t.nbytes;
  }
  std::printf("tensors: %zu, %.4gB elements, %.1f MB", ts.size(), elems / 1e9, bytes / 1e6);
  for (const auto& [name, b] : by_type) std::printf("; %s: %d", name.c_str(), b.first);
  std::printf("\n");
  std::printf("  %-48s %-6s %-22s %s\n", "name", "type", "ne (fastest first)", "bytes");
  size_t shown = 0;
  for (const auto& t : ts) {
    if (!all && shown >= 24 && ts.size() > 30) {
      std::printf("  ... %zu more (--all to list every tensor)\n", ts.size() - shown);
      break;
    }
    std::printf("  %-48s %-6s %-22s %lld\n", t.name.c_str(), dtype_name(t.dtype),
                shape_str(t).c_str(), static_cast<long long>(t.nbytes));
    ++shown;
  }
}

Status dump_tensor(const TensorView& t, const std::string& out) {
  LK_ASSIGN_OR_RETURN(std::vector<float> v, dequantize_tensor(t));
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  f.close();
  if (!f) return io_error("{}: write failed", out);
  std::printf("wrote %s: %zu f32 values of %s (%s)\n", out.c_str(), v.size(), t.name.c_str(),
              dtype_name(t.dtype));
  return Status::ok();
}

int run_inspect(int argc, char** argv) {
  CLI::App app{"Show a model file's metadata, ModelSpec and tensors"};
  std::string path, dump, out;
  bool header_only = false, all = false, no_meta = false;
  app.add_option("model", path, "a .gguf file or a Hugging Face folder")->required();
  app.add_flag("--header-only", header_only, "GGUF: read metadata and tensor infos only");
  app.add_flag("--all", all, "list every tensor and the whole of long metadata arrays");
  app.add_flag("--no-metadata", no_meta, "skip the metadata listing");
  app.add_option("--dump", dump, "write this tensor, dequantized to little-endian f32, to --out");
  app.add_option("--out", out, "output file for --dump");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!dump.empty() && out.empty())
    return report_error("inspect", invalid_argument("--dump needs --out FILE"));
  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(path, ec);
  const bool is_gguf =
      !is_dir && path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;

  if (is_gguf || (!is_dir && path.find(".safetensors") == std::string::npos &&
                  path.find(".json") == std::string::npos)) {
    // GGUF: shown even when longkv cannot derive a ModelSpec (e.g. a vocabulary-only file).
    auto g = GgufFile::open(path, {header_only});
    if (!g.is_ok()) return report_error("inspect", g.status());
    const GgufFile& f = **g;
    std::printf(
        "%s: GGUF v%u, %.1f MB, %zu metadata keys, %zu tensors, alignment %llu, data at "
        "%llu%s\n",
        path.c_str(), f.version(), f.file_size() / 1e6, f.metadata().size(), f.tensors().size(),
        static_cast<unsigned long long>(f.alignment()),
        static_cast<unsigned long long>(f.data_offset()), header_only ? " (header only)" : "");
    if (!no_meta) {
      std::printf("metadata:\n");
      for (const auto& [k, v] : f.metadata()) {
        std::printf("  %-44s %s\n", k.c_str(), v.to_string(all ? 1u << 30 : 6).c_str());
      }
    }
    auto spec = model_spec_from_gguf(f);
    if (spec.is_ok())
      print_spec(*spec);
    else
      std::printf("model spec: unavailable: %s\n", spec.status().message().c_str());
    std::vector<TensorView> ts;
    for (const auto& t : f.tensors()) ts.push_back(f.view(t));
    print_tensors(ts, all);
    if (!dump.empty()) {
      auto t = f.tensor(dump);
      if (!t.is_ok()) return report_error("inspect", t.status());
      if (Status s = dump_tensor(*t, out); !s.is_ok()) return report_error("inspect", s);
    }
    return 0;
  }
  auto c = Checkpoint::open(path);
  if (!c.is_ok()) return report_error("inspect", c.status());
  const Checkpoint& ck = **c;
  std::printf("%s: Hugging Face checkpoint, %zu safetensors file(s)\n", path.c_str(),
              ck.safetensors()->n_shards());
  for (const char* f :
       {"config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    std::printf(
        "  %-24s %s\n", f,
        std::filesystem::exists(std::filesystem::path(ck.dir()) / f, ec) ? "present" : "absent");
  if (!no_meta && !ck.safetensors()->metadata().empty()) {
    std::printf("metadata:\n");
    for (const auto& [k, v] : ck.safetensors()->metadata())
      std::printf("  %-44s \"%s\"\n", k.c_str(), v.c_str());
  }
  print_spec(ck.spec());
  print_tensors(ck.tensors(), all);
  for (const auto& e : ck.safetensors()->entries())
    if (!e.supported)
      std::printf("  (skipped %s: dtype %s)\n", e.name.c_str(), e.dtype_name.c_str());
  if (!dump.empty()) {
    auto t = ck.tensor(dump);
    if (!t.is_ok()) return report_error("inspect", t.status());
    if (Status s = dump_tensor(*t, out); !s.is_ok()) return report_error("inspect", s);
  }
  return 0;
}

}  // namespace
}  // namespace lk::cli

LK_REGISTER_COMMAND("inspect", "show a model file's metadata, ModelSpec and tensor table",
                    lk::cli::run_inspect);
