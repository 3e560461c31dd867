#include "engine/random_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "core/half.h"
#include "model/quant.h"

namespace lk {

namespace {

struct Arena {
  std::vector<std::vector<uint8_t>> blobs;
};

}  // namespace

Result<Model> random_model(const ModelSpec& spec, DType dtype, uint64_t seed,
                           RopeStyle rope_style) {
  LK_RETURN_IF_ERROR(model_spec_validate_for_engine(spec));
  auto arena = std::make_shared<Arena>();
  std::mt19937_64 rng(seed);
  TensorMap tensors;
  auto add = [&](const std::string& name, int64_t ne0, int64_t ne1, DType t, float stddev,
                 float mean) -> Status {
    if (ne0 % dtype_block_elems(t) != 0) {
      return invalid_argument("tensor '{}' rows of {} do not fit {} blocks of {}", name, ne0,
                              dtype_name(t), dtype_block_elems(t));
    }
    std::normal_distribution<float> dist(mean, stddev);
    std::vector<float> row(ne0);
    std::vector<uint8_t> bytes(dtype_row_bytes(t, ne0) * ne1);
    for (int64_t r = 0; r < ne1; ++r) {
      for (auto& v : row) v = dist(rng);
      quantize_row(t, row.data(), bytes.data() + r * dtype_row_bytes(t, ne0), ne0);
    }
    arena->blobs.push_back(std::move(bytes));
    TensorView v;
    v.name = name;
    v.dtype = t;
    v.n_dims = ne1 > 1 ? 2 : 1;
    v.ne = {ne0, ne1, 1, 1};
    v.data = arena->blobs.back().data();
    v.nbytes = static_cast<int64_t>(arena->blobs.back().size());
    tensors[name] = v;
    return Status::ok();
  };
  const auto N = [](const char* role, int l) { return weight_name(role, l, TensorNaming::kGguf); };
  const int64_t d = spec.d_model, q = int64_t{spec.n_heads} * spec.head_dim,
                kv = int64_t{spec.n_kv_heads} * spec.head_dim, ff = spec.ffn_dim;
  const float sd = 1.0f / std::sqrt(static_cast<float>(d));
  LK_RETURN_IF_ERROR(add(N("token_embd", 0), d, spec.vocab_size, dtype, 1.0f, 0.0f));
  LK_RETURN_IF_ERROR(add(N("output_norm", 0), d, 1, DType::kF32, 0.1f, 1.0f));
  if (!spec.tied_embeddings)
    LK_RETURN_IF_ERROR(add(N("output", 0), d, spec.vocab_size, dtype, sd, 0.0f));
  for (int l = 0; l < spec.n_layers; ++l) {
    LK_RETURN_IF_ERROR(add(N("attn_norm", l), d, 1, DType::kF32, 0.1f, 1.0f));
    LK_RETURN_IF_ERROR(add(N("attn_q", l), d, q, dtype, sd, 0.0f));
    LK_RETURN_IF_ERROR(add(N("attn_k", l), d, kv, dtype, sd, 0.0f));
    LK_RETURN_IF_ERROR(add(N("attn_v", l), d, kv, dtype, sd, 0.0f));
    LK_RETURN_IF_ERROR(add(N("attn_output", l), q, d, dtype, 1.0f / std::sqrt(float(q)), 0.0f));
    if (spec.qkv_bias) {
      LK_RETURN_IF_ERROR(add(N("attn_q_bias", l), q, 1, DType::kF32, 0.1f, 0.0f));
      LK_RETURN_IF_ERROR(add(N("attn_k_bias", l), kv, 1, DType::kF32, 0.1f, 0.0f));
      LK_RETURN_IF_ERROR(add(N("attn_v_bias", l), kv, 1, DType::kF32, 0.1f, 0.0f));
    }
    if (spec.qk_norm) {
      LK_RETURN_IF_ERROR(add(N("attn_q_norm", l), spec.head_dim, 1, DType::kF32, 0.1f, 1.0f));
      LK_RETURN_IF_ERROR(add(N("attn_k_norm", l), spec.head_dim, 1, DType::kF32, 0.1f, 1.0f));
    }
    LK_RETURN_IF_ERROR(add(N("ffn_norm", l), d, 1, DType::kF32, 0.1f, 1.0f));
    LK_RETURN_IF_ERROR(add(N("ffn_gate", l), d, ff, dtype, sd, 0.0f));
    LK_RETURN_IF_ERROR(add(N("ffn_up", l), d, ff, dtype, sd, 0.0f));
    LK_RETURN_IF_ERROR(add(N("ffn_down", l), ff, d, dtype, 1.0f / std::sqrt(float(ff)), 0.0f));
  }
  Model m;
  m.spec = spec;
  m.rope_style = rope_style;
  m.converted = std::make_shared<std::vector<std::vector<float>>>();
  LK_ASSIGN_OR_RETURN(
      m.weights, model_weights_from_tensors(spec, tensors, TensorNaming::kGguf, m.converted.get()));
  m.source = "random";
  m.format = "memory";
  m.storage = arena;
  return m;
}

}  // namespace lk
