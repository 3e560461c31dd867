// An in-memory model with random weights of any shape, for tests and micro-benchmarks that
// need no file (speed does not depend on weight values). Matrices are stored in `dtype`
// (any weight dtype, encoded by model/quant.h); norms and biases are f32.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "engine/model_weights.h"

namespace lk {

Result<Model> random_model(const ModelSpec& spec, DType dtype, uint64_t seed,
                           RopeStyle rope_style = RopeStyle::kRotateHalf);

}  // namespace lk
