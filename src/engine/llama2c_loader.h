// Loader for llama2.c checkpoints (karpathy/llama2.c run.c): the legacy "v0" layout — a
// Config header of 7 int32 [dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size
// (negative = untied classifier), seq_len] followed by f32 arrays in run.c's order — and the
// "v1" export (magic "ak42", version 1, 256-byte header, f32). The int8 "v2" export is
// reported as unsupported. llama2.c rotates adjacent pairs, so rope_style = kAdjacentPairs.
#pragma once

#include <string>

#include "core/status.h"
#include "engine/model_weights.h"

namespace lk {

// True when the file starts like a llama2.c checkpoint (for format sniffing).
bool llama2c_looks_like(const std::string& path);

Result<Model> llama2c_load(const std::string& path);

}  // namespace lk
