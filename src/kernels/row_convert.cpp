#include "kernels/row_convert.h"

#include <cstring>

#include "core/half.h"

namespace lk {

Status row_bytes_to_f32(DType t, const void* row, int64_t n, float* out) {
  const auto* b = static_cast<const uint8_t*>(row);
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
    case DType::kQ8_0:  // block: f16 d, int8 q[32]; x = d * q
      for (int64_t blk = 0; blk < n / 32; ++blk, b += 34) {
        uint16_t dh;
        std::memcpy(&dh, b, 2);
        const float d = f16_to_f32(dh);
        const auto* q = reinterpret_cast<const int8_t*>(b + 2);
        for (int j = 0; j < 32; ++j) out[blk * 32 + j] = d * static_cast<float>(q[j]);
      }
      return Status::ok();
    case DType::kQ4_0:  // block: f16 d, 16 bytes; low nibbles are x[0..16), high x[16..32)
      for (int64_t blk = 0; blk < n / 32; ++blk, b += 18) {
        uint16_t dh;
        std::memcpy(&dh, b, 2);
        const float d = f16_to_f32(dh);
        for (int j = 0; j < 16; ++j) {
          out[blk * 32 + j] = d * static_cast<float>((b[2 + j] & 0x0f) - 8);
          out[blk * 32 + j + 16] = d * static_cast<float>((b[2 + j] >> 4) - 8);
        }
      }
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
