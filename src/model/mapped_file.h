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

// How open() brings a file into memory.
//  kMmap: map the file (default; pages are shared with the page cache, nothing is copied).
//  kPrivateHugePages: copy it into private anonymous memory advised for 2 MiB transparent huge
//    pages (`--no-mmap`). Decode streams every weight once per token; on 4 KiB file pages the
//    hardware prefetcher stops at every page boundary and each page costs a TLB walk, which
//    measured ~20% slower F16 decode here (docs/benchmarks.md). Costs a copy at load and RAM
//    that is not shared with other processes.
enum class LoadMode { kMmap, kPrivateHugePages };

class MappedFile {
 public:
  // Process-wide load mode for every later open() (set once by the CLI before loading).
  static void set_load_mode(LoadMode mode);
  static LoadMode load_mode();
  // Opens `path` read-only: mapped, or copied in kPrivateHugePages mode. Errors: kNotFound
  // (no such file), kIoError (open/stat/mmap or the copy failed), kInvalidArgument (a
  // directory).
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
  void* map_ = nullptr;  // what this object must unmap (null for borrow()); data_ lies inside
  size_t map_size_ = 0;
  std::string path_;
};

}  // namespace lk
