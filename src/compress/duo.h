// DuoAttention (Xiao et al. 2024, arXiv 2410.10819): retrieval heads keep the full KV, streaming
// heads keep only attention sinks + a recent window. Which heads are which comes from a head
// map: one score per (layer, kv-head), higher = more retrieval-like, written by
// `longkv profile-heads` beside the model (eval/head_profile.h says how it is measured). The
// `--kv duo:R` method keeps the top R share of kv heads full (ties: the earlier head) and
// evicts, in every other head, all but the first `sinks` positions and the last `window`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace lk::compress {

struct HeadMap {
  std::string model;      // the model it was measured on
  std::string criterion;  // how the scores were measured
  int n_layers = 0, n_kv_heads = 0;
  int sinks = 4, window = 64;  // the streaming pattern the scores were measured with
  std::vector<double> scores;  // [layer * n_kv_heads + kv_head]
};

// Where profile-heads stores a model's head map: <folder>/longkv_heads.json for a model
// folder, <file>.heads.json for a model file.
std::string head_map_default_path(const std::string& model_path);
Status head_map_write(const HeadMap& map, const std::string& path);
// Errors name the file and the field.
Result<HeadMap> head_map_read(const std::string& path);

// retrieval[layer * n_kv + h]: the top ceil(ratio * heads) heads by score.
std::vector<bool> duo_retrieval_heads(const HeadMap& map, double ratio);
// What a streaming head drops of `held` (ascending positions) when seq_len positions exist:
// everything but positions < sinks and positions >= seq_len - window.
std::vector<int32_t> duo_streaming_evictions(std::span<const int32_t> held, int64_t seq_len,
                                             int sinks, int window);

}  // namespace lk::compress
