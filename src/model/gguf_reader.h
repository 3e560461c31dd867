// GGUF v2/v3 reader over an mmap. Everything in the header is validated against the file
// size before use (magic, version, counts, string and array lengths, tensor dims, types,
// alignment, data offsets and sizes, integer overflow); errors are lk::Status values whose
// message names the file and the field. Tensor data is never copied: TensorViews point into
// the mapping and stay valid while the GgufFile lives.
//
// Header-only mode (GgufOpenOptions::header_only) parses metadata and tensor infos but does
// not require the tensor data to be present (a truncated download, or a quick look by the
// analyzer); views then carry data == nullptr.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "model/gguf_types.h"
#include "model/mapped_file.h"
#include "model/tensor.h"

namespace lk {

// One metadata value. Scalars live in u/i/f/b/str (by type); arrays keep their element type
// and count, with fixed-size elements left in the file (elems, possibly unaligned), strings
// as views into the file, and nested arrays as items.
struct GgufValue {
  GgufType type = GgufType::kU8;
  uint64_t u = 0;                         // unsigned integer types, bool
  int64_t i = 0;                          // signed integer types
  double f = 0;                           // f32, f64
  std::string_view str;                   // string
  GgufType elem_type = GgufType::kU8;     // array
  uint64_t count = 0;                     // array
  const uint8_t* elems = nullptr;         // array of fixed-size elements: count × size
  std::vector<std::string_view> strings;  // array of strings
  std::vector<GgufValue> items;           // array of arrays

  bool is_integer() const;
  bool is_float() const;
  // Scalar as a signed 64-bit integer; false if not an integer type or out of range.
  bool as_i64(int64_t* out) const;
  // Short human form: 42, 1e-05, "llama", [u32 × 3: 1, 2, 3], [string × 32000: "<unk>", ...]
  std::string to_string(size_t max_items = 8) const;
  // Fixed-size array element k as double (precondition: array of numbers or bools, k < count).
  double elem_as_f64(uint64_t k) const;
};

struct GgufTensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  int n_dims = 0;
  std::array<int64_t, 4> ne{1, 1, 1, 1};  // ne[0] fastest
  uint64_t offset = 0;                    // relative to the data section
  int64_t nbytes = 0;
};

struct GgufOpenOptions {
  bool header_only = false;  // parse metadata and tensor infos only; tensor data may be absent
};

class GgufFile {
 public:
  static Result<std::unique_ptr<GgufFile>> open(const std::string& path,
                                                GgufOpenOptions options = {});
  // Parses caller-owned bytes (fuzzing, tests); `data` must outlive the GgufFile.
  static Result<std::unique_ptr<GgufFile>> from_memory(const void* data, size_t size,
                                                       std::string name,
                                                       GgufOpenOptions options = {});

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section
  uint64_t file_size() const { return file_->size(); }
  bool header_only() const { return header_only_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters: kNotFound when the key is absent, kCorrupt when its type does not fit
  // (integers convert between widths when the value is in range; floats accept f32/f64).
  Result<uint32_t> get_u32(std::string_view key) const;
  Result<uint64_t> get_u64(std::string_view key) const;
  Result<int32_t> get_i32(std::string_view key) const;
  Result<int64_t> get_i64(std::string_view key) const;
  Result<float> get_f32(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  Result<std::string> get_str(std::string_view key) const;
  Result<std::vector<std::string>> get_str_arr(std::string_view key) const;
  Result<std::vector<int32_t>> get_i32_arr(std::string_view key) const;
  Result<std::vector<float>> get_f32_arr(std::string_view key) const;
  // As above, but `fallback` when the key is absent (an ill-typed value is still an error).
  Result<uint32_t> get_u32_or(std::string_view key, uint32_t fallback) const;
  Result<float> get_f32_or(std::string_view key, float fallback) const;
  Result<std::string> get_str_or(std::string_view key, std::string fallback) const;
  Result<bool> get_bool_or(std::string_view key, bool fallback) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // kNotFound naming the tensor; in header-only mode the view's data is nullptr.
  Result<TensorView> tensor(std::string_view name) const;
  TensorView view(const GgufTensorInfo& info) const;

 private:
  GgufFile() = default;
  static Result<std::unique_ptr<GgufFile>> parse(std::unique_ptr<MappedFile> file,
                                                 GgufOpenOptions options);
  Status parse_header();
  Status type_error(std::string_view key, const GgufValue& v, const char* wanted) const;
  Result<const GgufValue*> require(std::string_view key) const;

  std::unique_ptr<MappedFile> file_;
  bool header_only_ = false;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Name and block geometry of any ggml type id (for error messages about types longkv does
// not support): "q4_1"; nullptr for ids ggml does not define.
const char* ggml_type_name(uint32_t id);

}  // namespace lk
