#include "engine/model_loader.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/llama2c_loader.h"
#include "model/gguf_reader.h"
#include "model/gguf_spec.h"

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

Result<Model> load_gguf_model(const std::string& path) {
  LK_ASSIGN_OR_RETURN(std::shared_ptr<GgufFile> gguf, GgufFile::open(path));
  LK_ASSIGN_OR_RETURN(ModelSpec spec, model_spec_from_gguf(*gguf));
  LK_RETURN_IF_ERROR(model_spec_validate_for_engine(spec).with_context(path));
  TensorMap tensors;
  for (const GgufTensorInfo& info : gguf->tensors()) tensors[info.name] = gguf->view(info);
  Model m;
  m.spec = spec;
  // llama.cpp's converter permutes llama Q/K rows for ggml's adjacent-pair rope (mode 0);
  // qwen2/qwen3 are stored as in HF and use NeoX (rotate-half) rope.
  m.rope_style = (spec.arch == "qwen2" || spec.arch == "qwen3") ? RopeStyle::kRotateHalf
                                                                : RopeStyle::kAdjacentPairs;
  m.converted = std::make_shared<std::vector<std::vector<float>>>();
  auto w = model_weights_from_tensors(spec, tensors, TensorNaming::kGguf, m.converted.get());
  if (!w.is_ok()) return w.status().with_context(path);
  m.weights = std::move(w).value();
  m.source = path;
  m.format = "gguf";
  m.storage = gguf;
  return m;
}

Result<Model> load_model(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("model '{}' not found", path);
  const std::string fmt = detect_model_format(path);
  if (fmt == "gguf") return load_gguf_model(path);
  if (fmt == "llama2c") return llama2c_load(path);
  if (fmt == "hf") {
    return unsupported(
        "{}: Hugging Face directories need the safetensors reader (model/"
        "safetensors_reader), which this build does not have yet",
        path);
  }
  return invalid_argument(
      "{}: not a model longkv can read (expected a GGUF file, a llama2.c "
      ".bin checkpoint, or a Hugging Face directory with config.json)",
      path);
}

}  // namespace lk
