// Opens a model for the engine from any supported form, choosing by content:
//   a GGUF file (llama, qwen2, qwen3 architectures; weights mmap'd in place),
//   a llama2.c checkpoint (.bin, legacy v0 or v1 f32),
//   a Hugging Face directory (config.json + *.safetensors).
// RoPE convention follows the source: GGUF llama -> adjacent pairs (its converter permuted
// Q/K), GGUF qwen2/qwen3 and Hugging Face -> rotate-half, llama2.c -> adjacent pairs.
#pragma once

#include <string>

#include "core/status.h"
#include "engine/model_weights.h"

namespace lk {

Result<Model> load_model(const std::string& path);

// A GGUF file or a Hugging Face folder, through model/checkpoint (spec from its metadata or
// config.json; weights mmap'd in place).
Result<Model> load_checkpoint_model(const std::string& path);

// "gguf", "llama2c", "hf" or "" from the path and the first bytes.
std::string detect_model_format(const std::string& path);

}  // namespace lk
