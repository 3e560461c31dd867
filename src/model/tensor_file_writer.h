// Shared tail of the model-file writers (GGUF, safetensors): a file written under
// path + ".tmp" and renamed into place only when complete, so a failed conversion never
// leaves a half-written model where a reader would pick it up, and tensors streamed into it
// piece by piece with a check that each produced exactly its declared size.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "core/status.h"

namespace lk {

// Receives the next piece of a tensor's bytes (pieces are appended in order).
using ByteSink = std::function<Status(const void* data, size_t n)>;
// Streams exactly tensor i's bytes into `sink`, in as many pieces as it likes.
using TensorDataFn = std::function<Status(size_t i, const ByteSink& sink)>;

class TensorFileWriter {
 public:
  // `what` names the format in errors ("gguf writer").
  TensorFileWriter(std::string path, std::string what);
  ~TensorFileWriter();  // removes the temporary file unless commit() succeeded
  TensorFileWriter(const TensorFileWriter&) = delete;
  TensorFileWriter& operator=(const TensorFileWriter&) = delete;

  Status open();
  Status write(const void* p, size_t n);
  // Streams one tensor of `nbytes` bytes: from `produce(index, sink)` when set, else the
  // `data_size` bytes at `data` (an error unless data_size == nbytes).
  Status write_tensor(const std::string& name, uint64_t nbytes, const TensorDataFn& produce,
                      size_t index, const void* data, size_t data_size);
  // Closes the file and renames it to its final path.
  Status commit();

 private:
  std::string path_, tmp_, what_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

}  // namespace lk
