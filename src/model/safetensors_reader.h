// safetensors reader over an mmap, single file or sharded (model.safetensors.index.json).
// Layout: u64 header length N | N bytes of JSON {name: {dtype, shape, data_offsets:[b, e]},
// "__metadata__": {...}} | data (offsets relative to the end of the header).
// The header is validated fully: length vs file size, JSON shape, known dtype, shape
// product × element size == e − b, offsets inside the data and not overlapping. Tensors of
// dtypes longkv does not load (I64, U8, F8, ...) are listed but refused by tensor().
//
// Shape convention: safetensors/PyTorch shapes are slowest-first ([out, in]); TensorView
// uses ggml's ne[0]-fastest order, so ne is the shape reversed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "model/mapped_file.h"
#include "model/tensor.h"

namespace lk {

struct SafetensorsEntry {
  std::string name;
  std::string dtype_name;       // as written: "F32", "BF16", "I64", ...
  bool supported = false;       // dtype is F32, F16 or BF16
  DType dtype = DType::kF32;    // valid when supported
  std::vector<int64_t> shape;   // as written, slowest first
  uint64_t begin = 0, end = 0;  // byte range within the data section
  int shard = 0;                // index into the shard files
};

class SafetensorsFile {
 public:
  // Opens one .safetensors file.
  static Result<std::unique_ptr<SafetensorsFile>> open(const std::string& path);
  // Opens a model.safetensors.index.json and every shard it names (paths relative to it).
  static Result<std::unique_ptr<SafetensorsFile>> open_index(const std::string& index_path);
  // Opens `dir`/model.safetensors.index.json if present, else `dir`/model.safetensors.
  static Result<std::unique_ptr<SafetensorsFile>> open_dir(const std::string& dir);
  // Parses caller-owned bytes (fuzzing); `data` must outlive the object.
  static Result<std::unique_ptr<SafetensorsFile>> from_memory(const void* data, size_t size,
                                                              std::string name);

  const std::string& path() const { return path_; }  // the file or the index
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const SafetensorsEntry* find(std::string_view name) const;
  // kNotFound naming the tensor; kUnsupported for a dtype longkv does not load or more than
  // 4 dims.
  Result<TensorView> tensor(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  size_t n_shards() const { return shards_.size(); }
  const std::string& shard_path(size_t i) const { return shards_[i]->path(); }

 private:
  SafetensorsFile() = default;
  Status add_shard(std::unique_ptr<MappedFile> file);

  std::string path_;
  std::vector<std::unique_ptr<MappedFile>> shards_;
  std::vector<uint64_t> data_start_;  // per shard: 8 + header length
  std::vector<SafetensorsEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Element size of a safetensors dtype name (0 if unknown).
int safetensors_dtype_size(std::string_view dtype);

}  // namespace lk
