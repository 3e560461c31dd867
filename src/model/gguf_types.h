// GGUF format constants shared by the reader and the writer (GGUF v3, little-endian):
//   magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv | n_kv × (key, u32 type, value)
//   | n_tensors × (name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset)
//   | padding to general.alignment | tensor data (offsets relative to this point).
// Strings are u64 length + bytes (no terminator); arrays are u32 element type + u64 count
// + elements.
#pragma once

#include <cstdint>

namespace lk {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;

enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// "u32", "string", "array", ... ("type#N" for an invalid id).
const char* gguf_type_name(GgufType t);
bool gguf_type_is_valid(uint32_t id);
// Size in bytes of a fixed-size scalar type; 0 for string and array.
int gguf_type_size(GgufType t);

}  // namespace lk
