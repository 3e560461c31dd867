// A read-only memory-mapped file whose lifetime is shared by the views into it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace lk {

class MappedFile {
 public:
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  static Result<std::shared_ptr<MappedFile>> open(const std::string& path);

  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace lk
