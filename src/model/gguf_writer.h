// GGUF v3 writer. Metadata and tensor infos are declared first; tensor data is then either
// held by the writer (small files, tests: add_tensor with bytes) or produced one tensor at
// a time by a callback while streaming to disk, so multi-GB synth models never sit in RAM.
// Tensor data is laid out in declaration order, each padded to the alignment.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/gguf_types.h"
#include "model/tensor.h"
#include "model/tensor_file_writer.h"

namespace lk {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = kGgufDefaultAlignment);

  // Metadata setters (a key set twice keeps the last value, in its first position).
  void set_u8(const std::string& key, uint8_t v);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_str(const std::string& key, const std::string& v);
  void set_str_arr(const std::string& key, const std::vector<std::string>& v);
  void set_i32_arr(const std::string& key, const std::vector<int32_t>& v);
  void set_f32_arr(const std::string& key, const std::vector<float>& v);
  // Any value given as its encoded bytes (everything after the type id), for tests.
  void set_raw(const std::string& key, GgufType type, std::vector<uint8_t> encoded);

  // Declares a tensor (ne[0] fastest; 1..4 dims). kInvalidArgument on a duplicate name or a
  // row length that is not a multiple of the dtype's block size.
  Status declare_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& ne);
  // Declares a tensor and keeps a copy of its bytes (must be exactly its size).
  Status add_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& ne,
                    const void* data, size_t nbytes);

  size_t n_tensors() const { return tensors_.size(); }
  const std::string& tensor_name(size_t i) const { return tensors_[i].name; }
  int64_t tensor_nbytes(size_t i) const { return tensors_[i].nbytes; }

  using ByteSink = lk::ByteSink;          // see tensor_file_writer.h
  using TensorDataFn = lk::TensorDataFn;  // see tensor_file_writer.h
  // Writes the file, calling `produce` for each tensor in order (nullptr: use the bytes
  // given to add_tensor). Writes to path + ".tmp" and renames, so a failure leaves no
  // half-written file under `path`.
  Status write_file(const std::string& path, const TensorDataFn& produce = nullptr) const;
  // The whole file in memory (tests, fuzz seeds); only for tensors added with bytes.
  std::vector<uint8_t> to_bytes() const;

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> ne;
    int64_t nbytes;
    uint64_t offset;            // within the data section
    std::vector<uint8_t> data;  // only with add_tensor
  };
  struct Kv {
    std::string key;
    GgufType type;
    std::vector<uint8_t> encoded;
  };
  void set(const std::string& key, GgufType type, std::vector<uint8_t> encoded);
  std::vector<uint8_t> header_bytes() const;  // up to the start of the data section

  uint32_t alignment_;
  std::vector<Kv> kv_;
  std::vector<Tensor> tensors_;
  uint64_t data_size_ = 0;
};

}  // namespace lk
