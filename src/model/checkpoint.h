// A model checkpoint on disk, whatever its format: a GGUF file, or a Hugging Face folder
// (config.json + model.safetensors or a sharded model.safetensors.index.json). Gives the
// ModelSpec and name -> TensorView; the views point into mmaps owned by the Checkpoint.
// Tensor names are the file's own (GGUF "blk.0.attn_q.weight", HF
// "model.layers.0.self_attn.q_proj.weight"); naming() says which.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/gguf_reader.h"
#include "model/model_spec.h"
#include "model/safetensors_reader.h"
#include "model/tensor.h"

namespace lk {

enum class CheckpointFormat { kGguf, kSafetensors };
const char* checkpoint_format_name(CheckpointFormat f);  // "gguf" | "safetensors"

struct CheckpointOptions {
  bool header_only = false;  // GGUF only: metadata and tensor infos, no data (views: nullptr)
};

class Checkpoint {
 public:
  // `path`: a .gguf file, a folder with config.json + safetensors, or a .safetensors /
  // .index.json file with config.json beside it.
  static Result<std::unique_ptr<Checkpoint>> open(const std::string& path,
                                                  CheckpointOptions options = {});

  CheckpointFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  // The folder holding tokenizer.json / tokenizer_config.json (HF), or the GGUF's folder.
  const std::string& dir() const { return dir_; }
  const ModelSpec& spec() const { return spec_; }

  // Every loadable tensor in file order (GGUF) or name order (safetensors).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;
  Result<TensorView> tensor(const std::string& name) const;
  std::map<std::string, TensorView> tensor_map() const;

  // The underlying readers (exactly one is non-null), e.g. for tokenizer metadata.
  const GgufFile* gguf() const { return gguf_.get(); }
  const SafetensorsFile* safetensors() const { return st_.get(); }

 private:
  Checkpoint() = default;
  CheckpointFormat format_ = CheckpointFormat::kGguf;
  std::string path_, dir_;
  ModelSpec spec_;
  std::unique_ptr<GgufFile> gguf_;
  std::unique_ptr<SafetensorsFile> st_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;
};

}  // namespace lk
