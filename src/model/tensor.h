// Tensor element types and read-only views over weight data (usually an mmap'd file).
// Shapes follow ggml's convention: ne[0] is the fastest-varying (row length), so a 2-D
// weight W [ne0 = in_features, ne1 = out_features] stores out_features rows of in_features.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lk {

// Storage types of weights. Values match GGML's type ids where one exists, so a GGUF
// tensor type maps by value (ggml: F32=0 F16=1 Q4_0=2 Q8_0=8 Q4_K=12 Q5_K=13 Q6_K=14 BF16=30).
enum class DType : int32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

const char* dtype_name(DType t);                 // "f32", "q4_k", ...
bool dtype_from_name(const std::string& s, DType* out);  // case-insensitive
int64_t dtype_block_elems(DType t);               // 1 for float types, 32 or 256 for quants
int64_t dtype_block_bytes(DType t);               // bytes per block
// Bytes of a row of n elements; n must be a multiple of the block size.
int64_t dtype_row_bytes(DType t, int64_t n);
bool dtype_is_valid(int32_t id);

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  int n_dims = 0;
  std::array<int64_t, 4> ne{1, 1, 1, 1};  // ne[0] fastest
  const void* data = nullptr;
  int64_t nbytes = 0;

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t row_bytes() const { return dtype_row_bytes(dtype, ne[0]); }
  const uint8_t* row(int64_t i) const { return static_cast<const uint8_t*>(data) + i * row_bytes(); }
};

}  // namespace lk
