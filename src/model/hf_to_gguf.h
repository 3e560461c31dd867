// Hugging Face folder (config.json + safetensors + tokenizer.json) -> GGUF, with longkv's own
// writer (gguf_writer.h): llama.cpp llama-arch conventions (blk.N.* names, Q/K rows permuted
// to adjacent-pair RoPE order for llama/mistral, 1-D tensors kept in f32), the
// hyper-parameters from model_spec_to_gguf and the tokenizer as tokenizer.ggml.* metadata.
// Byte-level BPE tokenizers only (pre-tokenizer gpt-2, llama-bpe or qwen2).
#pragma once

#include <string>

#include "core/status.h"
#include "model/tensor.h"

namespace lk {

struct HfToGgufOptions {
  DType dtype = DType::kF16;  // storage type of the matrices (f32, f16, bf16, q8_0, ...)
  std::string name;           // general.name (default: the folder's name)
};

struct HfToGgufReport {
  int n_tensors = 0;
  int64_t n_params = 0;
  uint64_t bytes = 0;  // size of the written file
};

// Errors name the file and field: a GGUF input, a missing tensor, a shape mismatch, an
// unsupported tokenizer or architecture, a row length the dtype cannot hold.
Result<HfToGgufReport> convert_hf_to_gguf(const std::string& hf_path, const std::string& out_path,
                                          const HfToGgufOptions& options);

}  // namespace lk
