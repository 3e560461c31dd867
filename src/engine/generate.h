// The generate loop of one sequence: prefill the prompt (chunked), then sample and decode
// token by token until N new tokens, a stop token, or the context limit. Streaming through a
// callback; timings split into prefill and decode for the tokens/s report.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/forward.h"
#include "engine/sampler.h"

namespace lk {

struct GenerateOptions {
  int max_new_tokens = 256;
  SamplerConfig sampler;
  std::vector<int32_t> stop_ids;  // generation ends when one is sampled (it is not emitted)
  int64_t max_context = 0;        // positions limit (0 = none)
  // When set, receives the logits of every prompt position [n_prompt][vocab].
  std::vector<float>* prompt_logits = nullptr;
  // When set, runs once the prompt is in the cache, before the first decode forward (a KV
  // compression driver selects what the prompt keeps here).
  std::function<Status()> after_prefill;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (stop token excluded)
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;  // the forwards of generated tokens (after the first)
  int64_t decode_forwards = 0;
  bool stopped_by_token = false;
  bool stopped_by_context = false;
  bool stopped_by_kv_budget = false;  // a decode step did not fit the KV cache's byte budget
};

// on_token(id) is called for every generated token as soon as it is sampled; return false to
// stop early. A prompt that does not fit the KV budget is an error (kOutOfMemory); a decode
// step that does not fit ends generation (stopped_by_kv_budget). The sequence `seq` must be empty in the Forward's cache; it is left there
// (callers release it).
Result<GenerateResult> generate(Forward& forward, SeqId seq, std::span<const int32_t> prompt,
                                const GenerateOptions& options,
                                const std::function<bool(int32_t)>& on_token);

}  // namespace lk
