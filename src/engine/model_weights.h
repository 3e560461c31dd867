// The weights of a Llama-family model as views into storage someone else owns (an mmap'd
// GGUF, safetensors, or a llama2.c checkpoint read into memory), plus the storage's owner.
// Built from a name -> TensorView map in either naming scheme (GGUF "blk.N.attn_q.weight" or
// Hugging Face "model.layers.N.self_attn.q_proj.weight"), with every shape checked against
// the ModelSpec so the forward passes can index without further checks.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model_spec.h"
#include "model/tensor.h"

namespace lk {

// How RoPE pairs the dimensions of a head.
//  kAdjacentPairs: (x[2i], x[2i+1]) rotate together — GPT-J / ggml mode 0. llama2.c and GGUF
//    llama-arch files (whose converter permuted Q/K rows for exactly this).
//  kRotateHalf: (x[i], x[i + D/2]) — NeoX. Hugging Face checkpoints, qwen2/qwen3 GGUF.
enum class RopeStyle { kAdjacentPairs, kRotateHalf };
const char* rope_style_name(RopeStyle s);

enum class TensorNaming { kGguf, kHuggingFace };

struct LayerWeights {
  TensorView attn_norm;       // [d_model] f32
  TensorView wq;              // ne = [d_model, n_heads * head_dim]
  TensorView wk;              // ne = [d_model, n_kv_heads * head_dim]
  TensorView wv;              // ne = [d_model, n_kv_heads * head_dim]
  TensorView wo;              // ne = [n_heads * head_dim, d_model]
  TensorView bq, bk, bv;      // qwen2 biases [out] (data == nullptr when absent)
  TensorView q_norm, k_norm;  // qwen3 per-head RMSNorm weights [head_dim] (or absent)
  TensorView ffn_norm;        // [d_model]
  TensorView w_gate;          // ne = [d_model, ffn_dim]
  TensorView w_up;            // ne = [d_model, ffn_dim]
  TensorView w_down;          // ne = [ffn_dim, d_model]
};

struct ModelWeights {
  TensorView tok_embd;     // ne = [d_model, vocab]
  TensorView output_norm;  // [d_model]
  TensorView output;       // ne = [d_model, vocab]; == tok_embd when tied
  std::vector<LayerWeights> layers;
};

// A loaded model: architecture, weights, RoPE convention, and whatever keeps the bytes alive.
struct Model {
  ModelSpec spec;
  RopeStyle rope_style = RopeStyle::kRotateHalf;
  ModelWeights weights;
  std::string source;                   // file or directory it came from
  std::string format;                   // "llama2c", "gguf", "safetensors", "memory"
  std::shared_ptr<const void> storage;  // owns the bytes every TensorView points into
  // f32 copies of small 1-D tensors (norms, biases) stored as f16/bf16 in the file, so the
  // forward passes read every vector weight as f32.
  std::shared_ptr<std::vector<std::vector<float>>> converted;

  // Bytes of all weights a decode step reads (every matrix once, embeddings: one row).
  int64_t weight_bytes_per_token() const;
  // The dtype of the bulk of the weights (that of wq in layer 0), for reports.
  DType main_dtype() const;
};

using TensorMap = std::map<std::string, TensorView>;

// Picks the tensors of spec's architecture from `tensors` and checks each shape and dtype.
// Norms and biases stored as f16/bf16 are converted to f32 copies appended to `converted`
// (whose lifetime must cover the weights). Missing output => tied to tok_embd (and
// spec.tied_embeddings is expected). Errors name the tensor and the expected shape.
Result<ModelWeights> model_weights_from_tensors(const ModelSpec& spec, const TensorMap& tensors,
                                                TensorNaming naming,
                                                std::vector<std::vector<float>>* converted);

// Checks that spec's numbers are usable by the forward passes (positive sizes, heads divide).
Status model_spec_validate_for_engine(const ModelSpec& spec);

// The tensor name of one role in a naming scheme, e.g. ("attn_q", 3, kHuggingFace) ->
// "model.layers.3.self_attn.q_proj.weight". Roles: see model_weights.cpp.
std::string weight_name(const std::string& role, int layer, TensorNaming naming);

}  // namespace lk
