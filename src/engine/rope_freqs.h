// RoPE inverse frequencies per pair of a head, with the model's scaling (none, linear,
// llama3), computed in f32 the way Hugging Face transformers and llama2.c do.
#pragma once

#include <vector>

#include "model/model_spec.h"

namespace lk {

// [head_dim / 2] inverse frequencies theta^(-2i/D), scaled per spec.rope_scaling.
std::vector<float> rope_inv_freqs(const ModelSpec& spec);

}  // namespace lk
