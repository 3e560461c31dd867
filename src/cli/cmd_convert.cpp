// longkv convert: a Hugging Face folder (config.json + safetensors + tokenizer.json) to a
// GGUF file, with longkv's own GGUF writer (model/hf_to_gguf.h). tools/train/export.py uses
// it to publish the trained test model.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "model/hf_to_gguf.h"

namespace lk::cli {
namespace {

int run_convert(int argc, char** argv) {
  CLI::App app{
      "Convert a Hugging Face folder (safetensors + config.json + tokenizer.json) to GGUF"};
  std::string in, out, dtype_s = "f16", name;
  app.add_option("--in", in, "Hugging Face model folder (or its config.json / .safetensors)")
      ->required();
  app.add_option("--out", out, "output .gguf file")->required();
  app.add_option("--dtype", dtype_s, "matrix type: f32, f16, bf16, q8_0, q4_0 (norms stay f32)")
      ->capture_default_str();
  app.add_option("--name", name, "general.name (default: the folder's name)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  HfToGgufOptions opt;
  opt.name = name;
  if (!dtype_from_name(dtype_s, &opt.dtype))
    return report_error("convert", invalid_argument("--dtype '{}' is not a weight type (valid: "
                                                    "f32, f16, bf16, q8_0, q4_0)",
                                                    dtype_s));
  if (out.size() < 5 || out.compare(out.size() - 5, 5, ".gguf") != 0)
    return report_error("convert", invalid_argument("--out '{}' must end in .gguf", out));
  const auto t0 = std::chrono::steady_clock::now();
  auto rep = convert_hf_to_gguf(in, out, opt);
  if (!rep.is_ok()) return report_error("convert", rep.status());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s: %d tensors, %.3gM parameters, matrices %s, %.2f MB in %.2f s\n",
              out.c_str(), rep->n_tensors, rep->n_params / 1e6, dtype_name(opt.dtype),
              rep->bytes / 1e6, secs);
  return 0;
}

}  // namespace
}  // namespace lk::cli

LK_REGISTER_COMMAND("convert", "convert a Hugging Face folder to GGUF (longkv's own writer)",
                    lk::cli::run_convert);
