// A read-only memory-mapped file whose lifetime is shared by the views into it (the llama2.c
// loader keeps it alive through Model::storage).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace lk {

class FileMap {
 public:
  ~FileMap();
  FileMap(const FileMap&) = delete;
  FileMap& operator=(const FileMap&) = delete;

  static Result<std::shared_ptr<FileMap>> open(const std::string& path);

  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  FileMap() = default;
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace lk
