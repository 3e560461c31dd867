// Hugging Face config.json -> lk::ModelSpec for the architectures longkv knows: llama
// (Llama 2/3/3.1, incl. llama3 and linear RoPE scaling), mistral, qwen2 (qkv bias), qwen3
// (q/k RMSNorm, explicit head_dim), mixtral (experts) and deepseek_v2 (MLA). Missing or
// ill-typed fields and unsupported architectures or options give errors naming the file
// and the field, with the valid choices.
#pragma once

#include <string>

#include "core/status.h"
#include "model/model_spec.h"

namespace lk {

// `text` is the JSON; `source` names it in errors (usually the file path).
Result<ModelSpec> model_spec_from_hf_config_text(const std::string& text,
                                                 const std::string& source);
// `path` is a config.json file or a directory holding one.
Result<ModelSpec> model_spec_from_hf_config_file(const std::string& path);

// model_type values accepted (comma-separated, for messages).
const char* hf_supported_model_types();

}  // namespace lk
