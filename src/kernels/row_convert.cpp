#include "kernels/row_convert.h"

#include <immintrin.h>

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
      int64_t i = 0;
#if defined(__AVX512F__) && defined(__F16C__)
      for (; i + 16 <= n; i += 16) {  // exact: every f16 is representable in f32
        _mm512_storeu_ps(
            out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
      }
#endif
      for (; i < n; ++i) out[i] = f16_to_f32(h[i]);
      return Status::ok();
    }
    case DType::kBF16: {
      const auto* h = static_cast<const uint16_t*>(row);
      int64_t i = 0;
#if defined(__AVX512F__)
      for (; i + 16 <= n; i += 16) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i));
        _mm512_storeu_ps(out + i,
                         _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)));
      }
#endif
      for (; i < n; ++i) out[i] = bf16_to_f32(h[i]);
      return Status::ok();
    }
#if defined(__AVX512F__) && defined(__F16C__)
    case DType::kQ8_0: {  // d * q, one f32 multiply per element: bit-identical to model/quant.h
      const auto* b = static_cast<const uint8_t*>(row);
      for (int64_t blk = 0; blk < n / 32; ++blk, b += 34) {
        uint16_t dh;
        std::memcpy(&dh, b, 2);
        const __m512 d = _mm512_set1_ps(f16_to_f32(dh));
        for (int j = 0; j < 32; j += 16) {
          const __m512 q = _mm512_cvtepi32_ps(
              _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2 + j))));
          _mm512_storeu_ps(out + blk * 32 + j, _mm512_mul_ps(d, q));
        }
      }
      return Status::ok();
    }
#else
    case DType::kQ8_0:
#endif
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
