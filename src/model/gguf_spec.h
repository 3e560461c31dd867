// GGUF metadata -> lk::ModelSpec for the llama, qwen2 and qwen3 architectures
// ("<arch>.block_count", "<arch>.attention.head_count", ...). Works on a header-only
// GgufFile (the analyzer's quick look), since it reads metadata and tensor infos only.
// Also the inverse, used by synth: ModelSpec -> the same metadata keys.
#pragma once

#include "core/status.h"
#include "model/gguf_reader.h"
#include "model/gguf_writer.h"
#include "model/model_spec.h"

namespace lk {

// Errors name the file and the key; an unknown general.architecture lists the valid ones.
Result<ModelSpec> model_spec_from_gguf(const GgufFile& gguf);
// Writes general.architecture/name and the <arch>.* hyper-parameter keys of `spec`
// (llama-compatible architectures only: llama, mistral -> "llama", qwen2, qwen3).
Status model_spec_to_gguf(const ModelSpec& spec, GgufWriter* w);

// The architectures model_spec_from_gguf understands (for messages).
const char* gguf_supported_archs();
// GGUF architecture name for a ModelSpec arch ("mistral" -> "llama"); empty if none.
std::string gguf_arch_for(const ModelSpec& spec);

}  // namespace lk
