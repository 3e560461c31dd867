// Built-in model presets: the architecture numbers of well-known long-context models, taken
// from each model's released Hugging Face config.json (cited beside each entry), so the
// analyzer can price a model without its files.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "model/model_spec.h"

namespace lk {

// Preset ids in catalog order ("yi-34b-200k", "command-r-plus", ...).
std::vector<std::string> model_preset_names();

// The preset with that id (case-insensitive); kNotFound naming the valid ids otherwise.
Result<ModelSpec> model_preset(const std::string& id);

}  // namespace lk
