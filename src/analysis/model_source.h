// Where a model's architecture comes from besides the presets: a Hugging Face config.json
// or the metadata of a GGUF file (header only; tensor data is not read).
#pragma once

#include <string>

#include "core/status.h"
#include "model/model_spec.h"

namespace lk {

Result<ModelSpec> model_load_config(const std::string& path);
Result<ModelSpec> model_load_gguf(const std::string& path);

}  // namespace lk
