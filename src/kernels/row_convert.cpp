#include "kernels/row_convert.h"

#include <cstring>

#include "core/half.h"
#include "model/quant.h"

namespace lk {

Status row_bytes_to_f32(DType t, const void* row, int64_t n, float* out) {
  switch (t) {
    case DType::kF32:
      std::memcpy(out, row, n * 4);
      return Status::ok();
    case DType::kF16: {
      const auto* h = static_cast<const uint16_t*>(row);
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(h[i]);
      return Status::ok();
    }
    case DType::kBF16: {
      const auto* h = static_cast<const uint16_t*>(row);
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(h[i]);
      return Status::ok();
    }
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      // The block formats are model/quant.h's, bit-exact with ggml.
      dequantize_row(t, row, out, n);
      return Status::ok();
    default:
      return unsupported(
          "weight dtype {} has no row converter (supported: f32, f16, bf16, q8_0, "
          "q4_0)",
          dtype_name(t));
  }
}

Status row_to_f32(const TensorView& t, int64_t r, float* out) {
  return row_bytes_to_f32(t.dtype, t.row(r), t.ne[0], out);
}

}  // namespace lk
