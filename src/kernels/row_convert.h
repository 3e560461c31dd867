// Scalar conversion of one weight row to f32, for every weight dtype the engine runs.
// This is the plain path the reference forward and the GEMM tile dequantizer use; the fast
// dot kernels (kernels/dot.h) are tested against it.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "model/tensor.h"

namespace lk {

// out[0..n) = row r of t (n = t.ne[0]). Fails with kUnsupported for dtypes without a converter.
Status row_to_f32(const TensorView& t, int64_t r, float* out);

// Converts n elements of raw `row` bytes of dtype t (n a multiple of the block size).
Status row_bytes_to_f32(DType t, const void* row, int64_t n, float* out);

}  // namespace lk
