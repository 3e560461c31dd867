#include "analysis/model_source.h"

namespace lk {

Result<ModelSpec> model_load_config(const std::string& path) {
  return unsupported("--config {}: config.json reading is not wired yet", path);
}

Result<ModelSpec> model_load_gguf(const std::string& path) {
  return unsupported("--gguf {}: GGUF metadata reading is not wired yet", path);
}

}  // namespace lk
