#include "model/tensor.h"

#include <algorithm>
#include <cctype>

namespace lk {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kQ8_0: return "q8_0";
    case DType::kQ4_0: return "q4_0";
    case DType::kQ4_K: return "q4_k";
    case DType::kQ5_K: return "q5_k";
    case DType::kQ6_K: return "q6_k";
  }
  return "?";
}

bool dtype_from_name(const std::string& s, DType* out) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K,
                  DType::kQ5_K, DType::kQ6_K}) {
    if (l == dtype_name(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

int64_t dtype_block_elems(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16: return 1;
    case DType::kQ8_0:
    case DType::kQ4_0: return 32;
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K: return 256;
  }
  return 1;
}

int64_t dtype_block_bytes(DType t) {
  switch (t) {
    case DType::kF32: return 4;
    case DType::kF16:
    case DType::kBF16: return 2;
    case DType::kQ8_0: return 2 + 32;            // f16 scale + 32 x int8
    case DType::kQ4_0: return 2 + 16;            // f16 scale + 32 x 4-bit
    case DType::kQ4_K: return 2 + 2 + 12 + 128;  // d, dmin, 12 B of 6-bit scales, 256 x 4-bit
    case DType::kQ5_K: return 2 + 2 + 12 + 32 + 128;
    case DType::kQ6_K: return 128 + 64 + 16 + 2;  // ql, qh, int8 scales, d
  }
  return 0;
}

int64_t dtype_row_bytes(DType t, int64_t n) { return n / dtype_block_elems(t) * dtype_block_bytes(t); }

bool dtype_is_valid(int32_t id) {
  switch (id) {
    case 0: case 1: case 2: case 8: case 12: case 13: case 14: case 30: return true;
    default: return false;
  }
}

}  // namespace lk
