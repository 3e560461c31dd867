#include "engine/model_loader.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/llama2c_loader.h"
#include "model/checkpoint.h"

namespace lk {

std::string detect_model_format(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fs::exists(fs::path(path) / "config.json") ? "hf" : "";
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  char magic[4] = {};
  const size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  if (n == 4 && std::memcmp(magic, "GGUF", 4) == 0) return "gguf";
  if (llama2c_looks_like(path)) return "llama2c";
  return "";
}

Result<Model> load_checkpoint_model(const std::string& path) {
  LK_ASSIGN_OR_RETURN(std::shared_ptr<Checkpoint> ckpt, Checkpoint::open(path));
  const ModelSpec& spec = ckpt->spec();
  LK_RETURN_IF_ERROR(model_spec_validate_for_engine(spec).with_context(path));
  Model m;
  m.spec = spec;
  const bool gguf = ckpt->format() == CheckpointFormat::kGguf;
  // llama.cpp's converter permutes llama Q/K rows for ggml's adjacent-pair rope (mode 0);
  // qwen2/qwen3 GGUF keep HF's layout and use NeoX (rotate-half), as does every HF checkpoint.
  m.rope_style = gguf && spec.arch != "qwen2" && spec.arch != "qwen3" ? RopeStyle::kAdjacentPairs
                                                                      : RopeStyle::kRotateHalf;
  m.converted = std::make_shared<std::vector<std::vector<float>>>();
  auto w = model_weights_from_tensors(spec, ckpt->tensor_map(),
                                      gguf ? TensorNaming::kGguf : TensorNaming::kHuggingFace,
                                      m.converted.get());
  if (!w.is_ok()) return w.status().with_context(path);
  m.weights = std::move(w).value();
  m.source = path;
  m.format = gguf ? "gguf" : "safetensors";
  m.storage = ckpt;
  return m;
}

Result<Model> load_model(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("model '{}' not found", path);
  const std::string fmt = detect_model_format(path);
  if (fmt == "gguf" || fmt == "hf") return load_checkpoint_model(path);
  if (fmt == "llama2c") return llama2c_load(path);
  return invalid_argument(
      "{}: not a model longkv can read (expected a GGUF file, a llama2.c "
      ".bin checkpoint, or a Hugging Face directory with config.json)",
      path);
}

}  // namespace lk
