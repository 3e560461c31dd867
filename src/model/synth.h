// synth: reproducible random-weight models of real shapes, written as GGUF or as a Hugging
// Face folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json), with
// a working byte-level BPE tokenizer (synth_vocab.h).
//
// The weights are a pure function of (seed, tensor name in HF naming, row): each row has its
// own counter-based random stream, so files are identical across runs and thread counts, and
// a GGUF and a HF folder of the same seed hold the same model:
//  - matrices: approximately normal (Irwin–Hall of 4 uniforms, mean 0, variance 1) scaled
//    by 1/sqrt(row length), so activations stay O(1) through the layers;
//  - norm weights 1 + 0.05·n and biases 0.1·n, rounded to 8 significant bits so they are
//    exact in f32, f16 and bf16 alike;
//  - GGUF llama-arch Q/K rows are stored permuted for adjacent-pair RoPE (qk_permute.h),
//    exactly as llama.cpp's converter does; qwen2/qwen3 are not permuted.
// Matrices are stored in the requested dtype (GGUF: any of f32, f16, bf16, q8_0, q4_0, q4_k,
// q5_k, q6_k; safetensors: f32, f16, bf16); GGUF keeps 1-D tensors in f32 as llama.cpp does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model_spec.h"
#include "model/tensor.h"

namespace lk {

enum class SynthInit { kMatrix, kNorm, kBias };

struct SynthTensor {
  std::string hf_name;         // "model.layers.0.self_attn.q_proj.weight" (the seed key)
  std::string gguf_name;       // "blk.0.attn_q.weight"
  std::vector<int64_t> shape;  // HF order, slowest first: [out, in] or [n]
  SynthInit init = SynthInit::kMatrix;
  bool gguf_permute_qk = false;  // GGUF rows are the llama-arch permutation of HF rows
  int64_t rows() const { return shape.size() == 2 ? shape[0] : 1; }
  int64_t row_len() const { return shape.back(); }
};

// The tensors of `spec` (llama, mistral, qwen2, qwen3; dense only), in GGUF/HF loading order.
Result<std::vector<SynthTensor>> synth_tensors(const ModelSpec& spec);

// Row `row` (HF order) of tensor t for `seed`, as f32: out[0..t.row_len()).
void synth_row(const SynthTensor& t, uint64_t seed, int64_t row, float* out);

struct SynthOptions {
  DType dtype = DType::kF16;
  uint64_t seed = 0;
};

// Writes a GGUF file (metadata, tokenizer, tensors); rope_freqs.weight for llama3 scaling.
Status synth_write_gguf(const ModelSpec& spec, const SynthOptions& opt, const std::string& path);
// Writes a HF folder (created if needed; existing files of the same names are replaced).
Status synth_write_hf(const ModelSpec& spec, const SynthOptions& opt, const std::string& dir);

// config.json text for spec (architectures, model_type, sizes, rope, tie, token ids).
std::string synth_hf_config_json(const ModelSpec& spec, DType dtype, int bos_id, int eos_id);

// llama.cpp's rope_freqs factors for llama3 scaling: [head_dim / 2].
std::vector<float> llama3_rope_factors(const ModelSpec& spec);

}  // namespace lk
