// An in-memory model with random weights of any shape, for tests and micro-benchmarks that
// need no file (speed does not depend on weight values). Matrices are stored in `dtype`
// (f32, f16, bf16, q8_0, q4_0: quantized here with round-to-nearest like ggml's reference
// quantizers); norms and biases are f32.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "engine/model_weights.h"

namespace lk {

Result<Model> random_model(const ModelSpec& spec, DType dtype, uint64_t seed,
                           RopeStyle rope_style = RopeStyle::kRotateHalf);

// Quantizes/converts n f32 values (n a multiple of the block size) to `dtype` bytes.
Status quantize_row(DType dtype, const float* x, int64_t n, void* out);

}  // namespace lk
