// A read-only memory map of a whole file (RAII). Weight readers (GGUF, safetensors) hand out
// TensorViews that point into the mapping, so a MappedFile must outlive every view taken
// from it. Empty files map to a valid object of size 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace lk {

class MappedFile {
 public:
  // Maps `path` read-only. Errors: kNotFound (no such file), kIoError (open/stat/mmap failed),
  // kInvalidArgument (a directory).
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path);
  // Wraps caller-owned bytes without copying (fuzz targets, tests); `data` must outlive this.
  static std::unique_ptr<MappedFile> borrow(const void* data, size_t size, std::string name);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool owned_ = false;  // true when data_ is an mmap this object must unmap
  std::string path_;
};

}  // namespace lk
