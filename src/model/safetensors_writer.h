// safetensors writer: tensors are declared (name, dtype, shape slowest-first), then their
// bytes are written in declaration order, either held by the writer (add_tensor) or made
// one at a time by a callback while streaming (large synth models). The header is padded
// with spaces to a multiple of 8 bytes, as the reference implementation does, so every
// tensor's data starts 8-byte aligned when the tensors before it have even sizes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/tensor.h"
#include "model/tensor_file_writer.h"

namespace lk {

class SafetensorsWriter {
 public:
  // Only F32, F16 and BF16 are representable in safetensors.
  Status declare_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape);
  Status add_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                    const void* data, size_t nbytes);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  size_t n_tensors() const { return tensors_.size(); }
  const std::string& tensor_name(size_t i) const { return tensors_[i].name; }

  using ByteSink = lk::ByteSink;          // see tensor_file_writer.h
  using TensorDataFn = lk::TensorDataFn;  // see tensor_file_writer.h
  // Writes the file, calling `produce` for each tensor in order (nullptr: use the bytes
  // given to add_tensor). Writes to path + ".tmp" and renames, so a failure leaves no
  // half-written file under `path`.
  Status write_file(const std::string& path, const TensorDataFn& produce = nullptr) const;
  std::vector<uint8_t> to_bytes() const;

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
    std::vector<uint8_t> data;
  };
  std::vector<uint8_t> header_bytes() const;

  std::vector<Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
  uint64_t data_size_ = 0;
};

}  // namespace lk
