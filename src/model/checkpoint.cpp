#include "model/checkpoint.h"

#include <filesystem>

#include "model/gguf_spec.h"
#include "model/hf_config.h"

namespace lk {

namespace fs = std::filesystem;

const char* checkpoint_format_name(CheckpointFormat f) {
  return f == CheckpointFormat::kGguf ? "gguf" : "safetensors";
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<std::unique_ptr<Checkpoint>> Checkpoint::open(const std::string& path,
                                                     CheckpointOptions options) {
  std::unique_ptr<Checkpoint> c(new Checkpoint());
  c->path_ = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("{}: no such file or folder", path);
  const bool is_dir = fs::is_directory(path, ec);
  if (is_dir) {
    c->dir_ = path;
  } else {
    c->dir_ = fs::path(path).parent_path().string();
    if (c->dir_.empty()) c->dir_ = ".";
  }

  if (!is_dir && !ends_with(path, ".safetensors") && !ends_with(path, ".json")) {
    // Anything else is taken as GGUF; the magic check says so clearly if it is not.
    c->format_ = CheckpointFormat::kGguf;
    LK_ASSIGN_OR_RETURN(c->gguf_, GgufFile::open(path, {options.header_only}));
    LK_ASSIGN_OR_RETURN(c->spec_, model_spec_from_gguf(*c->gguf_));
    if (c->spec_.name.empty()) c->spec_.name = fs::path(path).stem().string();
    for (const auto& t : c->gguf_->tensors()) c->tensors_.push_back(c->gguf_->view(t));
  } else {
    c->format_ = CheckpointFormat::kSafetensors;
    if (is_dir) {
      if (!fs::exists(fs::path(path) / "config.json", ec))
        return not_found(
            "{}: folder has no config.json (expected a Hugging Face checkpoint: "
            "config.json + model.safetensors, or a .gguf file)",
            path);
      LK_ASSIGN_OR_RETURN(c->st_, SafetensorsFile::open_dir(path));
    } else if (ends_with(path, ".json")) {
      LK_ASSIGN_OR_RETURN(c->st_, SafetensorsFile::open_index(path));
    } else {
      LK_ASSIGN_OR_RETURN(c->st_, SafetensorsFile::open(path));
    }
    LK_ASSIGN_OR_RETURN(
        c->spec_, model_spec_from_hf_config_file((fs::path(c->dir_) / "config.json").string()));
    for (const auto& e : c->st_->entries()) {
      // Buffers of other dtypes (e.g. an I64 position table) or ranks are skipped; asking for one
      // by name gives tensor()'s kUnsupported error.
      if (!e.supported || e.shape.size() > 4) continue;
      LK_ASSIGN_OR_RETURN(TensorView v, c->st_->tensor(e.name));
      c->tensors_.push_back(std::move(v));
    }
  }
  for (size_t i = 0; i < c->tensors_.size(); ++i) c->index_[c->tensors_[i].name] = i;
  return c;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Result<TensorView> Checkpoint::tensor(const std::string& name) const {
  if (const TensorView* v = find(name)) return *v;
  if (st_ != nullptr) return st_->tensor(name);  // its error says why (unsupported dtype, ...)
  return not_found("{}: tensor '{}' not found", path_, name);
}

std::map<std::string, TensorView> Checkpoint::tensor_map() const {
  std::map<std::string, TensorView> m;
  for (const auto& t : tensors_) m.emplace(t.name, t);
  return m;
}

}  // namespace lk
